// SPDX-License-Identifier: MIT
#pragma once

// The GPU forward pass as a sequence of backend operations, independent of CUDA: the device backend
// turns each operation into a cuBLAS call or a kernel launch on a stream; the tests run the same plan
// on a host backend (plain loops) against the CPU modules, so the layer, direction, step, packed-batch
// and layout logic is checked on machines without a GPU.
//
// A backend provides, for element type T (all pointers in the backend's memory):
//   gemm(m, n, k, a, lda, w, c, ldc)        c[m x n] = a[m x k] * w^T, w row-major [n x k], ld k
//   pointwise(PointwiseArgs<T>)             the gate kernel over rows x hidden
//   recurrent(spec, StepArgs<T>)            one step's recurrent half; `recurrent_by_products` is the
//                                           reference a backend may replace with a fused kernel
//   copy_rows(src, lds, dst, ldd, rows, cols), zero(p, count)
//   permute(src, dst, order, seq, batch, width, batch_first, inverse)  (see seqnet::detail::permute_batch)
//   dropout(data, count, p, generator)      inverted dropout drawing the CPU's random sequence
//   fork(), direction(dir), join()          directions of one layer may run concurrently between
//                                           fork() and join(); direction(d) selects where d's work goes

#include <algorithm>
#include <cstdint>
#include <vector>

#include "../../detail/call_shape.hpp"
#include "../../detail/packing.hpp"
#include "../../detail/recurrent.hpp"
#include "../../detail/spec.hpp"
#include "../../sequence_lengths.hpp"
#include "pointwise.hpp"

namespace seqnet::cuda::detail {

using seqnet::detail::CallShape;
using seqnet::detail::cell_call;
using seqnet::detail::module_call;
using seqnet::detail::PackedBatch;
using seqnet::detail::ParameterLayout;
using seqnet::detail::RecurrentSpec;
using seqnet::detail::SequenceBuffer;
using seqnet::detail::SequenceDims;
using seqnet::detail::StackIO;

/// One step's recurrent half for `rows` batch rows: `gh = h_prev W_hh^T`, the gates, and (LSTMP) the
/// projection `h_out = h_full W_hr^T`.
template <typename T>
struct StepArgs {
  Index rows = 0;
  const T* gx = nullptr;  ///< [rows, G*H] input projection of this step (no bias)
  Index ld_gx = 0;
  const T* weight_hh = nullptr;  ///< [G*H, H_out]
  const T* bias_ih = nullptr;
  const T* bias_hh = nullptr;
  const T* weight_hr = nullptr;  ///< [H_out, H] or null
  const T* h_prev = nullptr;     ///< [rows, H_out]
  Index ld_h_prev = 0;
  T* c = nullptr;  ///< [rows, H] contiguous (LSTM)
  T* h_out = nullptr;  ///< [rows, H_out]
  Index ld_h_out = 0;
  T* gh = nullptr;      ///< scratch [rows, G*H]
  T* h_full = nullptr;  ///< scratch [rows, H] (projection only)

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

/// The recurrent half of a step as two products around the gate kernel (what a backend without a
/// fused step kernel runs).
template <typename T, typename Backend>
void recurrent_by_products(Backend& backend, const RecurrentSpec& spec, const StepArgs<T>& s) {
  backend.gemm(s.rows, spec.gate_size(), spec.output_size(), s.h_prev, s.ld_h_prev, s.weight_hh, s.gh,
               spec.gate_size());
  project_after(backend, spec, s, [&] { backend.pointwise(s.pointwise(spec)); });
}

/// Appends the `count` values `dropout` multiplies by: 0 with probability `p`, else `1 / (1 - p)`, drawn in
/// the same order as the CPU's `dropout_in_place`, so a GPU module in training mode drops the same elements.
template <typename T>
void append_dropout_mask(std::vector<T>& mask, Index count, double p, Generator& generator) {
  const std::size_t start = mask.size();
  mask.resize(start + static_cast<std::size_t>(count), T(0));
  if (p >= 1.0) return;  // the CPU draws nothing either
  const T scale = static_cast<T>(1.0 / (1.0 - p));
  for (std::size_t i = start; i < mask.size(); ++i) mask[i] = generator.bernoulli(p) ? T(0) : scale;
}

/// Element offsets of everything a forward pass needs besides parameters and results, in one workspace.
struct WorkspaceLayout {
  Index input_gates[2] = {0, 0};  ///< [seq * batch, G*H] per direction
  Index gh[2] = {0, 0};           ///< [batch, G*H] per direction
  Index h_full[2] = {0, 0};       ///< [batch, H] per direction (projection)
  Index state[2] = {0, 0};        ///< [batch, H_out] per direction: zeros, h_0, a packed batch's state
  Index between_layers[2] = {0, 0};
  Index sorted_input = 0, sorted_output = 0, sorted_h = 0, sorted_c = 0;
  Index total = 0;
};

/// A forward pass of a stacked module (or a cell: one step, one layer) on given dimensions: computes
/// its workspace once, then `run` issues every operation on a backend without allocating.
template <typename T>
class StackPlan {
 public:
  StackPlan(const RecurrentSpec& spec, const ParameterLayout& layout, const SequenceDims& dims,
            const PackedBatch* packed)
      : spec_(spec), layout_(layout), dims_(dims), packed_(packed) {
    const Index S = dims.seq_len, B = dims.batch, G = spec.gate_size(), H = spec.hidden_size;
    const Index H_out = spec.output_size(), width = spec.directions() * H_out;
    Index next = 0;
    // Every slot starts on a 64-element boundary, so vector loads stay aligned on any backend.
    auto take = [&next](Index count) {
      const Index at = next;
      next += (count + 63) / 64 * 64;
      return at;
    };
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
    ws_.total = next;
  }

