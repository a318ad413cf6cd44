// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>

#include "gemm.hpp"
#include "kernels/gates_avx2.hpp"
#include "kernels/gates_avx512.hpp"
#include "kernels/gates_config.hpp"
#include "spec.hpp"
#include "thread_pool.hpp"

namespace seqnet::detail {

/// Runs the fused fp32 kernel of `kind` (tanh RNN, LSTM, GRU) for the instruction set the packed GEMM
/// chose on this CPU (AVX-512F or AVX2 + FMA, compiled with target attributes, so a default build
/// without -march flags has them). False where there is none: the caller's Eigen expression runs, as
/// for double, whose golden tolerance (1e-10) is beyond the kernels' approximations. Defining
/// SEQNET_EIGEN_GATES keeps Eigen's expressions for fp32 too (for comparisons).
inline bool simd_gates(CellKind kind, const GateRows& rows) {
#if SEQNET_GEMM_HAVE_X86_KERNELS && !defined(SEQNET_EIGEN_GATES)
  switch (best_gemm_kernel()) {
    case GemmKernel::Avx512:
      kind == CellKind::LSTM  ? gates_avx512::lstm(rows)
      : kind == CellKind::GRU ? gates_avx512::gru(rows)
                              : gates_avx512::rnn_tanh(rows);
      return true;
    case GemmKernel::Avx2:
      kind == CellKind::LSTM  ? gates_avx2::lstm(rows)
      : kind == CellKind::GRU ? gates_avx2::gru(rows)
                              : gates_avx2::rnn_tanh(rows);
      return true;
    default: break;
  }
#else
  (void)kind;
  (void)rows;
#endif
  return false;
}

/// The fused pointwise gate kernels: the only place the recurrence math lives. Both the cells and
/// the layer loop call them. `gx` holds `x W_ih^T + b_ih`, `gh` holds `h W_hh^T + b_hh`, both `[batch, G*H]`
/// with PyTorch's gate order (LSTM: i, f, g, o; GRU: r, z, n). fp32 runs the vector kernels of
/// kernels/gates_driver.inl where the CPU has them, everything else Eigen's expressions below.
template <typename T>
void rnn_gates(ConstMatrixView<T> gx, ConstMatrixView<T> gh, Nonlinearity nonlinearity, MatrixView<T> h_next) {
  if (nonlinearity == Nonlinearity::Relu) {
    h_next = (gx + gh).cwiseMax(T(0));
    return;
  }
  if constexpr (std::is_same_v<T, float>) {
    if (simd_gates(CellKind::RNN, {gx.rows(), h_next.cols(), gx.data(), gx.outerStride(), gh.data(), gh.outerStride(),
                                   nullptr, 0, nullptr, 0, h_next.data(), h_next.outerStride()}))
      return;
  }
  h_next.array() = (gx.array() + gh.array()).tanh();
}

/// LSTM: `c' = f*c + i*g`, `h' = o*tanh(c')`; `c` is updated in place.
template <typename T>
void lstm_gates(ConstMatrixView<T> gx, ConstMatrixView<T> gh, MatrixView<T> c, MatrixView<T> h_next) {
  const Index H = c.cols();
  if constexpr (std::is_same_v<T, float>) {
    if (simd_gates(CellKind::LSTM, {gx.rows(), H, gx.data(), gx.outerStride(), gh.data(), gh.outerStride(), c.data(),
                                    c.outerStride(), nullptr, 0, h_next.data(), h_next.outerStride()}))
      return;
  }
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
  if constexpr (std::is_same_v<T, float>) {
    if (simd_gates(CellKind::GRU, {gx.rows(), H, gx.data(), gx.outerStride(), gh.data(), gh.outerStride(), nullptr, 0,
                                   h_prev.data(), h_prev.outerStride(), h_next.data(), h_next.outerStride()}))
      return;
  }
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

/// Buffers for the recurrent half of a step, for up to `batch` rows, allocated before the time loop starts.
template <typename T>
struct StepWorkspace {
  StepWorkspace(const RecurrentSpec& spec, Index batch)
      : batch(batch),
        gh(static_cast<std::size_t>(batch * spec.gate_size())),
        h_full(static_cast<std::size_t>(spec.proj_size > 0 ? batch * spec.hidden_size : 0)) {}

  Index batch;
  AlignedVector<T> gh;
  AlignedVector<T> h_full;
};

/// One layer-direction's (or a cell's) weights ready for its products: W_ih, W_hh and W_hr.
template <typename T>
struct PackedDirection {
  PreparedLinear<T> input;
  PreparedLinear<T> recurrent;
  PreparedLinear<T> projection;

  /// Takes the current weights; `reused` as for `PreparedLinear::pack` (false for a single cell step).
  void pack(const RecurrentSpec& spec, const DirectionWeights<T>& w, bool reused = true) {
    input.pack(w.weight_ih, spec.gate_size(), w.input_size, reused);
    recurrent.pack(w.weight_hh, spec.gate_size(), spec.output_size(), reused);
    if (spec.proj_size > 0) projection.pack(w.weight_hr, spec.proj_size, spec.hidden_size, reused);
  }
  /// Sizes the products for `input_rows` rows of input projection and `batch` rows per step.
  void reserve(const RecurrentSpec& spec, Index input_rows, Index batch) {
    input.reserve(input_rows);
    recurrent.reserve(batch);
    if (spec.proj_size > 0) projection.reserve(batch);
  }
  Index workspace_size() const {
    return std::max({input.workspace_size(), recurrent.workspace_size(), projection.workspace_size()});
  }
};

/// Rows `[begin, end)` of a view.
template <typename View>
View row_range(View view, Index begin, Index end) {
  return View(view.data() + begin * view.outerStride(), end - begin, view.cols(), Eigen::OuterStride<>(view.outerStride()));
}

/// How a step's work is shared: this thread's index among `threads`, meeting at `barrier` (null for one
/// thread). Products split their output columns by whole panels and the gates split the batch rows, so
/// every element is computed the same way whatever the thread count: results are bitwise identical.
template <typename T>
struct StepTeam {
  int thread = 0;
  int threads = 1;
  SpinBarrier* barrier = nullptr;
  T* gemm_workspace = nullptr;  ///< this thread's packing space (null: the products' own, thread 0 only)

  void sync() const {
    if (barrier != nullptr) barrier->arrive_and_wait();
  }
  /// This thread's share `[begin, end)` of `count` units.
  std::pair<Index, Index> share(Index count) const {
    return {count * thread / threads, count * (thread + 1) / threads};
  }
  void run(PreparedLinear<T>& product, ConstMatrixView<T> input, const T* bias, MatrixView<T> out) const {
    const auto [begin, end] = share(product.panels());
    product.run_panels(input, bias, out, begin, end, gemm_workspace);
  }
  /// As `run`, but a product with enough rows for whole row blocks per thread (a layer's input
  /// projection over all steps) is split by rows instead: split by columns, every thread would pack
  /// every input row. Either way each element is computed as on one thread (a row's result never
  /// depends on the rows around it), so the bits do not change.
  void run_tall(PreparedLinear<T>& product, ConstMatrixView<T> input, const T* bias, MatrixView<T> out) const {
    constexpr Index unit = 144;  // the AVX-512 row block, a multiple of every kernel's register tile rows
    const Index units = (input.rows() + unit - 1) / unit;
    if (threads == 1 || !product.packed() || units < 2 * threads) {
      run(product, input, bias, out);
      return;
    }
    const auto [first, last] = share(units);
    const Index begin = first * unit, end = std::min(last * unit, input.rows());
    product.run_panels(row_range(input, begin, end), bias, row_range(out, begin, end), 0, product.panels(),
                       gemm_workspace);
  }
};

/// One time step for a batch: `gh = h_prev W_hh^T + b_hh`, the gate kernel, then (LSTM with proj_size)
/// `h = h_full W_hr^T`, with W_hh and W_hr from `weights`. `gx_t` is this step's input
/// projection, `c` the `[rows, hidden]` cell state (LSTM only, updated in place), `h_next` may be a strided
/// view into the output sequence. The step covers `gx_t.rows()` rows, at most the workspace's batch
/// (fewer when a packed batch has shrunk). Every thread of `team` calls it; it returns before `h_next`
/// is complete on other threads, so callers sync before reading it.
template <typename T>
void recurrent_step(const RecurrentSpec& spec, const DirectionWeights<T>& w, ConstMatrixView<T> gx_t,
                    ConstMatrixView<T> h_prev, T* c, MatrixView<T> h_next, StepWorkspace<T>& ws,
                    PackedDirection<T>& weights, const StepTeam<T>& team = {}) {
  const Index B = gx_t.rows(), G = spec.gate_size(), H = spec.hidden_size;
  MatrixView<T> gh = matrix_view(ws.gh.data(), B, G, G);
  team.run(weights.recurrent, h_prev, w.bias_hh, gh);
  team.sync();

  const auto [r0, r1] = team.share(B);
  const ConstMatrixView<T> gx_rows = row_range(gx_t, r0, r1), gh_rows = row_range(as_const(gh), r0, r1);
  MatrixView<T> h_target = spec.proj_size > 0 ? matrix_view(ws.h_full.data(), B, H, H) : h_next;
  if (spec.kind == CellKind::RNN) {
    rnn_gates<T>(gx_rows, gh_rows, spec.nonlinearity, row_range(h_target, r0, r1));
  } else if (spec.kind == CellKind::GRU) {
    gru_gates<T>(gx_rows, gh_rows, row_range(h_prev, r0, r1), row_range(h_target, r0, r1));
  } else {
    lstm_gates<T>(gx_rows, gh_rows, matrix_view(c + r0 * H, r1 - r0, H, H), row_range(h_target, r0, r1));
  }
  if (spec.proj_size > 0) {
    team.sync();
    team.run(weights.projection, matrix_view(static_cast<const T*>(ws.h_full.data()), B, H, H), nullptr, h_next);
  }
}

}  // namespace seqnet::detail
