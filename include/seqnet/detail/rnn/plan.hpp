// SPDX-License-Identifier: MIT
/// @file plan.hpp
/// The forward pass of every recurrent module and cell, on every device: `StackPlan` walks layers,
/// directions and time steps and issues operations on a backend. The CPU backend (cpu_backend.hpp) runs
/// them on the thread team with the packed GEMM and the SIMD gates, the CUDA backend
/// (cuda/detail/backend.hpp) as cuBLAS calls and kernels on a stream, and the tests' host backend
/// (tests/cuda/host_backend.hpp) as plain loops. The layer stack, the batch permutation of unsorted packed
/// sequences, the packed-batch state, h_n and c_n, dropout and the training record (tape.hpp) exist here
/// only.
///
/// A backend provides, for element type T (all pointers in its memory):
///   zero(p, count), copy_rows(src, lds, dst, ldd, rows, cols)
///   permute(src, dst, order, seq, batch, width, batch_first, inverse)  (see `permute_batch`)
///   dropout(src, dst, count, p, generator, mask)   dst = src * m with m drawn as the CPU's
///                                          `dropout_in_place` draws it; m is also written to `mask`
///                                          unless null
///   apply_mask(src, dst, mask, count)      dst = src * mask (dropout masks the caller gave, replayed)
///   for_each_direction(spec, dims, layer, body)   calls `body(dir, team)` for every direction of a
///                                          layer, possibly concurrently; `team` runs that direction's
///                                          operations (a CPU team calls `body` on each of its threads)
/// and its direction team provides:
///   zero, copy_rows                         as above (done once per team, visible to all its members after)
///   project_input(ProjectArgs<T>)           all steps' input projections of one layer-direction (needed only by
///                                          the steps' pointwise halves, which may order themselves after it)
///   recurrent(spec, StepArgs<T>)            one step's recurrent half; `recurrent_by_products` is the
///                                          reference a backend may replace with a fused kernel
/// A backend adds the biases where it likes (the CPU in the products' epilogues, the GPU in the pointwise
/// kernel), as long as a step's result is the same.

#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "../../random.hpp"
#include "../math/gate_math.hpp"
#include "checks.hpp"
#include "layout.hpp"
#include "packed_sequence.hpp"
#include "spec.hpp"
#include "tape.hpp"

namespace seqnet::detail {

/// A `[seq, batch, width]` (or, with `batch_first`, `[batch, seq, width]`) buffer addressed one time step
/// at a time, so the same loop serves both layouts without transposing anything.
template <typename T>
struct SequenceBuffer {
  T* data;
  Index seq_len;
  Index batch;
  Index width;
  bool batch_first;

