// SPDX-License-Identifier: MIT
/// @file gemm_avx512.hpp
/// The packed-GEMM kernel for AVX-512F (fp32: 6 x 64 register tile, fp64: 6 x 32), compiled with
/// function-level target attributes so it exists in builds without -march flags; packed_gemm.hpp only
/// calls it after `__builtin_cpu_supports("avx512f")`.
#pragma once

#include <array>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "gemm_config.hpp"

#if SEQNET_GEMM_HAVE_X86_KERNELS
#include <immintrin.h>

namespace seqnet::detail::gemm_avx512 {

#define SEQNET_GEMM_TARGET __attribute__((target("avx512f,avx2,fma")))
inline constexpr GemmKernel this_kernel = GemmKernel::Avx512;

template <typename T>
struct Vec;

template <>
struct Vec<float> {
  using Reg = __m512;
  static constexpr int lanes = 16;
  SEQNET_GEMM_TARGET static Reg zero() { return _mm512_setzero_ps(); }
  SEQNET_GEMM_TARGET static Reg load(const float* p) { return _mm512_loadu_ps(p); }
  SEQNET_GEMM_TARGET static Reg load_pinned(const float* p) {
    Reg x = _mm512_loadu_ps(p);
    SEQNET_GEMM_PIN_REGISTER(x);
    return x;
  }
  SEQNET_GEMM_TARGET static Reg broadcast(const float* p) { return _mm512_set1_ps(*p); }
  SEQNET_GEMM_TARGET static Reg fmadd(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  SEQNET_GEMM_TARGET static Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
  SEQNET_GEMM_TARGET static void store(float* p, Reg x) { _mm512_storeu_ps(p, x); }
  SEQNET_GEMM_TARGET static __mmask16 mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  SEQNET_GEMM_TARGET static Reg load_partial(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  SEQNET_GEMM_TARGET static void store_partial(float* p, Reg x, int n) { _mm512_mask_storeu_ps(p, mask(n), x); }
  /// `rows` (1 to 6) rows of 16 elements (`stride` apart) interleaved into a 6-row input tile: `to[k * 6 + r]
  /// = from[r * stride + k]`, zeros for r >= rows (padding the micro-kernel never reads), at ~4x the speed
  /// of element copies. Lane j of output vector v is element g = 16 v + j, i.e. k = g / 6 of row r = g % 6:
  /// one two-source permute per row pair (rows 2p and 2p + 1 want the same indices), then two blends.
  static constexpr bool has_pack6 = true;
  SEQNET_GEMM_TARGET static void pack6(const float* from, Eigen::Index stride, int rows, float* to) {
    alignas(64) static constexpr int index[6][16] = {
        {0, 16, 0, 16, 0, 16, 1, 17, 1, 17, 1, 17, 2, 18, 2, 18},
        {2, 18, 3, 19, 3, 19, 3, 19, 4, 20, 4, 20, 4, 20, 5, 21},
        {5, 21, 5, 21, 6, 22, 6, 22, 6, 22, 7, 23, 7, 23, 7, 23},
        {8, 24, 8, 24, 8, 24, 9, 25, 9, 25, 9, 25, 10, 26, 10, 26},
        {10, 26, 11, 27, 11, 27, 11, 27, 12, 28, 12, 28, 12, 28, 13, 29},
        {13, 29, 13, 29, 14, 30, 14, 30, 14, 30, 15, 31, 15, 31, 15, 31}};
    static constexpr __mmask16 rows23[6] = {0xc30c, 0x0c30, 0x30c3, 0xc30c, 0x0c30, 0x30c3};
    static constexpr __mmask16 rows45[6] = {0x0c30, 0x30c3, 0xc30c, 0x0c30, 0x30c3, 0xc30c};
    Reg r[6];
    for (int i = 0; i < 6; ++i) r[i] = i < rows ? _mm512_loadu_ps(from + i * stride) : _mm512_setzero_ps();
    for (int v = 0; v < 6; ++v) {
      const __m512i idx = _mm512_load_si512(index[v]);
      const Reg x = _mm512_permutex2var_ps(r[0], idx, r[1]);
      const Reg y = _mm512_permutex2var_ps(r[2], idx, r[3]);
      const Reg z = _mm512_permutex2var_ps(r[4], idx, r[5]);
      _mm512_storeu_ps(to + 16 * v, _mm512_mask_blend_ps(rows45[v], _mm512_mask_blend_ps(rows23[v], x, y), z));
    }
  }
  static constexpr bool has_transpose = true;
  /// 16 x 16 block: `to[i * to_stride + j] = from[j * from_stride + i]` (packing the weight at ~4x the
  /// speed of element copies). The shuffles are the masked forms with an all-ones mask: the same
  /// instructions, but GCC 12's unmasked ones start from `_mm512_undefined_ps()`, which -Wuninitialized
  /// flags (GCC bug 105593).
  SEQNET_GEMM_TARGET static void transpose(const float* from, Eigen::Index from_stride, float* to,
                                           Eigen::Index to_stride) {
    constexpr __mmask16 all = 0xFFFF;
    Reg r[16], t[16];
    for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(from + i * from_stride);
    for (int i = 0; i < 8; ++i) {  // interleave single elements of row pairs
      t[2 * i] = _mm512_mask_unpacklo_ps(r[2 * i], all, r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm512_mask_unpackhi_ps(r[2 * i], all, r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; ++i) {  // interleave element pairs
      const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
      const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
      r[4 * i] = _mm512_castpd_ps(_mm512_mask_unpacklo_pd(a, 0xFF, a, c));
      r[4 * i + 1] = _mm512_castpd_ps(_mm512_mask_unpackhi_pd(a, 0xFF, a, c));
      r[4 * i + 2] = _mm512_castpd_ps(_mm512_mask_unpacklo_pd(b, 0xFF, b, d));
      r[4 * i + 3] = _mm512_castpd_ps(_mm512_mask_unpackhi_pd(b, 0xFF, b, d));
    }
    for (int i = 0; i < 2; ++i) {  // 128-bit quarters
      for (int j = 0; j < 4; ++j) {
        t[8 * i + j] = _mm512_mask_shuffle_f32x4(r[8 * i + j], all, r[8 * i + j], r[8 * i + 4 + j], 0x88);
        t[8 * i + 4 + j] = _mm512_mask_shuffle_f32x4(r[8 * i + j], all, r[8 * i + j], r[8 * i + 4 + j], 0xdd);
      }
    }
    for (int j = 0; j < 8; ++j) {  // 256-bit halves
      r[j] = _mm512_mask_shuffle_f32x4(t[j], all, t[j], t[8 + j], 0x88);
      r[8 + j] = _mm512_mask_shuffle_f32x4(t[j], all, t[j], t[8 + j], 0xdd);
    }
    for (int i = 0; i < 16; ++i) _mm512_storeu_ps(to + i * to_stride, r[i]);
  }
};

template <>
struct Vec<double> {
  using Reg = __m512d;
  static constexpr int lanes = 8;
  SEQNET_GEMM_TARGET static Reg zero() { return _mm512_setzero_pd(); }
  SEQNET_GEMM_TARGET static Reg load(const double* p) { return _mm512_loadu_pd(p); }
  SEQNET_GEMM_TARGET static Reg load_pinned(const double* p) {
    Reg x = _mm512_loadu_pd(p);
    SEQNET_GEMM_PIN_REGISTER(x);
    return x;
  }
  SEQNET_GEMM_TARGET static Reg broadcast(const double* p) { return _mm512_set1_pd(*p); }
  SEQNET_GEMM_TARGET static Reg fmadd(Reg a, Reg b, Reg c) { return _mm512_fmadd_pd(a, b, c); }
  SEQNET_GEMM_TARGET static Reg add(Reg a, Reg b) { return _mm512_add_pd(a, b); }
  SEQNET_GEMM_TARGET static void store(double* p, Reg x) { _mm512_storeu_pd(p, x); }
  SEQNET_GEMM_TARGET static __mmask8 mask(int n) { return static_cast<__mmask8>((1u << n) - 1u); }
  SEQNET_GEMM_TARGET static Reg load_partial(const double* p, int n) { return _mm512_maskz_loadu_pd(mask(n), p); }
  SEQNET_GEMM_TARGET static void store_partial(double* p, Reg x, int n) { _mm512_mask_storeu_pd(p, mask(n), x); }
  static constexpr bool has_transpose = false;
  static void transpose(const double*, Eigen::Index, double*, Eigen::Index) {}
};

#include "gemm_driver.inl"

#undef SEQNET_GEMM_TARGET

}  // namespace seqnet::detail::gemm_avx512

namespace seqnet::detail {

/// The AVX-512 kernel serves one type for input, weight and sums: float or double.
template <typename T>
struct GemmKernelImpl<GemmKernel::Avx512, GemmTypes<T, T, T>,
                      std::enable_if_t<std::is_same_v<T, float> || std::is_same_v<T, double>>> {
  static constexpr bool available = true;
  static void pack_weight(const T* weight, Eigen::Index out_features, Eigen::Index in_features, Eigen::Index stride,
                          T* packed) {
    gemm_avx512::pack_weight<T>(weight, out_features, in_features, stride, packed);
  }
  static void gemm(const GemmProblem<T>& problem) { gemm_avx512::gemm<T>(problem); }
};

}  // namespace seqnet::detail

#endif  // SEQNET_GEMM_HAVE_X86_KERNELS
