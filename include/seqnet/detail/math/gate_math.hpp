// SPDX-License-Identifier: MIT
/// @file gate_math.hpp
/// The recurrence's pointwise math, written once for every device: the forward update of one hidden unit
/// (RNN tanh/ReLU, LSTM, GRU in PyTorch's gate order and "reset after" form), the same update recording
/// the activated gates a backward pass needs, and the derivative of that update. Plain scalar code that
/// compiles for the host and, under nvcc, for the device. The CPU's generic gate loop, the host test
/// backend and the CUDA kernels call these functions; the hand-written SIMD kernels
/// (math/simd/gates_*.hpp) are tested against them (tests/test_gates.cpp), and the derivatives against
/// finite differences of the forward form (tests/test_gate_math.cpp).
#pragma once

#include <cmath>

#include "../rnn/spec.hpp"

#if defined(__CUDACC__)
#define SEQNET_HOST_DEVICE __host__ __device__
#else
#define SEQNET_HOST_DEVICE
#endif

namespace seqnet::detail {

/// The largest gate count (LSTM): per-unit gate values fit in fixed arrays of this size.
constexpr int max_gates = 4;
/// Values a unit records per step: its activated gates, plus (GRU) `gh_n = h W_hn^T + b_hn`, which the
/// reset gate multiplies and whose gradient therefore needs it.
SEQNET_HOST_DEVICE constexpr int recorded_gates(CellKind kind) {
  return kind == CellKind::LSTM ? 4 : kind == CellKind::GRU ? 4 : 1;
}
SEQNET_HOST_DEVICE constexpr int gates_of(CellKind kind) {
  return kind == CellKind::LSTM ? 4 : kind == CellKind::GRU ? 3 : 1;
}

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

/// One hidden unit of one batch row. `x[g]` and `h[g]` are its gate pre-activations from the input
/// (`x W_ih^T + b_ih`) and from the hidden state (`h W_hh^T + b_hh`), in PyTorch's gate order (LSTM i, f,
/// g, o; GRU r, z, n). Returns the next hidden value; LSTM updates `*c` in place, GRU reads the previous
/// hidden value `h_prev`. With `record` non-null, also writes what `gate_backward` needs
/// (`recorded_gates(kind)` values): the activated gates, and for GRU `gh_n` after them.
///
///   RNN:  h' = tanh(x + h)  (or max(0, x + h))
///   LSTM: i, f, o = sigmoid(.), g = tanh(.);  c' = f c + i g;  h' = o tanh(c')
///   GRU:  r, z = sigmoid(.);  n = tanh(x_n + r h_n);  h' = (1 - z) n + z h_prev, computed as n + z (h_prev - n)
template <typename T>
SEQNET_HOST_DEVICE T gate_update(CellKind kind, bool relu, const T* x, const T* h, T h_prev, T* c, T* record = nullptr) {
  if (kind == CellKind::LSTM) {
    const T i = sigmoid_of(x[0] + h[0]), f = sigmoid_of(x[1] + h[1]);
    const T g = tanh_of(x[2] + h[2]), o = sigmoid_of(x[3] + h[3]);
    const T c_next = f * *c + i * g;
    *c = c_next;
    if (record != nullptr) {
      record[0] = i;
      record[1] = f;
      record[2] = g;
      record[3] = o;
    }
    return o * tanh_of(c_next);
  }
  if (kind == CellKind::GRU) {
    const T r = sigmoid_of(x[0] + h[0]), z = sigmoid_of(x[1] + h[1]);
    const T n = tanh_of(x[2] + r * h[2]);
    if (record != nullptr) {
      record[0] = r;
      record[1] = z;
      record[2] = n;
      record[3] = h[2];
    }
    return n + z * (h_prev - n);
  }
  const T pre = x[0] + h[0];
  const T next = relu ? (pre > T(0) ? pre : (pre == pre ? T(0) : pre)) : tanh_of(pre);
  if (record != nullptr) record[0] = next;
  return next;
}

/// The derivative of `gate_update` for one unit. In: what it recorded (`record`), the unit's previous
/// hidden value (GRU) and cell states (LSTM: `c_prev`, `c_next`), and the gradients arriving at the
/// step's results, `dh` (at h') and `dc` (at c', LSTM; from the next step). Out:
///   - `d_x[g]`: the gradient at the input-side pre-activation of gate g (`x W_ih^T + b_ih`),
///   - `d_h[g]`: at the hidden-side one (`h W_hh^T + b_hh`); equal to `d_x` but for GRU's n gate,
///     whose hidden part the reset gate scales,
///   - the return value: the gradient that flows to `h_prev` directly (GRU's `z h_prev` term; 0 else),
///   - `*dc_prev` (LSTM): the gradient at the previous cell state.
/// The products `d_x W_ih`, `d_h W_hh` and the weight gradients are the caller's.
template <typename T>
SEQNET_HOST_DEVICE T gate_backward(CellKind kind, bool relu, const T* record, T h_prev, T c_prev, T c_next, T dh, T dc,
                                   T* d_x, T* d_h, T* dc_prev) {
  if (kind == CellKind::LSTM) {
    const T i = record[0], f = record[1], g = record[2], o = record[3];
    const T tc = tanh_of(c_next);
    const T dc_total = dc + dh * o * (T(1) - tc * tc);
    d_x[0] = dc_total * g * i * (T(1) - i);
    d_x[1] = dc_total * c_prev * f * (T(1) - f);
    d_x[2] = dc_total * i * (T(1) - g * g);
    d_x[3] = dh * tc * o * (T(1) - o);
    for (int k = 0; k < 4; ++k) d_h[k] = d_x[k];
    *dc_prev = dc_total * f;
    return T(0);
  }
  if (kind == CellKind::GRU) {
    const T r = record[0], z = record[1], n = record[2], gh_n = record[3];
    const T dn = dh * (T(1) - z) * (T(1) - n * n);
    const T dr = dn * gh_n * r * (T(1) - r);
    const T dz = dh * (h_prev - n) * z * (T(1) - z);
    d_x[0] = d_h[0] = dr;
    d_x[1] = d_h[1] = dz;
    d_x[2] = dn;
    d_h[2] = dn * r;
    return dh * z;
  }
  const T next = record[0];
  d_x[0] = d_h[0] = relu ? (next > T(0) ? dh : T(0)) : dh * (T(1) - next * next);
  return T(0);
}

/// Operands of the pointwise half of a step for `rows` batch rows and `hidden` units. Matrices are
/// row-major with the given leading dimensions; biases, `c` and `record` may be null (no bias / not an
/// LSTM / not recording).
template <typename T>
struct PointwiseArgs {
  CellKind kind = CellKind::RNN;
  bool relu = false;
  Index rows = 0;
  Index hidden = 0;
  const T* gx = nullptr;  ///< [rows, G*hidden]: x W_ih^T (plus b_ih where the backend folded it in)
  Index ld_gx = 0;
  const T* gh = nullptr;  ///< [rows, G*hidden]: h W_hh^T (plus b_hh where folded in)
  Index ld_gh = 0;
  const T* bias_ih = nullptr;
  const T* bias_hh = nullptr;
  const T* h_prev = nullptr;  ///< [rows, hidden] (read by GRU only)
  Index ld_h_prev = 0;
  T* c = nullptr;  ///< [rows, hidden], contiguous, updated in place (LSTM)
  T* h = nullptr;  ///< [rows, hidden]: the result
  Index ld_h = 0;
  T* record = nullptr;  ///< [rows, recorded_gates * hidden], gate-major per row, or null
};

/// Unit `unit` of row `row` with its recurrent pre-activations from `recurrent(g)` (`h W_hh^T`): gathers
/// the input part, adds the biases, applies `gate_update`. The pointwise kernels read `recurrent` from
/// `gh`; the fused CUDA step kernel passes the sums it has just reduced.
template <typename T, typename Recurrent>
SEQNET_HOST_DEVICE void gate_element(const PointwiseArgs<T>& a, Index row, Index unit, const Recurrent& recurrent) {
  const int gates = gates_of(a.kind);
  T x[max_gates], h[max_gates], record[max_gates];
  for (int g = 0; g < gates; ++g) {
    const Index column = g * a.hidden + unit;
    x[g] = a.gx[row * a.ld_gx + column] + (a.bias_ih != nullptr ? a.bias_ih[column] : T(0));
    h[g] = recurrent(g) + (a.bias_hh != nullptr ? a.bias_hh[column] : T(0));
  }
  const T h_prev = a.kind == CellKind::GRU ? a.h_prev[row * a.ld_h_prev + unit] : T(0);
  T* c = a.c != nullptr ? a.c + row * a.hidden + unit : nullptr;
  a.h[row * a.ld_h + unit] = gate_update(a.kind, a.relu, x, h, h_prev, c, a.record != nullptr ? record : nullptr);
  if (a.record != nullptr) {
    const int recorded = recorded_gates(a.kind);
    for (int g = 0; g < recorded; ++g) a.record[row * recorded * a.hidden + g * a.hidden + unit] = record[g];
  }
}

/// Unit `unit` of row `row` of the pointwise half of a step, `gh` holding `h W_hh^T`.
template <typename T>
SEQNET_HOST_DEVICE void pointwise_element(const PointwiseArgs<T>& a, Index row, Index unit) {
  gate_element(a, row, unit, [&](int g) { return a.gh[row * a.ld_gh + g * a.hidden + unit]; });
}

/// Operands of the pointwise half of one step's backward pass for `rows` batch rows and `hidden` units
/// (the inverse of `PointwiseArgs`). Row-major, with the given leading dimensions.
template <typename T>
struct PointwiseBackwardArgs {
  CellKind kind = CellKind::RNN;
  bool relu = false;
  Index rows = 0;
  Index hidden = 0;
  const T* record = nullptr;  ///< [rows, R*hidden]: what the forward step recorded
  const T* h_prev = nullptr;  ///< [rows, hidden] (GRU)
  Index ld_h_prev = 0;
  const T* c_prev = nullptr;  ///< [rows, hidden] (LSTM), contiguous
  const T* c_next = nullptr;  ///< [rows, hidden] (LSTM), contiguous
  /// [rows, hidden]: the gradient at the step's h' (before the projection); overwritten with the
  /// gradient that reaches h_prev directly (GRU's `z h_prev`, zero otherwise), which the caller then adds
  /// `d_h W_hh` to.
  T* dh = nullptr;
  Index ld_dh = 0;
  T* dc = nullptr;    ///< [rows, hidden] (LSTM), contiguous: gradient at c' in, at c_prev out
  T* d_x = nullptr;   ///< [rows, G*hidden]: gradients at the input-side pre-activations
  Index ld_dx = 0;
  T* d_h = nullptr;   ///< [rows, G*hidden]: at the hidden-side pre-activations
  Index ld_dh_gates = 0;
  T* h_full = nullptr;  ///< [rows, hidden] or null: receives o * tanh(c') (LSTM with projection)
  Index ld_h_full = 0;
};

/// Unit `unit` of row `row` of a step's pointwise backward: `gate_backward` on the recorded gates.
template <typename T>
SEQNET_HOST_DEVICE void pointwise_backward_element(const PointwiseBackwardArgs<T>& a, Index row, Index unit) {
  const int gates = gates_of(a.kind), recorded = recorded_gates(a.kind);
  const Index H = a.hidden;
  T record[max_gates], d_x[max_gates], d_h[max_gates];
  for (int g = 0; g < recorded; ++g) record[g] = a.record[row * recorded * H + g * H + unit];
  const bool lstm = a.kind == CellKind::LSTM;
  const T h_prev = a.kind == CellKind::GRU ? a.h_prev[row * a.ld_h_prev + unit] : T(0);
  const T c_prev = lstm ? a.c_prev[row * H + unit] : T(0);
  const T c_next = lstm ? a.c_next[row * H + unit] : T(0);
  T* dh = a.dh + row * a.ld_dh + unit;
  T dc_prev = T(0);
  const T direct = gate_backward(a.kind, a.relu, record, h_prev, c_prev, c_next, *dh,
                                 lstm ? a.dc[row * H + unit] : T(0), d_x, d_h, &dc_prev);
  *dh = direct;
  if (lstm) a.dc[row * H + unit] = dc_prev;
  if (a.h_full != nullptr) a.h_full[row * a.ld_h_full + unit] = record[3] * tanh_of(c_next);
  for (int g = 0; g < gates; ++g) {
    a.d_x[row * a.ld_dx + g * H + unit] = d_x[g];
    a.d_h[row * a.ld_dh_gates + g * H + unit] = d_h[g];
  }
}

}  // namespace seqnet::detail
