// SPDX-License-Identifier: MIT
/// @file tiny_step.hpp
/// `TinyStep<T>`: one time step of one layer for a single row (batch 1) of a small recurrent layer, as a
/// real-time loop runs it one sample at a time. It needs nothing but its packed weights and the gate
/// kernels: no workspace, no thread pool, no allocation after `pack`.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "../gemm/linear.hpp"
#include "../math/cpu_gates.hpp"
#include "../gemm/kernels/gemm_avx2.hpp"
#include "../gemm/kernels/gemm_avx512.hpp"
#include "../gemm/packed.hpp"
#include "layout.hpp"
#include "spec.hpp"

namespace seqnet::detail {

#if SEQNET_GEMM_HAVE_X86_KERNELS
namespace tiny_avx512 {
using gemm_avx512::Vec;
#define SEQNET_TINY_TARGET __attribute__((target("avx512f,avx2,fma")))
#include "../gemm/kernels/tiny_gemv.inl"
#undef SEQNET_TINY_TARGET
}  // namespace tiny_avx512
namespace tiny_avx2 {
using gemm_avx2::Vec;
#define SEQNET_TINY_TARGET __attribute__((target("avx2,fma")))
#include "../gemm/kernels/tiny_gemv.inl"
#undef SEQNET_TINY_TARGET
}  // namespace tiny_avx2
#endif

/// A layer's weights laid out for single-row steps, and the step itself. Where the general step runs two
/// products (`x W_ih^T + b_ih` and `h W_hh^T + b_hh`, each through the blocked GEMM) and then the gates,
/// this one runs one product of `[x, h]` with the combined `[W_ih | W_hh]` (stored transposed, one
/// contiguous row of gate outputs per input element, so the product keeps every output in a register)
/// with the biases added up front, then the same gate kernels. GRU's `n` gate needs its two halves apart
/// (the reset gate scales only the `h` half), so its product has a fourth block of rows: `x W_in^T` and
/// `h W_hn^T` come out separately.
///
/// The sums run in another order than the general path's, so the results equal it up to rounding, not
/// bit for bit. A step never depends on the thread count.
template <typename T>
class TinyStep {
 public:
  /// Whether a step of `batch` rows takes this path: one row, no projection, and a step small enough
  /// that the general path would keep it on one thread too (its `step_threads` bound, fixed here so
  /// the choice never depends on the thread count).
  static bool suits(const RecurrentSpec& spec, Index batch) {
    return batch == 1 && spec.proj_size == 0 && spec.gate_size() * spec.output_size() < (Index(1) << 17);
  }

  /// Lays out the weights of one layer-direction (or a cell) whose input has `input_size` features.
  void pack(const RecurrentSpec& spec, const DirectionWeights<T>& w) {
    kind_ = spec.kind;
    nonlinearity_ = spec.nonlinearity;
    input_ = w.input_size;
    hidden_ = spec.hidden_size;
    const Index H = hidden_, G = spec.gate_size(), depth = input_ + H;
    const bool gru = kind_ == CellKind::GRU;
    rows_ = gru ? G + H : G;
    constexpr Index widest_vector = 64 / sizeof(T);  // whatever kernel runs, rows are whole vectors
    ld_ = (rows_ + widest_vector - 1) / widest_vector * widest_vector;
    weights_.assign(static_cast<std::size_t>(depth * ld_ + widest_vector), T(0));
    bias_.assign(static_cast<std::size_t>(ld_), T(0));
    z_.assign(static_cast<std::size_t>(depth), T(0));
    gates_.assign(static_cast<std::size_t>(ld_), T(0));
    zeros_.assign(static_cast<std::size_t>(G), T(0));
    // Row r of the product: gate output r. GRU: rows [0, 2H) r and z from both inputs, [2H, 3H) n from x,
    // [3H, 4H) n from h.
    T* packed = aligned_weights();
    for (Index k = 0; k < input_; ++k)
      for (Index r = 0; r < G; ++r) packed[k * ld_ + r] = w.weight_ih[r * input_ + k];
    for (Index k = 0; k < H; ++k)
      for (Index r = 0; r < G; ++r) packed[(input_ + k) * ld_ + (gru && r >= 2 * H ? r + H : r)] = w.weight_hh[r * H + k];
    if (w.bias_ih != nullptr) {
      for (Index r = 0; r < G; ++r) bias_[static_cast<std::size_t>(r)] += w.bias_ih[r];
      for (Index r = 0; r < G; ++r) bias_[static_cast<std::size_t>(gru && r >= 2 * H ? r + H : r)] += w.bias_hh[r];
    }
  }

