// SPDX-License-Identifier: MIT
/// @file gemm_avx512.hpp
/// The packed-GEMM kernel for AVX-512F (fp32: 6 x 64 register tile, fp64: 6 x 32), compiled with
/// function-level target attributes so it exists in builds without -march flags; packed_gemm.hpp only
/// calls it after `__builtin_cpu_supports("avx512f")`.
#pragma once

#include <array>
#include <cstddef>
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
  SEQNET_GEMM_TARGET static Reg broadcast(const float* p) { return _mm512_set1_ps(*p); }
  SEQNET_GEMM_TARGET static Reg fmadd(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  SEQNET_GEMM_TARGET static Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
  SEQNET_GEMM_TARGET static void store(float* p, Reg x) { _mm512_storeu_ps(p, x); }
  SEQNET_GEMM_TARGET static __mmask16 mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  SEQNET_GEMM_TARGET static Reg load_partial(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  SEQNET_GEMM_TARGET static void store_partial(float* p, Reg x, int n) { _mm512_mask_storeu_ps(p, mask(n), x); }
};

template <>
struct Vec<double> {
  using Reg = __m512d;
  static constexpr int lanes = 8;
  SEQNET_GEMM_TARGET static Reg zero() { return _mm512_setzero_pd(); }
  SEQNET_GEMM_TARGET static Reg load(const double* p) { return _mm512_loadu_pd(p); }
  SEQNET_GEMM_TARGET static Reg broadcast(const double* p) { return _mm512_set1_pd(*p); }
  SEQNET_GEMM_TARGET static Reg fmadd(Reg a, Reg b, Reg c) { return _mm512_fmadd_pd(a, b, c); }
  SEQNET_GEMM_TARGET static Reg add(Reg a, Reg b) { return _mm512_add_pd(a, b); }
  SEQNET_GEMM_TARGET static void store(double* p, Reg x) { _mm512_storeu_pd(p, x); }
  SEQNET_GEMM_TARGET static __mmask8 mask(int n) { return static_cast<__mmask8>((1u << n) - 1u); }
  SEQNET_GEMM_TARGET static Reg load_partial(const double* p, int n) { return _mm512_maskz_loadu_pd(mask(n), p); }
  SEQNET_GEMM_TARGET static void store_partial(double* p, Reg x, int n) { _mm512_mask_storeu_pd(p, mask(n), x); }
};

#include "gemm_driver.inl"

#undef SEQNET_GEMM_TARGET

}  // namespace seqnet::detail::gemm_avx512

#endif  // SEQNET_GEMM_HAVE_X86_KERNELS
