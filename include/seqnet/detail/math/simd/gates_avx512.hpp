// SPDX-License-Identifier: MIT
/// @file gates_avx512.hpp
/// The fp32 gate kernels (gates_driver.inl) for AVX-512F, compiled with function-level target attributes
/// so they exist in builds without -march flags; gates.hpp calls them only on a CPU that has AVX-512F.
#pragma once

#include <algorithm>

#include "gate_rows.hpp"
#include "../../gemm/kernels/gemm_config.hpp"

#if SEQNET_GEMM_HAVE_X86_KERNELS
#include <immintrin.h>

namespace seqnet::detail::gates_avx512 {

#define SEQNET_GATES_TARGET __attribute__((target("avx512f,avx2,fma")))

struct V {
  using Reg = __m512;
  static constexpr int lanes = 16;
  // The arithmetic uses the masked intrinsics with an all-ones mask: the same instructions, but GCC 12's
  // unmasked ones start from `_mm512_undefined_ps()`, which -Wmaybe-uninitialized flags (GCC bug 105593).
  static constexpr __mmask16 all = 0xFFFF;
  SEQNET_GATES_TARGET static Reg set1(float x) { return _mm512_set1_ps(x); }
  /// The first `n` lanes of `p` (zeros beyond).
  SEQNET_GATES_TARGET static Reg load(const float* p, int n) {
    return n == lanes ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p);
  }
  SEQNET_GATES_TARGET static void store(float* p, Reg x, int n) {
    if (n == lanes) {
      _mm512_storeu_ps(p, x);
    } else {
      _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1u), x);
    }
  }
  SEQNET_GATES_TARGET static Reg add(Reg a, Reg b) { return _mm512_mask_add_ps(a, all, a, b); }
  SEQNET_GATES_TARGET static Reg sub(Reg a, Reg b) { return _mm512_mask_sub_ps(a, all, a, b); }
  SEQNET_GATES_TARGET static Reg mul(Reg a, Reg b) { return _mm512_mask_mul_ps(a, all, a, b); }
  SEQNET_GATES_TARGET static Reg div(Reg a, Reg b) { return _mm512_mask_div_ps(a, all, a, b); }
  /// `a * b + c` and `c - a * b`, each rounded once.
  SEQNET_GATES_TARGET static Reg fmadd(Reg a, Reg b, Reg c) { return _mm512_mask_fmadd_ps(a, all, b, c); }
  SEQNET_GATES_TARGET static Reg fnmadd(Reg a, Reg b, Reg c) { return _mm512_mask_fnmadd_ps(a, all, b, c); }
  /// `min(a, b)` and `max(a, b)`, `a` where either is NaN (as std::min and Eigen's pmin): the x86
  /// instructions return their second operand then, so `b` goes first and a NaN `a` propagates.
  SEQNET_GATES_TARGET static Reg min(Reg a, Reg b) { return _mm512_mask_min_ps(a, all, b, a); }
  SEQNET_GATES_TARGET static Reg max(Reg a, Reg b) { return _mm512_mask_max_ps(a, all, b, a); }
  SEQNET_GATES_TARGET static Reg abs(Reg x) { return _mm512_mask_abs_ps(x, all, x); }
  SEQNET_GATES_TARGET static Reg round(Reg x) {
    return _mm512_mask_roundscale_ps(x, all, x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  /// `x * 2^n` for integral `n` with a normal result.
  SEQNET_GATES_TARGET static Reg scale2(Reg x, Reg n) { return _mm512_mask_scalef_ps(x, all, x, n); }
  /// `|magnitude|` with the sign of `sign`.
  SEQNET_GATES_TARGET static Reg copysign(Reg magnitude, Reg sign) {
    const __m512i sign_bit = _mm512_set1_epi32(static_cast<int>(0x80000000u));
    // Bitwise select (truth table 0xCA: sign_bit ? sign : magnitude).
    return _mm512_castsi512_ps(
        _mm512_ternarylogic_epi32(sign_bit, _mm512_castps_si512(sign), _mm512_castps_si512(magnitude), 0xCA));
  }
  /// Whether `a < b` in any lane.
  SEQNET_GATES_TARGET static bool any_less(Reg a, Reg b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ) != 0; }
  /// `a < b ? if_less : otherwise`, per lane.
  SEQNET_GATES_TARGET static Reg select_less(Reg a, Reg b, Reg if_less, Reg otherwise) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), otherwise, if_less);
  }
};

#include "gates_driver.inl"

#undef SEQNET_GATES_TARGET

}  // namespace seqnet::detail::gates_avx512

#endif  // SEQNET_GEMM_HAVE_X86_KERNELS
