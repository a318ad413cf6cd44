// SPDX-License-Identifier: MIT
/// @file gemm_avx2.hpp
/// The packed-GEMM kernel for AVX2 + FMA (fp32: 6 x 16 register tile, fp64: 6 x 8: twelve
/// accumulators out of sixteen registers), compiled with function-level target attributes;
/// packed_gemm.hpp only calls it after `__builtin_cpu_supports("avx2")` and `("fma")`.
#pragma once

#include <array>
#include <cstddef>
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
  SEQNET_GEMM_TARGET static Reg broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  SEQNET_GEMM_TARGET static Reg fmadd(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  SEQNET_GEMM_TARGET static Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
  SEQNET_GEMM_TARGET static void store(float* p, Reg x) { _mm256_storeu_ps(p, x); }
  SEQNET_GEMM_TARGET static __m256i mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  SEQNET_GEMM_TARGET static Reg load_partial(const float* p, int n) { return _mm256_maskload_ps(p, mask(n)); }
  SEQNET_GEMM_TARGET static void store_partial(float* p, Reg x, int n) { _mm256_maskstore_ps(p, mask(n), x); }
};

template <>
struct Vec<double> {
  using Reg = __m256d;
  static constexpr int lanes = 4;
  SEQNET_GEMM_TARGET static Reg zero() { return _mm256_setzero_pd(); }
  SEQNET_GEMM_TARGET static Reg load(const double* p) { return _mm256_loadu_pd(p); }
  SEQNET_GEMM_TARGET static Reg broadcast(const double* p) { return _mm256_broadcast_sd(p); }
  SEQNET_GEMM_TARGET static Reg fmadd(Reg a, Reg b, Reg c) { return _mm256_fmadd_pd(a, b, c); }
  SEQNET_GEMM_TARGET static Reg add(Reg a, Reg b) { return _mm256_add_pd(a, b); }
  SEQNET_GEMM_TARGET static void store(double* p, Reg x) { _mm256_storeu_pd(p, x); }
  SEQNET_GEMM_TARGET static __m256i mask(int n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  SEQNET_GEMM_TARGET static Reg load_partial(const double* p, int n) { return _mm256_maskload_pd(p, mask(n)); }
  SEQNET_GEMM_TARGET static void store_partial(double* p, Reg x, int n) { _mm256_maskstore_pd(p, mask(n), x); }
};

#include "gemm_driver.inl"

#undef SEQNET_GEMM_TARGET

}  // namespace seqnet::detail::gemm_avx2

#endif  // SEQNET_GEMM_HAVE_X86_KERNELS
