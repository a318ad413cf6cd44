// SPDX-License-Identifier: MIT
/// @file gemm_avx2.hpp
/// The packed-GEMM kernel for AVX2 + FMA (fp32: 6 x 16 register tile, fp64: 6 x 8: twelve
/// accumulators out of sixteen registers), compiled with function-level target attributes;
/// packed_gemm.hpp only calls it after `__builtin_cpu_supports("avx2")` and `("fma")`.
#pragma once

#include <array>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "gemm_config.hpp"

#if SEQNET_GEMM_HAVE_X86_KERNELS
#include <immintrin.h>

namespace seqnet::detail::gemm_avx2 {

#define SEQNET_GEMM_TARGET __attribute__((target("avx2,fma")))
inline constexpr GemmKernel this_kernel = GemmKernel::Avx2;

template <typename T>
struct Vec;

template <>
struct Vec<float> {
  using Reg = __m256;
  static constexpr int lanes = 8;
  SEQNET_GEMM_TARGET static Reg zero() { return _mm256_setzero_ps(); }
  SEQNET_GEMM_TARGET static Reg load(const float* p) { return _mm256_loadu_ps(p); }
  SEQNET_GEMM_TARGET static Reg load_pinned(const float* p) {
    Reg x = _mm256_loadu_ps(p);
    SEQNET_GEMM_PIN_REGISTER(x);
    return x;
  }
  SEQNET_GEMM_TARGET static Reg broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  SEQNET_GEMM_TARGET static Reg fmadd(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  SEQNET_GEMM_TARGET static Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
  SEQNET_GEMM_TARGET static void store(float* p, Reg x) { _mm256_storeu_ps(p, x); }
  SEQNET_GEMM_TARGET static __m256i mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  SEQNET_GEMM_TARGET static Reg load_partial(const float* p, int n) { return _mm256_maskload_ps(p, mask(n)); }
  SEQNET_GEMM_TARGET static void store_partial(float* p, Reg x, int n) { _mm256_maskstore_ps(p, mask(n), x); }
  static constexpr bool has_transpose = true;
  /// 8 x 8 block: `to[i * to_stride + j] = from[j * from_stride + i]`.
  SEQNET_GEMM_TARGET static void transpose(const float* from, Eigen::Index from_stride, float* to,
                                           Eigen::Index to_stride) {
    Reg r[8], t[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(from + i * from_stride);
    for (int i = 0; i < 4; ++i) {
      t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; ++i) {
      r[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
      r[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xee);
      r[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
      r[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
    }
    for (int j = 0; j < 4; ++j) {
      t[j] = _mm256_permute2f128_ps(r[j], r[4 + j], 0x20);
      t[4 + j] = _mm256_permute2f128_ps(r[j], r[4 + j], 0x31);
    }
    for (int i = 0; i < 8; ++i) _mm256_storeu_ps(to + i * to_stride, t[i]);
  }
};

template <>
struct Vec<double> {
  using Reg = __m256d;
  static constexpr int lanes = 4;
  SEQNET_GEMM_TARGET static Reg zero() { return _mm256_setzero_pd(); }
  SEQNET_GEMM_TARGET static Reg load(const double* p) { return _mm256_loadu_pd(p); }
  SEQNET_GEMM_TARGET static Reg load_pinned(const double* p) {
    Reg x = _mm256_loadu_pd(p);
    SEQNET_GEMM_PIN_REGISTER(x);
    return x;
  }
  SEQNET_GEMM_TARGET static Reg broadcast(const double* p) { return _mm256_broadcast_sd(p); }
  SEQNET_GEMM_TARGET static Reg fmadd(Reg a, Reg b, Reg c) { return _mm256_fmadd_pd(a, b, c); }
  SEQNET_GEMM_TARGET static Reg add(Reg a, Reg b) { return _mm256_add_pd(a, b); }
  SEQNET_GEMM_TARGET static void store(double* p, Reg x) { _mm256_storeu_pd(p, x); }
  SEQNET_GEMM_TARGET static __m256i mask(int n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  SEQNET_GEMM_TARGET static Reg load_partial(const double* p, int n) { return _mm256_maskload_pd(p, mask(n)); }
  SEQNET_GEMM_TARGET static void store_partial(double* p, Reg x, int n) { _mm256_maskstore_pd(p, mask(n), x); }
  static constexpr bool has_transpose = false;
  static void transpose(const double*, Eigen::Index, double*, Eigen::Index) {}
};

#include "gemm_driver.inl"

#undef SEQNET_GEMM_TARGET

}  // namespace seqnet::detail::gemm_avx2

namespace seqnet::detail {

/// The AVX2 kernel serves one type for input, weight and sums: float or double.
template <typename T>
struct GemmKernelImpl<GemmKernel::Avx2, GemmTypes<T, T, T>,
                      std::enable_if_t<std::is_same_v<T, float> || std::is_same_v<T, double>>> {
  static constexpr bool available = true;
  static void pack_weight(const T* weight, Eigen::Index out_features, Eigen::Index in_features, Eigen::Index stride,
                          T* packed) {
    gemm_avx2::pack_weight<T>(weight, out_features, in_features, stride, packed);
  }
  static void gemm(const GemmProblem<T>& problem) { gemm_avx2::gemm<T>(problem); }
};

}  // namespace seqnet::detail

#endif  // SEQNET_GEMM_HAVE_X86_KERNELS