  /// Element `col` of the first row of time step `t` (plain pointer arithmetic: valid for device memory too).
  T* at(Index t, Index col = 0) const { return data + (batch_first ? t * width : t * batch * width) + col; }
  /// Distance between consecutive batch rows of one step.
  Index ld() const { return batch_first ? seq_len * width : width; }
};

/// Raw-pointer interface of a whole stacked, possibly bidirectional module (or a cell: one step of one
/// layer, whose output is h_n), shared by every front end. Pointers address contiguous row-major buffers
/// with the shapes PyTorch documents; `h0`/`c0` may be null (zeros); `c0`/`c_n` are ignored unless the
/// module is an LSTM. `h0` may alias `h_n` and `c0` `c_n` (a state carried in place).
template <typename T>
struct StackIO {
  const T* input = nullptr;
  const T* h0 = nullptr;
  const T* c0 = nullptr;
  T* output = nullptr;
  T* h_n = nullptr;
  T* c_n = nullptr;
};

/// Raw-pointer interface of a backward pass, in the layouts of `StackIO`: the gradients arriving at the
/// forward's results (`grad_h_n`/`grad_c_n` null: zero), and where the gradients of its inputs go.
/// `grad_input`, `grad_h0` and (LSTM) `grad_c0` are overwritten; `grad_params` (the parameters' flat
/// layout) is added to, as PyTorch accumulates `.grad`.
template <typename T>
struct StackGradIO {
  const T* grad_output = nullptr;
  const T* grad_h_n = nullptr;
  const T* grad_c_n = nullptr;
  T* grad_input = nullptr;
  T* grad_h0 = nullptr;
  T* grad_c0 = nullptr;
  T* grad_params = nullptr;
};

/// Copies `from` into `to` with the batch rows of every step reordered: `to` row i is `from` row
/// `order[i]` (`inverse` false), or `to` row `order[i]` is `from` row i (`inverse` true).
template <typename T>
void permute_batch(SequenceBuffer<const T> from, SequenceBuffer<T> to, const Index* order, bool inverse) {
  for (Index t = 0; t < from.seq_len; ++t) {
    for (Index i = 0; i < from.batch; ++i) {
      const Index j = order[i];
      const T* source = from.at(t) + (inverse ? i : j) * from.ld();
      T* target = to.at(t) + (inverse ? j : i) * to.ld();
      std::copy(source, source + from.width, target);
    }
  }
}

/// Inverted dropout: `dst = src * m`, `m` 0 with probability `p`, else `1 / (1 - p)`, drawn element by
/// element from `generator` (nothing is drawn when p >= 1). `mask` (may be null) receives `m`.
template <typename T>
void dropout_into(const T* src, T* dst, Index count, double p, Generator& generator, T* mask) {
  if (p >= 1.0) {
    std::fill(dst, dst + count, T(0));
    if (mask != nullptr) std::fill(mask, mask + count, T(0));
    return;
  }
  const T scale = static_cast<T>(1.0 / (1.0 - p));
  for (Index i = 0; i < count; ++i) {
    const T m = generator.bernoulli(p) ? T(0) : scale;
    dst[i] = m == T(0) ? T(0) : src[i] * scale;
    if (mask != nullptr) mask[i] = m;
  }
}

/// Appends the `count` values `dropout` multiplies by, drawn in the same order as `dropout_into`, so a
/// device that draws its masks up front drops the same elements as the CPU.
template <typename T>
void append_dropout_mask(std::vector<T>& mask, Index count, double p, Generator& generator) {
  const std::size_t start = mask.size();
  mask.resize(start + static_cast<std::size_t>(count), T(0));
  if (p >= 1.0) return;
  const T scale = static_cast<T>(1.0 / (1.0 - p));
  for (std::size_t i = start; i < mask.size(); ++i) mask[i] = generator.bernoulli(p) ? T(0) : scale;
}

/// The input projection of all steps of one layer-direction, `rows` rows: `out = input W_ih^T`, to which
/// a backend may already add `b_ih` (then its step does not).
template <typename T>
struct ProjectArgs {
  Index slot = 0;  ///< layer * D + dir: which weights
  Index rows = 0;
  Index in_width = 0;
  Index out_width = 0;  ///< G*H
  const T* input = nullptr;
  const T* weight_ih = nullptr;  ///< [G*H, in_width]
  const T* bias_ih = nullptr;
  T* out = nullptr;  ///< [rows, G*H]
};

/// One step's recurrent half for `rows` batch rows: `gh = h_prev W_hh^T`, the gates, and (LSTMP) the
/// projection `h_out = h_full W_hr^T`. `x` is the step's input rows, for a backend that fuses the input
/// projection into its steps (then `project_input` may have skipped the rows `gx` points at).
template <typename T>
struct StepArgs {
  Index slot = 0;
  Index rows = 0;
  const T* x = nullptr;  ///< [rows, in_width] this step's input
  Index ld_x = 0;
  const T* gx = nullptr;  ///< [rows, G*H] input projection of this step
  Index ld_gx = 0;
  const T* weight_hh = nullptr;  ///< [G*H, H_out]
  const T* bias_ih = nullptr;
  const T* bias_hh = nullptr;
  const T* weight_hr = nullptr;  ///< [H_out, H] or null
  const T* h_prev = nullptr;     ///< [rows, H_out]
  Index ld_h_prev = 0;
  T* c = nullptr;  ///< [rows, H] contiguous (LSTM), updated in place
  T* h_out = nullptr;  ///< [rows, H_out]
  Index ld_h_out = 0;
  T* gh = nullptr;      ///< scratch [rows, G*H]
  T* h_full = nullptr;  ///< scratch [rows, H] (projection only)
  T* record = nullptr;  ///< [rows, R*H] the tape's gates for this step, or null

