// SPDX-License-Identifier: MIT
/// @file cpu_gates.hpp
/// The pointwise half of a step on the CPU: the fused fp32 SIMD kernels (math/simd/) where the CPU has
/// them, else gate_math.hpp's `pointwise_element`, the one definition of the equations, element by
/// element (double, other scalar types, recording runs, ReLU, and builds or CPUs without the kernels).
#pragma once

#include <type_traits>

#include "../gemm/kernels/gemm_config.hpp"
#include "../gemm/packed.hpp"
#include "gate_math.hpp"
#include "simd/gate_rows.hpp"
#include "simd/gates_avx2.hpp"
#include "simd/gates_avx512.hpp"

namespace seqnet::detail {

/// Runs the fused fp32 kernel of `kind` (tanh RNN, LSTM, GRU) for the instruction set the packed GEMM
/// chose on this CPU (AVX-512F or AVX2 + FMA, compiled with target attributes, so a default build
/// without -march flags has them). False where there is none. Defining SEQNET_EIGEN_GATES (historical
/// name) keeps the generic element-wise code for fp32 too.
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

/// Rows `[r0, r1)` of a step's pointwise half (`a.c` rows `hidden` apart). Every row is computed the same
/// way whichever rows a call covers, so splitting the rows among threads does not change any bit.
template <typename T>
void cpu_pointwise(const PointwiseArgs<T>& a, Index r0, Index r1) {
  if (r0 >= r1) return;
  if constexpr (std::is_same_v<T, float>) {
    const bool plain = a.record == nullptr && a.bias_ih == nullptr && a.bias_hh == nullptr && !a.relu;
    if (plain) {
      const GateRows rows{r1 - r0,
                          a.hidden,
                          a.gx + r0 * a.ld_gx,
                          a.ld_gx,
                          a.gh + r0 * a.ld_gh,
                          a.ld_gh,
                          a.c != nullptr ? a.c + r0 * a.hidden : nullptr,
                          a.hidden,
                          a.h_prev != nullptr ? a.h_prev + r0 * a.ld_h_prev : nullptr,
                          a.ld_h_prev,
                          a.h + r0 * a.ld_h,
                          a.ld_h};
      if (simd_gates(a.kind, rows)) return;
    }
  }
  for (Index row = r0; row < r1; ++row)
    for (Index unit = 0; unit < a.hidden; ++unit) pointwise_element(a, row, unit);
}

}  // namespace seqnet::detail