  /// Elements of workspace `run` needs.
  Index workspace_size() const { return ws_.total; }
  /// Whether `run` needs the batch order (`packed->sorted_indices`) in backend memory.
  bool permuted() const { return packed_ != nullptr && packed_->permuted; }
  /// Elements `run` passes to `backend.dropout` after each layer but the last, in training mode (the
  /// same for every layer): a backend may draw all masks before the pass, in this order.
  Index dropout_size() const { return dims_.seq_len * dims_.batch * spec_.directions() * spec_.output_size(); }
  Index dropout_layers(bool training) const {
    return training && spec_.dropout > 0.0 && dims_.batch > 0 ? spec_.num_layers - 1 : 0;
  }

  /// The whole stack. `order` is `packed->sorted_indices` in backend memory when `permuted()`.
  /// `io.h0` may alias `io.h_n` and `io.c0` `io.c_n`.
  template <typename Backend>
  void run(Backend& backend, const T* params, const StackIO<T>& io, T* workspace, const Index* order, bool training,
           Generator& generator) const {
    if (dims_.batch == 0) return;
    if (!permuted()) {
      run_layers(backend, params, io, workspace, training, generator);
      return;
    }
    const Index S = dims_.seq_len, B = dims_.batch, LD = spec_.num_layers * spec_.directions();
    const Index width = spec_.directions() * spec_.output_size(), H = spec_.hidden_size, H_out = spec_.output_size();
    const bool bf = dims_.batch_first;
    T* input = workspace + ws_.sorted_input;
    T* output = workspace + ws_.sorted_output;
    T* h = workspace + ws_.sorted_h;
    T* c = io.c_n != nullptr ? workspace + ws_.sorted_c : nullptr;
    backend.permute(io.input, input, order, S, B, spec_.input_size, bf, false);
    StackIO<T> sorted{input, nullptr, nullptr, output, h, c};
    if (io.h0 != nullptr) {
      backend.permute(io.h0, h, order, LD, B, H_out, false, false);
      sorted.h0 = h;
    }
    if (io.c0 != nullptr && c != nullptr) {
      backend.permute(io.c0, c, order, LD, B, H, false, false);
      sorted.c0 = c;
    }
    run_layers(backend, params, sorted, workspace, training, generator);
    backend.permute(output, io.output, order, S, B, width, bf, true);
    backend.permute(h, io.h_n, order, LD, B, H_out, false, true);
    if (c != nullptr) backend.permute(c, io.c_n, order, LD, B, H, false, true);
  }

 private:
  template <typename Backend>
  void run_layers(Backend& backend, const T* params, const StackIO<T>& io, T* workspace, bool training,
                  Generator& generator) const {
    const Index S = dims_.seq_len, B = dims_.batch, D = spec_.directions(), L = spec_.num_layers;
    const Index H = spec_.hidden_size, H_out = spec_.output_size(), width = D * H_out;
    for (Index layer = 0; layer < L; ++layer) {
      const Index in_width = spec_.layer_input_size(layer);
      const T* in_data = layer == 0 ? io.input : workspace + ws_.between_layers[(layer - 1) % 2];
      T* out_data = layer == L - 1 ? io.output : workspace + ws_.between_layers[layer % 2];
      const SequenceBuffer<const T> input{in_data, S, B, in_width, dims_.batch_first};
      const SequenceBuffer<T> output{out_data, S, B, width, dims_.batch_first};
      // A packed batch leaves finished rows at zero: clear the layer's output once for both directions.
      if (packed_ != nullptr) backend.zero(out_data, S * B * width);
      if (D > 1) backend.fork();
      for (Index dir = 0; dir < D; ++dir) {
        backend.direction(dir);
        const Index index = layer * D + dir;
        T* c = nullptr;
        if (spec_.kind == CellKind::LSTM) {
          c = io.c_n + index * B * H;
          if (io.c0 == nullptr) {
            backend.zero(c, B * H);
          } else if (io.c0 + index * B * H != c) {
            backend.copy_rows(io.c0 + index * B * H, H, c, H, B, H);
          }
        }
        run_direction(backend, params, layout_.directions[static_cast<std::size_t>(index)], in_width, input,
                      output, dir, io.h0 != nullptr ? io.h0 + index * B * H_out : nullptr, io.h_n + index * B * H_out,
                      c, workspace);
      }
      if (D > 1) backend.join();
      if (layer < dropout_layers(training)) backend.dropout(out_data, dropout_size(), spec_.dropout, generator);
    }
  }

