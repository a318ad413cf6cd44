// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <vector>

#include "../random.hpp"
#include "../threads.hpp"
#include "gates.hpp"
#include "gemm.hpp"
#include "packing.hpp"
#include "spec.hpp"
#include "workspace.hpp"

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
  /// Rows of time step `t`, columns `[col, col + cols)`.
  auto step(Index t, Index col, Index cols) const { return matrix_view(at(t, col), batch, cols, ld()); }
  /// All `seq * batch` rows at once (their order does not matter to a row-wise product).
  auto rows() const { return matrix_view(data, seq_len * batch, width, width); }
};

/// A state's starting value: a copy of `from`, or zeros when `from` is null (no initial state given).
/// `from == to` (a stream carrying its state in place) leaves it as it is.
template <typename T>
void copy_or_zero(const T* from, T* to, Index count) {
  if (from == nullptr) {
    std::fill(to, to + count, T(0));
  } else if (from != to) {
    std::copy(from, from + count, to);
  }
}

/// Threads worth using for one direction's steps: a barrier per step costs about a microsecond, so a
/// step must carry enough multiply-adds to pay for it.
inline int step_threads(const RecurrentSpec& spec, Index batch, int available) {
  const Index work_per_step = batch * spec.gate_size() * spec.output_size();
  return work_per_step >= (Index(1) << 17) ? available : 1;
}

/// Whether a bidirectional layer runs its two directions on two threads: each direction's recurrent
/// work (`seq * batch * G*H * H_out` multiply-adds) must outweigh handing it to a pool thread.
inline bool concurrent_directions(const RecurrentSpec& spec, Index seq_len, Index batch, int available) {
  return spec.directions() == 2 && available >= 2 &&
         seq_len * batch * spec.gate_size() * spec.output_size() >= (Index(1) << 18);
}

/// Runs one direction of one layer over the whole sequence: one GEMM for the input projection of all
/// time steps, then per step the recurrent GEMM and the gate kernel. The reverse direction is the same
/// loop walking time backwards. Writes its `H_out` columns of `output` (starting at `out_col`), its final
/// hidden state to `h_n` (which may alias `h0`), and (LSTM) updates the cell state `c` from c_0 to c_n in place.
///
/// With `batch_sizes` (a packed batch, rows sorted by decreasing length) step `t` only runs the first
/// `batch_sizes[t]` rows: the others keep their state and get zero outputs, so `h_n` and `c` hold each
/// sequence's last valid step and the reverse direction starts at each sequence's own last step.
template <typename T>
void run_direction(const RecurrentSpec& spec, const DirectionWeights<T>& w, SequenceBuffer<const T> input,
                   SequenceBuffer<T> output, Index out_col, bool reverse, const T* h0, T* h_n, T* c,
                   const Index* batch_sizes, PackedDirection<T>& weights, DirectionScratch<T>& scratch,
                   int threads = 1) {
  const Index S = input.seq_len, B = input.batch, G = spec.gate_size(), H_out = spec.output_size();

  SequenceBuffer<T> gates{scratch.input_gates.data(), S, B, G, input.batch_first};
  weights.reserve(spec, S * B, B);
  StepWorkspace<T>& workspace = *scratch.step;
  scratch.reserve_threads(threads, weights.workspace_size());

  // The initial state is h0 itself, or zeros / a packed batch's running state in the scratch buffer
  // (a packed batch keeps its state apart from the output, whose finished rows are zero).
  T* state = scratch.state.data();
  if (h0 == nullptr || batch_sizes != nullptr) copy_or_zero(h0, state, B * H_out);
  const T* initial = h0 != nullptr && batch_sizes == nullptr ? h0 : state;

  SpinBarrier barrier(threads);
  auto region = [&](int thread, int team_size) {
    const StepTeam<T> team = scratch.team(thread, team_size, barrier);
    team.run_tall(weights.input, input.rows(), w.bias_ih, gates.rows());
    team.sync();
    Index previous = -1;
    for (Index i = 0; i < S; ++i) {
      const Index t = reverse ? S - 1 - i : i;
      const Index rows = batch_sizes != nullptr ? batch_sizes[t] : B;
      MatrixView<T> out_t = output.step(t, out_col, H_out);
      ConstMatrixView<T> h_prev = previous < 0 || batch_sizes != nullptr
                                      ? matrix_view(initial, rows, H_out, H_out)
                                      : as_const(output.step(previous, out_col, H_out));
      recurrent_step<T>(spec, w, top_rows(as_const(gates.step(t, 0, G)), rows), h_prev, c, top_rows(out_t, rows),
                        workspace, weights, team);
      team.sync();
      if (batch_sizes != nullptr) {
        if (thread == 0) {
          matrix_view(state, rows, H_out, H_out) = top_rows(out_t, rows);
          out_t.bottomRows(B - rows).setZero();
        }
        team.sync();
      }
      previous = t;
    }
  };
  ThreadPool::instance().run(threads, region);

  if (batch_sizes != nullptr) {
    std::copy(state, state + B * H_out, h_n);
  } else {
    matrix_view(h_n, B, H_out, H_out) = output.step(reverse ? 0 : S - 1, out_col, H_out);
  }
}

