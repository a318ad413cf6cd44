// SPDX-License-Identifier: MIT
#pragma once

#include <vector>

#include "gemm.hpp"
#include "spec.hpp"

namespace seqnet::detail {

/// The fused pointwise gate kernels: the only place the recurrence math lives. Both the cells and
/// the layer loop call them. `gx` holds `x W_ih^T + b_ih`, `gh` holds `h W_hh^T + b_hh`, both `[batch, G*H]`
/// with PyTorch's gate order (LSTM: i, f, g, o; GRU: r, z, n).
template <typename T>
void rnn_gates(ConstMatrixView<T> gx, ConstMatrixView<T> gh, Nonlinearity nonlinearity, MatrixView<T> h_next) {
  if (nonlinearity == Nonlinearity::Relu) {
    h_next = (gx + gh).cwiseMax(T(0));
  } else {
    h_next.array() = (gx.array() + gh.array()).tanh();
  }
}

/// LSTM: `c' = f*c + i*g`, `h' = o*tanh(c')`; `c` is updated in place.
template <typename T>
void lstm_gates(ConstMatrixView<T> gx, ConstMatrixView<T> gh, MatrixView<T> c, MatrixView<T> h_next) {
  const Index H = c.cols();
  auto gate = [&](Index k) { return gx.middleCols(k * H, H).array() + gh.middleCols(k * H, H).array(); };
  c.array() = gate(1).logistic() * c.array() + gate(0).logistic() * gate(2).tanh();
  h_next.array() = gate(3).logistic() * c.array().tanh();
}

/// GRU, PyTorch's "reset after" form: `r = σ(gx_r + gh_r)`, `z = σ(gx_z + gh_z)`,
/// `n = tanh(gx_n + r * gh_n)`, `h' = (1 - z) * n + z * h`. `b_hn` sits inside `gh_n`, so the reset gate
/// scales it too, as in PyTorch. `h_next` must not alias `h_prev`.
template <typename T>
void gru_gates(ConstMatrixView<T> gx, ConstMatrixView<T> gh, ConstMatrixView<T> h_prev, MatrixView<T> h_next) {
  const Index H = h_prev.cols();
  auto x_part = [&](Index k) { return gx.middleCols(k * H, H).array(); };
  auto h_part = [&](Index k) { return gh.middleCols(k * H, H).array(); };
  // n goes through h_next so tanh runs once per element; the update is PyTorch's `n + z * (h - n)`.
  h_next.array() = (x_part(2) + (x_part(0) + h_part(0)).logistic() * h_part(2)).tanh();
  h_next.array() += (x_part(1) + h_part(1)).logistic() * (h_prev.array() - h_next.array());
}

/// Pointers to one layer-direction's parameters (or a cell's); biases and weight_hr may be null.
template <typename T>
struct DirectionWeights {
  const T* weight_ih = nullptr;
  const T* weight_hh = nullptr;
  const T* bias_ih = nullptr;
  const T* bias_hh = nullptr;
  const T* weight_hr = nullptr;
  Index input_size = 0;

  static DirectionWeights at(const T* params, const DirectionOffsets& o, Index input_size) {
    auto ptr = [params](Index offset) { return offset < 0 ? nullptr : params + offset; };
    return {ptr(o.weight_ih), ptr(o.weight_hh), ptr(o.bias_ih), ptr(o.bias_hh), ptr(o.weight_hr), input_size};
  }
};

/// Buffers and packed weights for the recurrent half of a step, for up to `batch` rows: everything a step
/// needs, allocated before the time loop starts.
template <typename T>
struct StepWorkspace {
  StepWorkspace(const RecurrentSpec& spec, Index batch)
      : batch(batch),
        gh(static_cast<std::size_t>(batch * spec.gate_size())),
        h_full(static_cast<std::size_t>(spec.proj_size > 0 ? batch * spec.hidden_size : 0)) {}

  /// Packs this layer-direction's W_hh (and W_hr) for the steps that follow.
  void prepare(const RecurrentSpec& spec, const DirectionWeights<T>& w) {
    recurrent.prepare(w.weight_hh, spec.gate_size(), spec.output_size(), batch);
    if (spec.proj_size > 0) projection.prepare(w.weight_hr, spec.proj_size, spec.hidden_size, batch);
  }

  Index batch;
  std::vector<T> gh;
  std::vector<T> h_full;
  PreparedLinear<T> recurrent;
  PreparedLinear<T> projection;
};

/// One time step for a batch: `gh = h_prev W_hh^T + b_hh`, the gate kernel, then (LSTM with proj_size)
/// `h = h_full W_hr^T`, with W_hh and W_hr as `ws.prepare` packed them. `gx_t` is this step's input projection, `c` the `[rows, hidden]` cell state
/// (LSTM only, updated in place), `h_next` may be a strided view into the output sequence. The step
/// covers `gx_t.rows()` rows, at most the workspace's batch (fewer when a packed batch has shrunk).
template <typename T>
void recurrent_step(const RecurrentSpec& spec, const DirectionWeights<T>& w, ConstMatrixView<T> gx_t,
                    ConstMatrixView<T> h_prev, T* c, MatrixView<T> h_next, StepWorkspace<T>& ws) {
  const Index B = gx_t.rows(), G = spec.gate_size(), H = spec.hidden_size;
  MatrixView<T> gh = matrix_view(ws.gh.data(), B, G, G);
  ws.recurrent.run(h_prev, w.bias_hh, gh);
  const ConstMatrixView<T> gh_const = matrix_view(static_cast<const T*>(ws.gh.data()), B, G, G);
  if (spec.kind == CellKind::RNN) {
    rnn_gates<T>(gx_t, gh_const, spec.nonlinearity, h_next);
    return;
  }
  if (spec.kind == CellKind::GRU) {
    gru_gates<T>(gx_t, gh_const, h_prev, h_next);
    return;
  }
  MatrixView<T> c_view = matrix_view(c, B, H, H);
  if (spec.proj_size == 0) {
    lstm_gates<T>(gx_t, gh_const, c_view, h_next);
    return;
  }
  lstm_gates<T>(gx_t, gh_const, c_view, matrix_view(ws.h_full.data(), B, H, H));
  ws.projection.run(matrix_view(static_cast<const T*>(ws.h_full.data()), B, H, H), nullptr, h_next);
}

}  // namespace seqnet::detail