  /// One direction of one layer, the loop of `seqnet::detail::run_direction`: one product for the input
  /// projection of all steps, then per step the recurrent half; the reverse direction walks time backwards.
  template <typename Backend>
  void run_direction(Backend& backend, const T* params, const seqnet::detail::DirectionOffsets& offsets,
                     Index in_width, SequenceBuffer<const T> input, SequenceBuffer<T> output, Index dir, const T* h0, T* h_n,
                     T* c, T* workspace) const {
    const Index S = dims_.seq_len, B = dims_.batch, G = spec_.gate_size(), H_out = spec_.output_size();
    const bool reverse = dir == 1;
    const Index out_col = dir * H_out;
    auto param = [params](Index offset) { return offset < 0 ? nullptr : params + offset; };
    const Index* batch_sizes = packed_ != nullptr ? packed_->batch_sizes.data() : nullptr;

    const SequenceBuffer<T> gates{workspace + ws_.input_gates[dir], S, B, G, input.batch_first};
    // All steps' rows at once: their order does not matter to a row-wise product, so it is the same
    // product for either layout.
    backend.gemm(S * B, G, in_width, input.data, in_width, param(offsets.weight_ih), gates.data, G);

    T* state = workspace + ws_.state[dir];
    // A cell stepped in place passes its result as h0: the first step would overwrite h0 while the
    // fused step kernel still reads it, so it starts from a copy.
    const auto address = [](const T* p) { return reinterpret_cast<std::uintptr_t>(p); };
    const bool h0_in_output = h0 != nullptr && address(h0) >= address(output.data) &&
                              address(h0) < address(output.data + S * B * output.width);
    const bool h0_copied = h0 != nullptr && (batch_sizes != nullptr || h0_in_output);
    if (h0 == nullptr) {
      backend.zero(state, B * H_out);
    } else if (h0_copied) {
      backend.copy_rows(h0, H_out, state, H_out, B, H_out);
    }
    const T* initial = h0 != nullptr && !h0_copied ? h0 : state;

    StepArgs<T> step;
    step.weight_hh = param(offsets.weight_hh);
    step.bias_ih = param(offsets.bias_ih);
    step.bias_hh = param(offsets.bias_hh);
    step.weight_hr = param(offsets.weight_hr);
    step.c = c;
    step.gh = workspace + ws_.gh[dir];
    step.h_full = workspace + ws_.h_full[dir];
    step.ld_gx = gates.ld();
    step.ld_h_out = output.ld();
    Index previous = -1;
    for (Index i = 0; i < S; ++i) {
      const Index t = reverse ? S - 1 - i : i;
      step.rows = batch_sizes != nullptr ? batch_sizes[t] : B;
      step.gx = gates.at(t);
      step.h_out = output.at(t, out_col);
      const bool from_initial = previous < 0 || batch_sizes != nullptr;
      step.h_prev = from_initial ? initial : output.at(previous, out_col);
      step.ld_h_prev = from_initial ? H_out : output.ld();
      backend.recurrent(spec_, step);
      if (batch_sizes != nullptr) backend.copy_rows(step.h_out, output.ld(), state, H_out, step.rows, H_out);
      previous = t;
    }
    if (batch_sizes != nullptr) {
      backend.copy_rows(state, H_out, h_n, H_out, B, H_out);
    } else {
      const T* last = output.at(reverse ? 0 : S - 1, out_col);
      if (last != h_n) backend.copy_rows(last, output.ld(), h_n, H_out, B, H_out);
    }
  }

  const RecurrentSpec& spec_;
  const ParameterLayout& layout_;
  SequenceDims dims_;
  const PackedBatch* packed_;
  WorkspaceLayout ws_;
};

}  // namespace seqnet::cuda::detail