  /// The pointwise operands once `gh` holds `h_prev W_hh^T`; results go to `h_full` when projecting.
  PointwiseArgs<T> pointwise(const RecurrentSpec& spec) const {
    PointwiseArgs<T> p;
    p.kind = spec.kind;
    p.relu = spec.nonlinearity == Nonlinearity::Relu;
    p.rows = rows;
    p.hidden = spec.hidden_size;
    p.gx = gx;
    p.ld_gx = ld_gx;
    p.gh = gh;
    p.ld_gh = spec.gate_size();
    p.bias_ih = bias_ih;
    p.bias_hh = bias_hh;
    p.h_prev = h_prev;
    p.ld_h_prev = ld_h_prev;
    p.c = c;
    const bool projecting = spec.proj_size > 0;
    p.h = projecting ? h_full : h_out;
    p.ld_h = projecting ? spec.hidden_size : ld_h_out;
    p.record = record;
    return p;
  }
};

/// Runs `gates` (which writes `h_full` when projecting) and then the projection, if any.
template <typename T, typename Backend, typename Gates>
void project_after(Backend& backend, const RecurrentSpec& spec, const StepArgs<T>& s, Gates&& gates) {
  gates();
  if (spec.proj_size > 0)
    backend.gemm(s.rows, spec.proj_size, spec.hidden_size, s.h_full, spec.hidden_size, s.weight_hr, s.h_out,
                 s.ld_h_out);
}

/// The recurrent half of a step as two products around the pointwise kernel (what a backend without a
/// fused step kernel runs); `backend.gemm(m, n, k, a, lda, w, c, ldc)` is `c = a w^T`.
template <typename T, typename Backend>
void recurrent_by_products(Backend& backend, const RecurrentSpec& spec, const StepArgs<T>& s) {
  backend.gemm(s.rows, spec.gate_size(), spec.output_size(), s.h_prev, s.ld_h_prev, s.weight_hh, s.gh,
               spec.gate_size());
  project_after(backend, spec, s, [&] { backend.pointwise(s.pointwise(spec)); });
}

/// Element offsets of everything a forward pass needs besides parameters, results and the tape.
struct WorkspaceLayout {
  Index input_gates[2] = {0, 0};  ///< [seq * batch, G*H] per direction
  Index gh[2] = {0, 0};           ///< [batch, G*H] per direction
  Index h_full[2] = {0, 0};       ///< [batch, H] per direction (projection)
  Index state[2] = {0, 0};        ///< [batch, H_out] per direction: zeros, h_0, a packed batch's state
  Index between_layers[2] = {0, 0};
  Index sorted_input = 0, sorted_output = 0, sorted_h = 0, sorted_c = 0;
  Index total = 0;
};

/// Element offsets of the backward pass's workspace (besides the tape and the gradients).
struct BackwardLayout {
  Index d_gx[2] = {0, 0};      ///< [seq * batch, G*H] per direction: gradients at the input-side pre-activations
  Index d_gh[2] = {0, 0};      ///< [seq * batch, G*H]: at the hidden-side ones
  Index h_prev[2] = {0, 0};    ///< [seq * batch, H_out]: each step's previous h (for the W_hh gradient)
  Index h_full[2] = {0, 0};    ///< [seq * batch, H]: h before the projection (LSTMP)
  Index dh_total[2] = {0, 0};  ///< [seq * batch, H_out]: gradient at each step's h (LSTMP, for W_hr)
  Index dh[2] = {0, 0};        ///< [batch, H_out]: gradient flowing back through h
  Index dc[2] = {0, 0};        ///< [batch, H]: through c (LSTM)
  Index c_prev[2] = {0, 0};    ///< [batch, H]: a step's previous c (LSTM)
  Index dh_full[2] = {0, 0};   ///< [batch, H]: gradient at h before the projection (LSTMP)
  Index between_layers[2] = {0, 0};
  Index sorted_grad_output = 0, sorted_grad_input = 0, sorted_grad_h = 0, sorted_grad_c = 0;
  Index total = 0;
};

/// A forward pass of a stacked module (or a cell: one step, one layer) on given dimensions: computes its
/// workspace once, then `run` issues every operation on a backend without allocating.
template <typename T>
class StackPlan {
 public:
  StackPlan(const RecurrentSpec& spec, const ParameterLayout& layout, const SequenceDims& dims,
            const PackedBatch* packed)
      : spec_(&spec), layout_(&layout), dims_(dims), packed_(packed) {
    const Index S = dims.seq_len, B = dims.batch, G = spec.gate_size(), H = spec.hidden_size;
    const Index H_out = spec.output_size(), width = spec.directions() * H_out;
    SlotAllocator slots;
    auto take = [&slots](Index count) { return slots.take(count); };
    for (Index dir = 0; dir < spec.directions(); ++dir) {
      ws_.input_gates[dir] = take(S * B * G);
      ws_.gh[dir] = take(B * G);
      ws_.h_full[dir] = take(spec.proj_size > 0 ? B * H : 0);
      ws_.state[dir] = take(B * H_out);
    }
    for (Index i = 0; i < std::min<Index>(spec.num_layers - 1, 2); ++i) ws_.between_layers[i] = take(S * B * width);
    if (permuted()) {
      const Index stacked = spec.num_layers * spec.directions();
      ws_.sorted_input = take(S * B * spec.input_size);
      ws_.sorted_output = take(S * B * width);
      ws_.sorted_h = take(stacked * B * H_out);
      ws_.sorted_c = take(spec.kind == CellKind::LSTM ? stacked * B * H : 0);
    }
    ws_.total = slots.total;

  }

  /// What `run` computes for one step of one row through a unidirectional stack with no dropout, for a
  /// backend that steps a layer in one call, `step_layer(layer, x, h_prev (null: zero), c, h_out)`
  /// (the CPU's `TinyStep`), without laying out a workspace: at hidden sizes up to 32 that bookkeeping
  /// (slots, the direction loop, state copies) costs as much as the step itself, and this is the call a
  /// real-time loop makes once per sample. `io.h0`/`io.c0` may be `io.h_n`/`io.c_n` (a state stepped in
  /// place), so `step_layer` must read `h_prev` before it writes `h_out`.
  template <typename StepLayer>
  static void run_single_row_step(const RecurrentSpec& spec, const StackIO<T>& io, StepLayer&& step_layer) {
    const Index H = spec.hidden_size, L = spec.num_layers;
    const T* x = io.input;
    for (Index layer = 0; layer < L; ++layer) {
      T* c = nullptr;
      if (spec.kind == CellKind::LSTM) {
        c = io.c_n + layer * H;
        const T* c0 = io.c0 != nullptr ? io.c0 + layer * H : nullptr;
        if (c0 == nullptr) {
          std::fill(c, c + H, T(0));
        } else if (c0 != c) {
          std::copy(c0, c0 + H, c);
        }
      }
      T* h_out = layer == L - 1 ? io.output : io.h_n + layer * H;
      step_layer(layer, x, io.h0 != nullptr ? io.h0 + layer * H : nullptr, c, h_out);
      x = h_out;
    }
    T* last = io.h_n + (L - 1) * H;
    if (last != io.output) std::copy(io.output, io.output + H, last);
  }

