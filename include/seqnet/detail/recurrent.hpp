// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <vector>

#include "../random.hpp"
#include "gates.hpp"
#include "gemm.hpp"
#include "spec.hpp"

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

  /// Rows of time step `t`, columns `[col, col + cols)`.
  auto step(Index t, Index col, Index cols) const {
    T* first = data + (batch_first ? t * width : t * batch * width) + col;
    return matrix_view(first, batch, cols, batch_first ? seq_len * width : width);
  }
  /// All `seq * batch` rows at once (their order does not matter to a row-wise product).
  auto rows() const { return matrix_view(data, seq_len * batch, width, width); }
};

/// Runs one direction of one layer over the whole sequence: one GEMM for the input projection of all
/// time steps, then per step the recurrent GEMM and the gate kernel. The reverse direction is the same
/// loop walking time backwards. Writes its `H_out` columns of `output` (starting at `out_col`), its final
/// hidden state to `h_n`, and (LSTM) updates the cell state `c` from c_0 to c_n in place.
template <typename T>
void run_direction(const RecurrentSpec& spec, const DirectionWeights<T>& w, SequenceBuffer<const T> input,
                   SequenceBuffer<T> output, Index out_col, bool reverse, const T* h0, T* h_n, T* c) {
  const Index S = input.seq_len, B = input.batch, G = spec.gate_size(), H_out = spec.output_size();

  std::vector<T> input_gates(static_cast<std::size_t>(S * B * G));
  SequenceBuffer<T> gates{input_gates.data(), S, B, G, input.batch_first};
  LinearGemm<T>(S * B, G, w.input_size).run(input.rows(), matrix_view(w.weight_ih, G, w.input_size, w.input_size),
                                             w.bias_ih, gates.rows());

  std::vector<T> zero_state(h0 == nullptr ? static_cast<std::size_t>(B * H_out) : 0, T(0));
  const T* initial = h0 != nullptr ? h0 : zero_state.data();
  StepWorkspace<T> workspace(spec, B);

  Index previous = -1;
  for (Index i = 0; i < S; ++i) {
    const Index t = reverse ? S - 1 - i : i;
    ConstMatrixView<T> h_prev = previous < 0 ? matrix_view(initial, B, H_out, H_out)
                                             : as_const(output.step(previous, out_col, H_out));
    recurrent_step<T>(spec, w, as_const(gates.step(t, 0, G)), h_prev, c, output.step(t, out_col, H_out), workspace);
    previous = t;
  }
  matrix_view(h_n, B, H_out, H_out) = output.step(previous, out_col, H_out);
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

template <typename T>
void forward_stack(const RecurrentSpec& spec, const ParameterLayout& layout, const T* params, const SequenceDims& dims,
                   const StackIO<T>& io, bool training, Generator& generator) {
  const Index S = dims.seq_len, B = dims.batch, D = spec.directions(), L = spec.num_layers;
  const Index H = spec.hidden_size, H_out = spec.output_size(), width = D * H_out;
  if (B == 0) return;  // every result is empty
  const bool apply_dropout = training && spec.dropout > 0.0;

  std::vector<T> between_layers[2];
  for (Index i = 0; i < std::min<Index>(L - 1, 2); ++i) between_layers[i].resize(static_cast<std::size_t>(S * B * width));

  for (Index layer = 0; layer < L; ++layer) {
    const Index in_width = spec.layer_input_size(layer);
    const T* in_data = layer == 0 ? io.input : between_layers[(layer - 1) % 2].data();
    T* out_data = layer == L - 1 ? io.output : between_layers[layer % 2].data();
    SequenceBuffer<const T> input{in_data, S, B, in_width, dims.batch_first};
    SequenceBuffer<T> output{out_data, S, B, width, dims.batch_first};

    for (Index dir = 0; dir < D; ++dir) {
      const Index index = layer * D + dir;
      T* c = nullptr;
      if (spec.kind == CellKind::LSTM) {
        c = io.c_n + index * B * H;
        if (io.c0 != nullptr) {
          std::copy(io.c0 + index * B * H, io.c0 + (index + 1) * B * H, c);
        } else {
          std::fill(c, c + B * H, T(0));
        }
      }
      const auto weights = DirectionWeights<T>::at(params, layout.directions[static_cast<std::size_t>(index)], in_width);
      run_direction<T>(spec, weights, input, output, dir * H_out, dir == 1,
                       io.h0 != nullptr ? io.h0 + index * B * H_out : nullptr, io.h_n + index * B * H_out, c);
    }
    if (apply_dropout && layer < L - 1) dropout_in_place(out_data, S * B * width, spec.dropout, generator);
  }
}

}  // namespace seqnet::detail

namespace seqnet::detail {

/// One cell step (RNNCell, LSTMCell): the input projection and `recurrent_step`, the same kernels the
/// layer loop uses. `h0`/`c0` may be null (zeros); `c1` is only touched for LSTM.
template <typename T>
void cell_forward(const RecurrentSpec& spec, const ParameterLayout& layout, const T* params, Index batch,
                  const T* input, const T* h0, const T* c0, T* h1, T* c1) {
  const Index G = spec.gate_size(), H = spec.hidden_size;
  if (batch == 0) return;  // h1 and c1 are empty
  const auto weights = DirectionWeights<T>::at(params, layout.directions.front(), spec.input_size);
  std::vector<T> input_gates(static_cast<std::size_t>(batch * G));
  LinearGemm<T>(batch, G, spec.input_size)
      .run(matrix_view(input, batch, spec.input_size, spec.input_size),
           matrix_view(weights.weight_ih, G, spec.input_size, spec.input_size), weights.bias_ih,
           matrix_view(input_gates.data(), batch, G, G));
  std::vector<T> zero_state(h0 == nullptr ? static_cast<std::size_t>(batch * H) : 0, T(0));
  if (spec.kind == CellKind::LSTM) {
    if (c0 != nullptr) {
      std::copy(c0, c0 + batch * H, c1);
    } else {
      std::fill(c1, c1 + batch * H, T(0));
    }
  }
  StepWorkspace<T> workspace(spec, batch);
  recurrent_step<T>(spec, weights, matrix_view(static_cast<const T*>(input_gates.data()), batch, G, G),
                    matrix_view(h0 != nullptr ? h0 : zero_state.data(), batch, H, H), c1, matrix_view(h1, batch, H, H),
                    workspace);
}

}  // namespace seqnet::detail
