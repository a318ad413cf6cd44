// SPDX-License-Identifier: MIT
#pragma once

// The GPU backend's gate math, written once for the device kernels and for the host emulation the
// tests run without a GPU. Nothing here needs CUDA's headers.

#include <cmath>

#include "../../detail/spec.hpp"

#if defined(__CUDACC__)
#define SEQNET_HOST_DEVICE __host__ __device__
#else
#define SEQNET_HOST_DEVICE
#endif

namespace seqnet::cuda::detail {

using seqnet::Index;
using seqnet::detail::CellKind;

/// The largest gate count (LSTM): per-unit gate values fit in fixed arrays of this size.
constexpr int max_gates = 4;

SEQNET_HOST_DEVICE inline float exp_of(float x) {
#if defined(__CUDA_ARCH__)
  return expf(x);
#else
  return std::exp(x);
#endif
}
SEQNET_HOST_DEVICE inline double exp_of(double x) {
#if defined(__CUDA_ARCH__)
  return ::exp(x);
#else
  return std::exp(x);
#endif
}
SEQNET_HOST_DEVICE inline float tanh_of(float x) {
#if defined(__CUDA_ARCH__)
  return tanhf(x);
#else
  return std::tanh(x);
#endif
}
SEQNET_HOST_DEVICE inline double tanh_of(double x) {
#if defined(__CUDA_ARCH__)
  return ::tanh(x);
#else
  return std::tanh(x);
#endif
}
template <typename T>
SEQNET_HOST_DEVICE T sigmoid_of(T x) {
  return T(1) / (T(1) + exp_of(-x));
}

/// One hidden unit of one batch row: from its gate pre-activations `x[g]` (`x W_ih^T + b_ih`) and
/// `h[g]` (`h W_hh^T + b_hh`), in PyTorch's gate order, the next hidden value; LSTM updates `*c` in place
/// and GRU reads the previous hidden value `h_prev`. The same equations as the CPU's gate kernels.
template <typename T>
SEQNET_HOST_DEVICE T gate_update(CellKind kind, bool relu, const T* x, const T* h, T h_prev, T* c) {
  if (kind == CellKind::LSTM) {
    const T i = sigmoid_of(x[0] + h[0]), f = sigmoid_of(x[1] + h[1]);
    const T g = tanh_of(x[2] + h[2]), o = sigmoid_of(x[3] + h[3]);
    const T c_next = f * *c + i * g;
    *c = c_next;
    return o * tanh_of(c_next);
  }
  if (kind == CellKind::GRU) {
    const T r = sigmoid_of(x[0] + h[0]), z = sigmoid_of(x[1] + h[1]);
    const T n = tanh_of(x[2] + r * h[2]);
    return n + z * (h_prev - n);
  }
  const T pre = x[0] + h[0];
  return relu ? (pre > T(0) ? pre : T(0)) : tanh_of(pre);
}

/// Operands of the pointwise half of a step for `rows` batch rows and `hidden` units. Matrices are
/// row-major with the given leading dimensions; biases and `c` may be null (no bias / not an LSTM).
template <typename T>
struct PointwiseArgs {
  CellKind kind = CellKind::RNN;
  bool relu = false;
  Index rows = 0;
  Index hidden = 0;
  const T* gx = nullptr;  ///< [rows, G*hidden]: x W_ih^T (no bias)
  Index ld_gx = 0;
  const T* gh = nullptr;  ///< [rows, G*hidden]: h W_hh^T (no bias)
  Index ld_gh = 0;
  const T* bias_ih = nullptr;
  const T* bias_hh = nullptr;
  const T* h_prev = nullptr;  ///< [rows, hidden] (read by GRU only)
  Index ld_h_prev = 0;
  T* c = nullptr;  ///< [rows, hidden], contiguous, updated in place (LSTM)
  T* h = nullptr;  ///< [rows, hidden]: the result
  Index ld_h = 0;
};

/// Unit `unit` of row `row` with its recurrent pre-activations from `recurrent(g)` (`h W_hh^T`, no
/// bias): gathers the input part, adds the biases, applies `gate_update`. The pointwise kernel reads
/// `recurrent` from `gh`; the fused step kernel passes the sums it has just reduced.
template <typename T, typename Recurrent>
SEQNET_HOST_DEVICE void gate_element(const PointwiseArgs<T>& a, Index row, Index unit, const Recurrent& recurrent) {
  const int gates = a.kind == CellKind::LSTM ? 4 : a.kind == CellKind::GRU ? 3 : 1;
  T x[max_gates], h[max_gates];
  for (int g = 0; g < gates; ++g) {
    const Index column = g * a.hidden + unit;
    x[g] = a.gx[row * a.ld_gx + column] + (a.bias_ih != nullptr ? a.bias_ih[column] : T(0));
    h[g] = recurrent(g) + (a.bias_hh != nullptr ? a.bias_hh[column] : T(0));
  }
  const T h_prev = a.kind == CellKind::GRU ? a.h_prev[row * a.ld_h_prev + unit] : T(0);
  T* c = a.c != nullptr ? a.c + row * a.hidden + unit : nullptr;
  a.h[row * a.ld_h + unit] = gate_update(a.kind, a.relu, x, h, h_prev, c);
}

/// Unit `unit` of row `row` of the pointwise half of a step, `gh` holding `h W_hh^T`.
template <typename T>
SEQNET_HOST_DEVICE void pointwise_element(const PointwiseArgs<T>& a, Index row, Index unit) {
  gate_element(a, row, unit, [&](int g) { return a.gh[row * a.ld_gh + g * a.hidden + unit]; });
}

}  // namespace seqnet::cuda::detail