  /// Elements of workspace `run` needs.
  Index workspace_size() const { return ws_.total; }
  /// Elements of workspace `backward` needs.
  Index backward_workspace_size() const { return backward_layout().total; }
  const SequenceDims& dims() const { return dims_; }
  /// Whether `run` needs the batch order (`packed->sorted_indices`) in backend memory.
  bool permuted() const { return packed_ != nullptr && packed_->permuted; }
  /// Elements `run` passes to `backend.dropout` after each layer but the last, in training mode (the
  /// same for every layer): a backend may draw all masks before the pass, in this order.
  Index dropout_size() const { return dims_.seq_len * dims_.batch * spec_->directions() * spec_->output_size(); }
  Index dropout_layers(bool training) const {
    return training && spec_->dropout > 0.0 && dims_.batch > 0 ? spec_->num_layers - 1 : 0;
  }
  /// The tape a recorded `run` of this plan writes.
  TapeLayout tape_layout(bool training) const { return TapeLayout(*spec_, dims_, dropout_layers(training) > 0); }
  /// `tape_layout`, written into `layout` (reusing its memory).
  void tape_layout_into(TapeLayout& layout, bool training) const {
    layout.assign(*spec_, dims_, dropout_layers(training) > 0);
  }

  /// The whole stack. `order` is `packed->sorted_indices` in backend memory when `permuted()`. With
  /// `tape.data` non-null (a buffer of `tape_layout(training).total` elements) the pass also records what
  /// backward needs, in sorted batch order.
  template <typename Backend>
  void run(Backend& backend, const T* params, const StackIO<T>& io, T* workspace, const Index* order, bool training,
           Generator& generator, TapeView<T> tape = {}) const {
    // Every result is empty: a batch of 0, or a cell of hidden_size 0, for which no backend is handed a
    // step of 0 units (its backward, whose input gradient is zero, needs nothing from the tape: every
    // product there has G = 0 rows or columns).
    if (dims_.batch == 0 || spec_->hidden_size == 0) return;
    if (!permuted()) {
      run_layers(backend, params, io, workspace, training, generator, tape);
      return;
    }
    const RecurrentSpec& spec = *spec_;
    const Index S = dims_.seq_len, B = dims_.batch, LD = spec.num_layers * spec.directions();
    const Index width = spec.directions() * spec.output_size(), H = spec.hidden_size, H_out = spec.output_size();
    const bool bf = dims_.batch_first;
    T* input = workspace + ws_.sorted_input;
    T* output = workspace + ws_.sorted_output;
    T* h = workspace + ws_.sorted_h;
    T* c = io.c_n != nullptr ? workspace + ws_.sorted_c : nullptr;
    backend.permute(io.input, input, order, S, B, spec.input_size, bf, false);
    StackIO<T> sorted{input, nullptr, nullptr, output, h, c};
    if (io.h0 != nullptr) {
      backend.permute(io.h0, h, order, LD, B, H_out, false, false);
      sorted.h0 = h;
    }
    if (io.c0 != nullptr && c != nullptr) {
      backend.permute(io.c0, c, order, LD, B, H, false, false);
      sorted.c0 = c;
    }
    run_layers(backend, params, sorted, workspace, training, generator, tape);
    backend.permute(output, io.output, order, S, B, width, bf, true);
    backend.permute(h, io.h_n, order, LD, B, H_out, false, true);
    if (c != nullptr) backend.permute(c, io.c_n, order, LD, B, H, false, true);
  }

  /// The gradients of a recorded `run` (same plan, its tape in `tape`): backpropagation through time,
  /// layers from the top, each direction's steps in the reverse of their forward order, the sequential
  /// part (`dh_{t-1} = dG_t W_hh`) in the loop and the input and weight gradients as a few products over
  /// all steps after it. `order` as for `run`. Backend operations beyond the forward's:
  ///   gemm_nn(m, n, k, a, lda, b, ldb, c, ldc, accumulate)  c (+)= a b      (a [m, k], b [k, n])
  ///   gemm_tn(m, n, k, a, lda, b, ldb, c, ldc)              c += a^T b      (a [k, m], b [k, n])
  ///   column_sums(rows, cols, a, lda, out)                  out += sum of a's rows
  ///   multiply(data, factors, count)                        data *= factors, element-wise
  /// and on a direction team: add_rows(src, lds, dst, ldd, rows, cols) (dst += src), gemm_nn, and
  /// pointwise_backward(PointwiseBackwardArgs<T>).
  template <typename Backend>
  void backward(Backend& backend, const T* params, const StackGradIO<T>& io, T* workspace, const Index* order,
                TapeView<T> tape) const {
    if (dims_.batch == 0) return;
    const BackwardLayout bw = backward_layout();
    if (!permuted()) {
      backward_layers(backend, bw, params, io, workspace, tape);
      return;
    }
    const RecurrentSpec& spec = *spec_;
    const Index S = dims_.seq_len, B = dims_.batch, LD = spec.num_layers * spec.directions();
    const Index width = spec.directions() * spec.output_size(), H = spec.hidden_size, H_out = spec.output_size();
    const bool bf = dims_.batch_first, lstm = spec.kind == CellKind::LSTM;
    T* grad_output = workspace + bw.sorted_grad_output;
    T* grad_input = workspace + bw.sorted_grad_input;
    // Each layer-direction reads its slot of dh_n before it writes the same slot of dh_0, and no other
    // slot, so both share one buffer.
    T* grad_h = workspace + bw.sorted_grad_h;
    T* grad_c = lstm ? workspace + bw.sorted_grad_c : nullptr;
    backend.permute(io.grad_output, grad_output, order, S, B, width, bf, false);
    StackGradIO<T> sorted{grad_output, nullptr, nullptr, grad_input, grad_h, grad_c, io.grad_params};
    if (io.grad_h_n != nullptr) {
      backend.permute(io.grad_h_n, grad_h, order, LD, B, H_out, false, false);
      sorted.grad_h_n = grad_h;
    }
    if (lstm && io.grad_c_n != nullptr) {
      backend.permute(io.grad_c_n, grad_c, order, LD, B, H, false, false);
      sorted.grad_c_n = grad_c;
    }
    backward_layers(backend, bw, params, sorted, workspace, tape);
    backend.permute(grad_input, io.grad_input, order, S, B, spec.input_size, bf, true);
    backend.permute(grad_h, io.grad_h0, order, LD, B, H_out, false, true);
    if (lstm) backend.permute(grad_c, io.grad_c0, order, LD, B, H, false, true);
  }