/// Inverted dropout in place: zero with probability `p`, scale survivors by `1 / (1 - p)`.
template <typename T>
void dropout_in_place(T* data, Index count, double p, Generator& generator) {
  if (p >= 1.0) {
    std::fill(data, data + count, T(0));
    return;
  }
  const T scale = static_cast<T>(1.0 / (1.0 - p));
  for (Index i = 0; i < count; ++i) data[i] = generator.bernoulli(p) ? T(0) : data[i] * scale;
}

/// Raw-pointer interface of a whole stacked, possibly bidirectional module, shared by every public
/// module type (and meant for a future TensorMap or GPU front end). Pointers address contiguous
/// row-major buffers with the shapes PyTorch documents; `h0`/`c0` may be null (zeros); `c0`/`c_n` are
/// ignored unless the module is an LSTM.
template <typename T>
struct StackIO {
  const T* input = nullptr;
  const T* h0 = nullptr;
  const T* c0 = nullptr;
  T* output = nullptr;
  T* h_n = nullptr;
  T* c_n = nullptr;
};

/// Copies `from` into `to` with the batch rows of every step reordered: `to` row i is `from` row
/// `order[i]` (`inverse` false), or `to` row `order[i]` is `from` row i (`inverse` true).
template <typename T>
void permute_batch(SequenceBuffer<const T> from, SequenceBuffer<T> to, const std::vector<Index>& order, bool inverse) {
  for (Index t = 0; t < from.seq_len; ++t) {
    const auto source = from.step(t, 0, from.width);
    auto target = to.step(t, 0, to.width);
    for (Index i = 0; i < from.batch; ++i) {
      const Index j = order[static_cast<std::size_t>(i)];
      if (inverse) {
        target.row(j) = source.row(i);
      } else {
        target.row(i) = source.row(j);
      }
    }
  }
}

