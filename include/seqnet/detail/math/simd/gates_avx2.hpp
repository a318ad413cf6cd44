// SPDX-License-Identifier: MIT
/// @file gates_avx2.hpp
/// The fp32 gate kernels (gates_driver.inl) for AVX2 + FMA, compiled with function-level target
/// attributes so they exist in builds without -march flags; gates.hpp calls them only on a CPU that has
/// AVX2 and FMA.
#pragma once

#include <algorithm>
#include <cstring>

#include "gate_rows.hpp"
#include "../../gemm/kernels/gemm_config.hpp"

#if SEQNET_GEMM_HAVE_X86_KERNELS
#include <immintrin.h>

namespace seqnet::detail::gates_avx2 {

#define SEQNET_GATES_TARGET __attribute__((target("avx2,fma")))

struct V {
  using Reg = __m256;
  static constexpr int lanes = 8;
  SEQNET_GATES_TARGET static Reg set1(float x) { return _mm256_set1_ps(x); }
  /// The first `n` lanes of `p` (zeros beyond): a partial vector goes through a zero-padded copy.
  SEQNET_GATES_TARGET static Reg load(const float* p, int n) {
    if (n == lanes) return _mm256_loadu_ps(p);
    float padded[lanes] = {};
    std::memcpy(padded, p, static_cast<std::size_t>(n) * sizeof(float));
    return _mm256_loadu_ps(padded);
  }
  SEQNET_GATES_TARGET static void store(float* p, Reg x, int n) {
    if (n == lanes) {
      _mm256_storeu_ps(p, x);
      return;
    }
    float padded[lanes];
    _mm256_storeu_ps(padded, x);
    std::memcpy(p, padded, static_cast<std::size_t>(n) * sizeof(float));
  }
  SEQNET_GATES_TARGET static Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
  SEQNET_GATES_TARGET static Reg sub(Reg a, Reg b) { return _mm256_sub_ps(a, b); }
  SEQNET_GATES_TARGET static Reg mul(Reg a, Reg b) { return _mm256_mul_ps(a, b); }
  SEQNET_GATES_TARGET static Reg div(Reg a, Reg b) { return _mm256_div_ps(a, b); }
  /// `a * b + c` and `c - a * b`, each rounded once.
  SEQNET_GATES_TARGET static Reg fmadd(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  SEQNET_GATES_TARGET static Reg fnmadd(Reg a, Reg b, Reg c) { return _mm256_fnmadd_ps(a, b, c); }
  /// `min(a, b)` and `max(a, b)`, `a` where either is NaN (as std::min and Eigen's pmin): the x86
  /// instructions return their second operand then, so `b` goes first and a NaN `a` propagates.
  SEQNET_GATES_TARGET static Reg min(Reg a, Reg b) { return _mm256_min_ps(b, a); }
  SEQNET_GATES_TARGET static Reg max(Reg a, Reg b) { return _mm256_max_ps(b, a); }
  SEQNET_GATES_TARGET static Reg abs(Reg x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }
  SEQNET_GATES_TARGET static Reg round(Reg x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  /// `x * 2^n` for integral `n` in [-126, 127]: 2^n built in the exponent field.
  SEQNET_GATES_TARGET static Reg scale2(Reg x, Reg n) {
    const __m256i biased = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_mul_ps(x, _mm256_castsi256_ps(_mm256_slli_epi32(biased, 23)));
  }
  /// `|magnitude|` with the sign of `sign`.
  SEQNET_GATES_TARGET static Reg copysign(Reg magnitude, Reg sign) {
    const Reg sign_bit = _mm256_set1_ps(-0.0f);
    return _mm256_or_ps(_mm256_andnot_ps(sign_bit, magnitude), _mm256_and_ps(sign_bit, sign));
  }
  /// Whether `a < b` in any lane.
  SEQNET_GATES_TARGET static bool any_less(Reg a, Reg b) { return _mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_LT_OQ)) != 0; }
  /// `a < b ? if_less : otherwise`, per lane.
  SEQNET_GATES_TARGET static Reg select_less(Reg a, Reg b, Reg if_less, Reg otherwise) {
    return _mm256_blendv_ps(otherwise, if_less, _mm256_cmp_ps(a, b, _CMP_LT_OQ));
  }
};

#include "gates_driver.inl"

#undef SEQNET_GATES_TARGET

}  // namespace seqnet::detail::gates_avx2

#endif  // SEQNET_GEMM_HAVE_X86_KERNELS