 private:
  /// The backward pass's workspace, laid out as the forward's (computed on demand: an inference call
  /// never pays for it).
  BackwardLayout backward_layout() const {
    const RecurrentSpec& spec = *spec_;
    const Index S = dims_.seq_len, B = dims_.batch, G = spec.gate_size(), H = spec.hidden_size;
    const Index H_out = spec.output_size(), width = spec.directions() * H_out;
    BackwardLayout bw;
    SlotAllocator slots;
    auto take = [&slots](Index count) { return slots.take(count); };

    for (Index dir = 0; dir < spec.directions(); ++dir) {
      const bool projecting = spec.proj_size > 0, lstm = spec.kind == CellKind::LSTM;
      bw.d_gx[dir] = take(S * B * G);
      bw.d_gh[dir] = take(S * B * G);
      bw.h_prev[dir] = take(S * B * H_out);
      bw.h_full[dir] = take(projecting ? S * B * H : 0);
      bw.dh_total[dir] = take(projecting ? S * B * H_out : 0);
      bw.dh[dir] = take(B * H_out);
      bw.dc[dir] = take(lstm ? B * H : 0);
      bw.c_prev[dir] = take(lstm ? B * H : 0);
      bw.dh_full[dir] = take(projecting ? B * H : 0);
    }
    for (Index i = 0; i < std::min<Index>(spec.num_layers - 1, 2); ++i) bw.between_layers[i] = take(S * B * width);
    if (permuted()) {
      const Index stacked = spec.num_layers * spec.directions();
      bw.sorted_grad_output = take(S * B * width);
      bw.sorted_grad_input = take(S * B * spec.input_size);
      bw.sorted_grad_h = take(stacked * B * H_out);
      bw.sorted_grad_c = take(spec.kind == CellKind::LSTM ? stacked * B * H : 0);
    }
    bw.total = slots.total;
    return bw;
  }

  template <typename Backend>
  void backward_layers(Backend& backend, const BackwardLayout& bw, const T* params, const StackGradIO<T>& io,
                       T* workspace, TapeView<T> tape) const {
    const RecurrentSpec& spec = *spec_;
    const Index S = dims_.seq_len, B = dims_.batch, D = spec.directions(), L = spec.num_layers;
    const Index width = D * spec.output_size();
    const TapeLayout& record = *tape.layout;
    const T* d_out = io.grad_output;
    for (Index layer = L - 1; layer >= 0; --layer) {
      T* d_in = layer == 0 ? io.grad_input : workspace + bw.between_layers[(layer - 1) % 2];
      backend.for_each_direction(spec, dims_, layer, [&](Index dir, auto& team) {
        direction_backward(team, bw, params, layer, dir, d_out, io, workspace, tape);
      });
      for (Index dir = 0; dir < D; ++dir) weight_gradients(backend, bw, params, layer, dir, d_in, io, workspace, tape);
      if (layer > 0) {
        // d_in is the gradient at what layer `layer` read: the previous output after dropout.
        const T* mask = tape.at(record.mask[static_cast<std::size_t>(layer - 1)]);
        if (mask != nullptr) backend.multiply(d_in, mask, S * B * width);
        d_out = d_in;
      }
    }
  }