template <typename T>
void forward_layers(const RecurrentSpec& spec, const ParameterLayout& layout, const T* params, const SequenceDims& dims,
                    const StackIO<T>& io, bool training, Generator& generator, const Index* batch_sizes,
                    StackWorkspace<T>& workspace) {
  const Index S = dims.seq_len, B = dims.batch, D = spec.directions(), L = spec.num_layers;
  const Index H = spec.hidden_size, H_out = spec.output_size(), width = D * H_out;
  const bool apply_dropout = training && spec.dropout > 0.0;
  workspace.reserve(spec, S, B);
  AlignedVector<T>* between_layers = workspace.between_layers;

  for (Index layer = 0; layer < L; ++layer) {
    const Index in_width = spec.layer_input_size(layer);
    const T* in_data = layer == 0 ? io.input : between_layers[(layer - 1) % 2].data();
    T* out_data = layer == L - 1 ? io.output : between_layers[layer % 2].data();
    SequenceBuffer<const T> input{in_data, S, B, in_width, dims.batch_first};
    SequenceBuffer<T> output{out_data, S, B, width, dims.batch_first};

    // A bidirectional layer with 2+ threads runs its directions at once; otherwise one direction may
    // share its steps among the threads.
    const int available = get_num_threads();
    const bool directions_at_once = concurrent_directions(spec, S, B, available);
    auto run_one = [&](Index dir) {
      const Index index = layer * D + dir;
      T* c = nullptr;
      if (spec.kind == CellKind::LSTM) {
        c = io.c_n + index * B * H;
        copy_or_zero(io.c0 != nullptr ? io.c0 + index * B * H : nullptr, c, B * H);
      }
      const auto weights = DirectionWeights<T>::at(params, layout.directions[static_cast<std::size_t>(index)], in_width);
      PackedDirection<T>& packed = workspace.weights[static_cast<std::size_t>(index)];
      if (!workspace.weights_current) packed.pack(spec, weights);
      DirectionScratch<T>& scratch = workspace.directions[dir];
      run_direction<T>(spec, weights, input, output, dir * H_out, dir == 1,
                       io.h0 != nullptr ? io.h0 + index * B * H_out : nullptr, io.h_n + index * B * H_out, c,
                       batch_sizes, packed, scratch, directions_at_once ? 1 : step_threads(spec, B, available));
    };
    if (directions_at_once) {
      auto both = [&](int thread, int threads) {
        for (Index dir = thread; dir < D; dir += threads) run_one(dir);
      };
      ThreadPool::instance().run(2, both);
    } else {
      for (Index dir = 0; dir < D; ++dir) run_one(dir);
    }
    if (apply_dropout && layer < L - 1) dropout_in_place(out_data, S * B * width, spec.dropout, generator);
  }
  workspace.weights_current = workspace.keep_weights;
}

/// The whole stack. `packed` (may be null) makes it a packed-sequence run: the batch is put in
/// decreasing-length order (copying input, states and results when that order is not the given one)
/// and every layer runs only the sequences still going at each step. `io.h0` may alias `io.h_n` and
/// `io.c0` `io.c_n` (a stream carrying its state).
template <typename T>
void forward_stack(const RecurrentSpec& spec, const ParameterLayout& layout, const T* params, const SequenceDims& dims,
                   const StackIO<T>& io, bool training, Generator& generator, const PackedBatch* packed,
                   StackWorkspace<T>& workspace) {
  if (dims.batch == 0) return;  // every result is empty
  if (packed == nullptr || !packed->permuted) {
    forward_layers<T>(spec, layout, params, dims, io, training, generator,
                      packed != nullptr ? packed->batch_sizes.data() : nullptr, workspace);
    return;
  }
  const Index S = dims.seq_len, B = dims.batch, LD = spec.num_layers * spec.directions();
  const Index width = spec.directions() * spec.output_size(), H = spec.hidden_size, H_out = spec.output_size();
  const std::vector<Index>& order = packed->sorted_indices;
  workspace.reserve_sorted(spec, S, B);
  T* input = workspace.sorted[0].data();
  T* output = workspace.sorted[1].data();
  T* h = workspace.sorted[2].data();
  T* c = io.c_n != nullptr ? workspace.sorted[3].data() : nullptr;
  permute_batch<T>({io.input, S, B, spec.input_size, dims.batch_first}, {input, S, B, spec.input_size, dims.batch_first},
                   order, false);
  StackIO<T> sorted{input, nullptr, nullptr, output, h, c};
  if (io.h0 != nullptr) {
    permute_batch<T>({io.h0, LD, B, H_out, false}, {h, LD, B, H_out, false}, order, false);
    sorted.h0 = h;
  }
  if (io.c0 != nullptr && c != nullptr) {
    permute_batch<T>({io.c0, LD, B, H, false}, {c, LD, B, H, false}, order, false);
    sorted.c0 = c;
  }
  forward_layers<T>(spec, layout, params, dims, sorted, training, generator, packed->batch_sizes.data(), workspace);
  permute_batch<T>({output, S, B, width, dims.batch_first}, {io.output, S, B, width, dims.batch_first}, order, true);
  permute_batch<T>({h, LD, B, H_out, false}, {io.h_n, LD, B, H_out, false}, order, true);
  if (c != nullptr) permute_batch<T>({c, LD, B, H, false}, {io.c_n, LD, B, H, false}, order, true);
}

}  // namespace seqnet::detail

