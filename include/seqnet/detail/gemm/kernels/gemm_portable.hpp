// SPDX-License-Identifier: MIT
/// @file gemm_portable.hpp
/// The packed-GEMM kernel in plain C++ (any compiler, any architecture): the same tiles and loops as
/// the SIMD kernels, with "vectors" that are small arrays the compiler may vectorize for whatever
/// target it was given. Used where no SIMD kernel is compiled in or supported by the CPU.
#pragma once

#include <array>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "gemm_config.hpp"

namespace seqnet::detail::gemm_portable {

#define SEQNET_GEMM_TARGET inline
inline constexpr GemmKernel this_kernel = GemmKernel::Portable;

template <typename T>
struct Vec {
  static constexpr int lanes = gemm_tile<T>(GemmKernel::Portable).lanes;
  static constexpr bool has_transpose = false;
  static void transpose(const T*, Eigen::Index, T*, Eigen::Index) {}
  struct Reg {
    T v[lanes];
  };
  static Reg zero() {
    Reg r;
    for (int i = 0; i < lanes; ++i) r.v[i] = T(0);
    return r;
  }
  static Reg load(const T* p) {
    Reg r;
    for (int i = 0; i < lanes; ++i) r.v[i] = p[i];
    return r;
  }
  static Reg load_pinned(const T* p) { return load(p); }
  static Reg broadcast(const T* p) {
    Reg r;
    for (int i = 0; i < lanes; ++i) r.v[i] = *p;
    return r;
  }
  static Reg fmadd(const Reg& a, const Reg& b, const Reg& c) {
    Reg r;
    for (int i = 0; i < lanes; ++i) r.v[i] = a.v[i] * b.v[i] + c.v[i];
    return r;
  }
  static Reg add(const Reg& a, const Reg& b) {
    Reg r;
    for (int i = 0; i < lanes; ++i) r.v[i] = a.v[i] + b.v[i];
    return r;
  }
  static void store(T* p, const Reg& x) {
    for (int i = 0; i < lanes; ++i) p[i] = x.v[i];
  }
  static Reg load_partial(const T* p, int n) {
    Reg r = zero();
    for (int i = 0; i < n; ++i) r.v[i] = p[i];
    return r;
  }
  static void store_partial(T* p, const Reg& x, int n) {
    for (int i = 0; i < n; ++i) p[i] = x.v[i];
  }
};

#include "gemm_driver.inl"

#undef SEQNET_GEMM_TARGET

}  // namespace seqnet::detail::gemm_portable

namespace seqnet::detail {

/// The portable kernel serves one type for input, weight and sums: float or double.
template <typename T>
struct GemmKernelImpl<GemmKernel::Portable, GemmTypes<T, T, T>,
                      std::enable_if_t<std::is_same_v<T, float> || std::is_same_v<T, double>>> {
  static constexpr bool available = true;
  static void pack_weight(const T* weight, Eigen::Index out_features, Eigen::Index in_features, Eigen::Index stride,
                          T* packed) {
    gemm_portable::pack_weight<T>(weight, out_features, in_features, stride, packed);
  }
  static void gemm(const GemmProblem<T>& problem) { gemm_portable::gemm<T>(problem); }
};

}  // namespace seqnet::detail