  /// The sequential part of one layer-direction's backward pass: per step (in the reverse of the
  /// forward's order), the gradient at h' (from the layer above and from the next step), the
  /// projection's, the gates' (`pointwise_backward`) and `dh_prev = dG_h W_hh`. Stores each step's gate
  /// gradients and previous h for `weight_gradients`.
  template <typename Team>
  void direction_backward(Team& team, const BackwardLayout& bw, const T* params, Index layer, Index dir, const T* d_out,
                          const StackGradIO<T>& io, T* workspace, TapeView<T> tape) const {
    const RecurrentSpec& spec = *spec_;
    const Index S = dims_.seq_len, B = dims_.batch, G = spec.gate_size(), H = spec.hidden_size;
    const Index H_out = spec.output_size(), D = spec.directions(), width = D * H_out;
    const Index index = layer * D + dir, out_col = dir * H_out;
    const bool reverse = dir == 1, bf = dims_.batch_first;
    const bool lstm = spec.kind == CellKind::LSTM, projecting = spec.proj_size > 0;
    const TapeLayout& record = *tape.layout;
    const auto slot = static_cast<std::size_t>(index);
    const DirectionOffsets& offsets = layout_->directions[slot];
    const Index* batch_sizes = packed_ != nullptr ? packed_->batch_sizes.data() : nullptr;

    const SequenceBuffer<const T> grad_out{d_out, S, B, width, bf};
    const SequenceBuffer<const T> output{tape.at(record.output[static_cast<std::size_t>(layer)]), S, B, width, bf};
    const SequenceBuffer<T> d_gx{workspace + bw.d_gx[dir], S, B, G, bf};
    const SequenceBuffer<T> d_gh{workspace + bw.d_gh[dir], S, B, G, bf};
    const SequenceBuffer<T> h_prev{workspace + bw.h_prev[dir], S, B, H_out, bf};
    const SequenceBuffer<T> h_full{workspace + bw.h_full[dir], S, B, H, bf};
    const SequenceBuffer<T> dh_total{workspace + bw.dh_total[dir], S, B, H_out, bf};
    T* dh = workspace + bw.dh[dir];
    T* dc = lstm ? workspace + bw.dc[dir] : nullptr;
    T* c_prev = lstm ? workspace + bw.c_prev[dir] : nullptr;
    T* dh_full = projecting ? workspace + bw.dh_full[dir] : nullptr;
    const T* h0 = tape.at(record.h0[slot]);
    const T* c0 = lstm ? tape.at(record.c0[slot]) : nullptr;
    const T* c_history = lstm ? tape.at(record.c[slot]) : nullptr;
    const T* gates = tape.at(record.gates[slot]);
    const T* weight_hh = params + offsets.weight_hh;
    const T* weight_hr = projecting ? params + offsets.weight_hr : nullptr;
    const Index recorded = recorded_gates(spec.kind) * H;

    if (batch_sizes != nullptr) {
      // Finished rows take no step: their rows of the per-step buffers must add nothing to the products.
      team.zero(d_gx.data, S * B * G);
      team.zero(d_gh.data, S * B * G);
      team.zero(h_prev.data, S * B * H_out);
      if (projecting) {
        team.zero(h_full.data, S * B * H);
        team.zero(dh_total.data, S * B * H_out);
      }
    }
    if (io.grad_h_n != nullptr) {
      team.copy_rows(io.grad_h_n + index * B * H_out, H_out, dh, H_out, B, H_out);
    } else {
      team.zero(dh, B * H_out);
    }
    if (lstm) {
      if (io.grad_c_n != nullptr) {
        team.copy_rows(io.grad_c_n + index * B * H, H, dc, H, B, H);
      } else {
        team.zero(dc, B * H);
      }
    }

    PointwiseBackwardArgs<T> pointwise;
    pointwise.kind = spec.kind;
    pointwise.relu = spec.nonlinearity == Nonlinearity::Relu;
    pointwise.hidden = H;
    pointwise.ld_h_prev = h_prev.ld();
    pointwise.c_prev = c_prev;
    pointwise.dc = dc;
    pointwise.ld_dx = d_gx.ld();
    pointwise.ld_dh_gates = d_gh.ld();
    pointwise.ld_h_full = h_full.ld();
    pointwise.dh = projecting ? dh_full : dh;
    pointwise.ld_dh = projecting ? H : H_out;
    for (Index i = 0; i < S; ++i) {
      const Index t = reverse ? i : S - 1 - i;
      const Index rows = batch_sizes != nullptr ? batch_sizes[t] : B;
      if (rows == 0) continue;
      // The step the forward took just before this one; a packed batch's rows that had none started from h0.
      const bool has_previous = reverse ? t + 1 < S : t > 0;
      const Index previous = reverse ? t + 1 : t - 1;
      const Index continued =
          !has_previous ? 0 : std::min(rows, batch_sizes != nullptr ? batch_sizes[previous] : B);
      if (continued > 0) team.copy_rows(output.at(previous, out_col), output.ld(), h_prev.at(t), h_prev.ld(), continued, H_out);
      if (rows > continued)
        team.copy_rows(h0 + continued * H_out, H_out, h_prev.at(t) + continued * h_prev.ld(), h_prev.ld(),
                       rows - continued, H_out);
      if (lstm) {
        if (continued > 0) team.copy_rows(c_history + previous * B * H, H, c_prev, H, continued, H);
        if (rows > continued) team.copy_rows(c0 + continued * H, H, c_prev + continued * H, H, rows - continued, H);
      }

      team.add_rows(grad_out.at(t, out_col), grad_out.ld(), dh, H_out, rows, H_out);
      if (projecting) {
        team.copy_rows(dh, H_out, dh_total.at(t), dh_total.ld(), rows, H_out);
        team.gemm_nn(rows, H, H_out, dh, H_out, weight_hr, H, dh_full, H, false);
      }
      pointwise.rows = rows;
      pointwise.record = gates + t * B * recorded;
      pointwise.h_prev = h_prev.at(t);
      pointwise.c_next = lstm ? c_history + t * B * H : nullptr;
      pointwise.d_x = d_gx.at(t);
      pointwise.d_h = d_gh.at(t);
      pointwise.h_full = projecting ? h_full.at(t) : nullptr;
      team.pointwise_backward(pointwise);
      // `pointwise_backward` left the gradient that reaches h_prev directly in `pointwise.dh` (GRU's z
      // term; zero otherwise). With a projection that is dh_full, and dh is rebuilt from the product.
      team.gemm_nn(rows, H_out, G, d_gh.at(t), d_gh.ld(), weight_hh, H_out, dh, H_out, !projecting);
    }
    team.copy_rows(dh, H_out, io.grad_h0 + index * B * H_out, H_out, B, H_out);
    if (lstm) team.copy_rows(dc, H, io.grad_c0 + index * B * H, H, B, H);
  }