namespace seqnet::detail {

/// One cell step (RNNCell, LSTMCell, GRUCell): the input projection and `recurrent_step`, the same kernels
/// the layer loop uses, shared among threads as a layer's steps are; a frozen one-row step of a small cell
/// runs `TinyStep` instead. `h0`/`c0` may be null (zeros) or equal `h1`/`c1` (a state stepped in place);
/// `c1` is only touched for LSTM.
template <typename T>
void cell_forward(const RecurrentSpec& spec, const ParameterLayout& layout, const T* params, Index batch,
                  const T* input, const T* h0, const T* c0, T* h1, T* c1, StackWorkspace<T>& workspace) {
  const Index G = spec.gate_size(), H = spec.hidden_size;
  if (batch == 0) return;  // h1 and c1 are empty
  const auto weights = DirectionWeights<T>::at(params, layout.directions.front(), spec.input_size);
  // Frozen one-row steps of small cells: one product, no thread pool (TinyStep).
  if (workspace.keep_weights && TinyStep<T>::suits(spec, batch)) {
    if (workspace.tiny.empty()) workspace.tiny.resize(1);
    TinyStep<T>& tiny = workspace.tiny.front();
    if (!workspace.tiny_current) tiny.pack(spec, weights);
    workspace.tiny_current = true;
    DirectionScratch<T>& scratch = workspace.directions[0];
    ensure_size(scratch.state, H);
    if (h0 == nullptr) std::fill(scratch.state.begin(), scratch.state.begin() + H, T(0));
    if (spec.kind == CellKind::LSTM) copy_or_zero(c0, c1, H);
    tiny.step(input, h0 != nullptr ? h0 : scratch.state.data(), c1, h1);
    return;
  }
  DirectionScratch<T>& scratch = workspace.directions[0];
  scratch.reserve(spec, 1, batch);
  // An unfrozen cell's one-row step multiplies by the parameters in place (a matrix-vector product;
  // packing would cost more than the product). Otherwise the packed kernel runs: for several rows packing
  // costs no more than the packing inside any GEMM, and a frozen module keeps the packed weights, so its
  // steps pay only for their products (one row too: the packed 1-row tile beats the in-place product).
  const bool in_place = batch == 1 && !workspace.keep_weights;
  PackedDirection<T>& packed = in_place ? workspace.cell_gemv : workspace.cell_weights;
  if (in_place) {
    packed.pack(spec, weights, false);
  } else {
    if (!workspace.weights_current) packed.pack(spec, weights);
    workspace.weights_current = workspace.keep_weights;
  }
  packed.reserve(spec, batch, batch);
  const int threads = in_place ? 1 : step_threads(spec, batch, get_num_threads());
  scratch.reserve_threads(threads, packed.workspace_size());
  // A state stepped in place (h1 == h0) is read from a copy: the gate kernels read h0 after writing h1.
  const T* h_prev = h0 != nullptr && h0 != h1 ? h0 : scratch.state.data();
  copy_or_zero(h0, scratch.state.data(), h0 == nullptr || h0 == h1 ? batch * H : 0);
  if (spec.kind == CellKind::LSTM) copy_or_zero(c0, c1, batch * H);

  const MatrixView<T> gates = matrix_view(scratch.input_gates.data(), batch, G, G);
  SpinBarrier barrier(threads);
  auto region = [&](int thread, int team_size) {
    const StepTeam<T> team = scratch.team(thread, team_size, barrier);
    // recurrent_step's first barrier also publishes these input projections to every thread.
    team.run(packed.input, matrix_view(input, batch, spec.input_size, spec.input_size), weights.bias_ih, gates);
    recurrent_step<T>(spec, weights, as_const(gates), matrix_view(h_prev, batch, H, H), c1, matrix_view(h1, batch, H, H), *scratch.step, packed, team);
  };
  ThreadPool::instance().run(threads, region);
}

}  // namespace seqnet::detail