  /// `x` `[input_size]` and `h_prev` `[H]` (null: zero) in, `h_next` `[H]` out (it may be `h_prev`
  /// itself); `c` `[H]` is LSTM's cell state, updated in place.
  void step(const T* x, const T* h_prev, T* c, T* h_next) {
    const Index H = hidden_, G = static_cast<Index>(zeros_.size());
    std::copy(x, x + input_, z_.begin());
    if (h_prev != nullptr) {
      std::copy(h_prev, h_prev + H, z_.begin() + input_);
    } else {
      std::fill(z_.begin() + input_, z_.end(), T(0));
    }
    product();
    PointwiseArgs<T> a;
    a.kind = kind_;
    a.relu = nonlinearity_ == Nonlinearity::Relu;
    a.rows = 1;
    a.hidden = H;
    a.gx = gates_.data();
    a.ld_gx = G;
    a.gh = zeros_.data();
    a.ld_gh = G;
    a.h_prev = z_.data() + input_;
    a.ld_h_prev = H;
    a.c = c;
    a.h = h_next;
    a.ld_h = H;
    if (kind_ == CellKind::GRU) {
      // gh is zero but for its n block, h W_hn^T + b_hn (the product's fourth block).
      std::copy(gates_.begin() + 3 * H, gates_.begin() + 4 * H, zeros_.begin() + 2 * H);
      cpu_pointwise(a, 0, 1);
      std::fill(zeros_.begin() + 2 * H, zeros_.end(), T(0));
    } else {
      cpu_pointwise(a, 0, 1);
    }
  }

 private:
  /// The packed weights start on a 64-byte boundary, so no vector load of them straddles two cache
  /// lines. Found from the buffer at each use: a copied or moved TinyStep keeps no stale pointer.
  T* aligned_weights() {
    const auto address = reinterpret_cast<std::uintptr_t>(weights_.data());
    return weights_.data() + ((64 - address % 64) % 64) / sizeof(T);
  }

  /// `gates = bias + sum_k z[k] * weights[k]`.
  void product() {
    const Index depth = static_cast<Index>(z_.size());
#if SEQNET_GEMM_HAVE_X86_KERNELS
    switch (best_gemm_kernel()) {
      case GemmKernel::Avx512:
        tiny_avx512::tiny_gemv(aligned_weights(), ld_, z_.data(), depth, bias_.data(), gates_.data());
        return;
      case GemmKernel::Avx2:
        tiny_avx2::tiny_gemv(aligned_weights(), ld_, z_.data(), depth, bias_.data(), gates_.data());
        return;
      default: break;
    }
#endif
    using ColumnMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
    using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
    Eigen::Map<Vector> out(gates_.data(), ld_);
    out = Eigen::Map<const Vector>(bias_.data(), ld_);
    out.noalias() += Eigen::Map<const ColumnMajor>(aligned_weights(), ld_, depth) * Eigen::Map<const Vector>(z_.data(), depth);
  }

  CellKind kind_ = CellKind::LSTM;
  Nonlinearity nonlinearity_ = Nonlinearity::Tanh;
  Index input_ = 0, hidden_ = 0, rows_ = 0, ld_ = 0;
  std::vector<T> weights_;  ///< [input + H, ld] from a 64-byte boundary: row k holds every gate output's weight for input element k
  std::vector<T> bias_;     ///< [ld]: b_ih + b_hh (GRU's n block: b_in and b_hn apart)
  std::vector<T> z_;        ///< [input + H]: this step's x and h_prev side by side
  std::vector<T> gates_;    ///< [ld]: the product
  std::vector<T> zeros_;    ///< [G]: the gate kernels' gh, zero (GRU: but for its n block during a step)
};

}  // namespace seqnet::detail