  /// One layer-direction's products over all steps, after its loop: the gradient at the layer's input
  /// (added to `d_in` for the second direction) and the weight and bias gradients.
  template <typename Backend>
  void weight_gradients(Backend& backend, const BackwardLayout& bw, const T* params, Index layer, Index dir, T* d_in,
                        const StackGradIO<T>& io, T* workspace, TapeView<T> tape) const {
    const RecurrentSpec& spec = *spec_;
    const Index rows = dims_.seq_len * dims_.batch, G = spec.gate_size(), H = spec.hidden_size;
    const Index H_out = spec.output_size(), in_width = spec.layer_input_size(layer);
    const DirectionOffsets& offsets = layout_->directions[static_cast<std::size_t>(layer * spec.directions() + dir)];
    const T* input = tape.at(tape.layout->input[static_cast<std::size_t>(layer)]);
    const T* d_gx = workspace + bw.d_gx[dir];
    const T* d_gh = workspace + bw.d_gh[dir];
    T* grads = io.grad_params;
    // Every buffer here is the whole sequence in the call's layout: row r of each is the same (step, row).
    backend.gemm_nn(rows, in_width, G, d_gx, G, params + offsets.weight_ih, in_width, d_in, in_width, dir > 0);
    backend.gemm_tn(G, in_width, rows, d_gx, G, input, in_width, grads + offsets.weight_ih, in_width);
    backend.gemm_tn(G, H_out, rows, d_gh, G, workspace + bw.h_prev[dir], H_out, grads + offsets.weight_hh, H_out);
    if (offsets.bias_ih >= 0) backend.column_sums(rows, G, d_gx, G, grads + offsets.bias_ih);
    if (offsets.bias_hh >= 0) backend.column_sums(rows, G, d_gh, G, grads + offsets.bias_hh);
    if (spec.proj_size > 0)
      backend.gemm_tn(H_out, H, rows, workspace + bw.dh_total[dir], H_out, workspace + bw.h_full[dir], H,
                      grads + offsets.weight_hr, H);
  }

  template <typename Backend>
  void run_layers(Backend& backend, const T* params, const StackIO<T>& io, T* workspace, bool training,
                  Generator& generator, TapeView<T> tape) const {
    const RecurrentSpec& spec = *spec_;
    const Index S = dims_.seq_len, B = dims_.batch, D = spec.directions(), L = spec.num_layers;
    const Index width = D * spec.output_size();
    const TapeLayout* record = tape.data != nullptr ? tape.layout : nullptr;
    if (record != nullptr) backend.copy_rows(io.input, spec.input_size, tape.at(record->input[0]), spec.input_size,
                                             S * B, spec.input_size);
    for (Index layer = 0; layer < L; ++layer) {
      const Index in_width = spec.layer_input_size(layer);
      const T* in_data = layer == 0 ? io.input
                         : record != nullptr ? tape.at(record->input[static_cast<std::size_t>(layer)])
                                             : workspace + ws_.between_layers[(layer - 1) % 2];
      T* out_data = record != nullptr ? tape.at(record->output[static_cast<std::size_t>(layer)])
                    : layer == L - 1  ? io.output
                                      : workspace + ws_.between_layers[layer % 2];
      const SequenceBuffer<const T> input{in_data, S, B, in_width, dims_.batch_first};
      const SequenceBuffer<T> output{out_data, S, B, width, dims_.batch_first};
      // A packed batch leaves finished rows at zero: clear the layer's output once for both directions.
      if (packed_ != nullptr) backend.zero(out_data, S * B * width);
      backend.for_each_direction(spec, dims_, layer, [&](Index dir, auto& team) {
        run_direction(team, params, layer, dir, input, output, io, workspace, tape);
      });
      if (layer < L - 1 && layer < dropout_layers(training)) {
        T* next = record != nullptr ? tape.at(record->input[static_cast<std::size_t>(layer + 1)]) : out_data;
        T* mask = record != nullptr ? tape.at(record->mask[static_cast<std::size_t>(layer)]) : nullptr;
        if (tape.replay_masks) {
          backend.apply_mask(out_data, next, mask, dropout_size());  // the caller's masks, already in the tape
        } else {
          backend.dropout(out_data, next, dropout_size(), spec.dropout, generator, mask);
        }
      }
    }
    if (record != nullptr)
      backend.copy_rows(tape.at(record->output[static_cast<std::size_t>(L - 1)]), width, io.output, width, S * B, width);
  }

  /// One direction of one layer: one product for the input projection of all steps, then per step the
  /// recurrent half; the reverse direction walks time backwards. Every member of `team` runs it.
  template <typename Team>
  void run_direction(Team& team, const T* params, Index layer, Index dir, SequenceBuffer<const T> input,
                     SequenceBuffer<T> output, const StackIO<T>& io, T* workspace, TapeView<T> tape) const {
    const RecurrentSpec& spec = *spec_;
    const Index S = dims_.seq_len, B = dims_.batch, G = spec.gate_size(), H = spec.hidden_size;
    const Index H_out = spec.output_size(), D = spec.directions();
    const Index index = layer * D + dir;
    const bool reverse = dir == 1;
    const Index out_col = dir * H_out;
    const DirectionOffsets& offsets = layout_->directions[static_cast<std::size_t>(index)];
    auto param = [params](Index offset) { return offset < 0 ? nullptr : params + offset; };
    const Index* batch_sizes = packed_ != nullptr ? packed_->batch_sizes.data() : nullptr;
    const TapeLayout* record = tape.data != nullptr ? tape.layout : nullptr;

    const T* h0 = io.h0 != nullptr ? io.h0 + index * B * H_out : nullptr;
    T* h_n = io.h_n + index * B * H_out;
    T* c = nullptr;
    if (spec.kind == CellKind::LSTM) {
      c = io.c_n + index * B * H;
      const T* c0 = io.c0 != nullptr ? io.c0 + index * B * H : nullptr;
      if (c0 == nullptr) {
        team.zero(c, B * H);
      } else if (c0 != c) {
        team.copy_rows(c0, H, c, H, B, H);
      }
      if (record != nullptr) team.copy_rows(c, H, tape.at(record->c0[static_cast<std::size_t>(index)]), H, B, H);
    }

    const SequenceBuffer<T> gates{workspace + ws_.input_gates[dir], S, B, G, input.batch_first};
    ProjectArgs<T> projection;
    projection.slot = index;
    projection.rows = S * B;
    projection.in_width = input.width;
    projection.out_width = G;
    projection.input = input.data;
    projection.weight_ih = param(offsets.weight_ih);
    projection.bias_ih = param(offsets.bias_ih);
    projection.out = gates.data;
    // All steps' rows at once: their order does not matter to a row-wise product, so it is the same
    // product for either layout.
    team.project_input(projection);

    T* state = workspace + ws_.state[dir];
    // A cell stepped in place passes its result as h0: the first step would overwrite h0 while a fused
    // step kernel still reads it, so it starts from a copy.
    const auto address = [](const T* p) { return reinterpret_cast<std::uintptr_t>(p); };
    const bool h0_in_output = h0 != nullptr && address(h0) >= address(output.data) &&
                              address(h0) < address(output.data + S * B * output.width);
    const bool h0_copied = h0 != nullptr && (batch_sizes != nullptr || h0_in_output);
    if (h0 == nullptr) {
      team.zero(state, B * H_out);
    } else if (h0_copied) {
      team.copy_rows(h0, H_out, state, H_out, B, H_out);
    }
    const T* initial = h0 != nullptr && !h0_copied ? h0 : state;
    if (record != nullptr)
      team.copy_rows(initial, H_out, tape.at(record->h0[static_cast<std::size_t>(index)]), H_out, B, H_out);

    StepArgs<T> step;
    step.slot = index;
    step.ld_x = input.ld();
    step.weight_hh = param(offsets.weight_hh);
    step.bias_ih = param(offsets.bias_ih);
    step.bias_hh = param(offsets.bias_hh);
    step.weight_hr = param(offsets.weight_hr);
    step.c = c;
    step.gh = workspace + ws_.gh[dir];
    step.h_full = workspace + ws_.h_full[dir];
    step.ld_gx = gates.ld();
    step.ld_h_out = output.ld();
    const Index recorded = recorded_gates(spec.kind) * H;
    Index previous = -1;
    for (Index i = 0; i < S; ++i) {
      const Index t = reverse ? S - 1 - i : i;
      step.rows = batch_sizes != nullptr ? batch_sizes[t] : B;
      step.x = input.at(t);
      step.gx = gates.at(t);
      step.h_out = output.at(t, out_col);
      const bool from_initial = previous < 0 || batch_sizes != nullptr;
      step.h_prev = from_initial ? initial : output.at(previous, out_col);
      step.ld_h_prev = from_initial ? H_out : output.ld();
      if (record != nullptr) step.record = tape.at(record->gates[static_cast<std::size_t>(index)]) + t * B * recorded;
      team.recurrent(spec, step);
      if (record != nullptr && c != nullptr)
        team.copy_rows(c, H, tape.at(record->c[static_cast<std::size_t>(index)]) + t * B * H, H, step.rows, H);
      if (batch_sizes != nullptr) team.copy_rows(step.h_out, output.ld(), state, H_out, step.rows, H_out);
      previous = t;
    }
    if (batch_sizes != nullptr) {
      team.copy_rows(state, H_out, h_n, H_out, B, H_out);
    } else {
      const T* last = output.at(reverse ? 0 : S - 1, out_col);
      if (last != h_n) team.copy_rows(last, output.ld(), h_n, H_out, B, H_out);
    }
  }

  const RecurrentSpec* spec_;
  const ParameterLayout* layout_;
  SequenceDims dims_;
  const PackedBatch* packed_;
  WorkspaceLayout ws_;
};

}  // namespace seqnet::detail
