// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

#include "tensor.hpp"

namespace seqnet {

/// A seedable random source for parameter initialisation, dropout masks and the `rand`/`randn` helpers.
/// Draws are defined bit for bit (mt19937_64 plus fixed conversions), so a seed gives the same numbers
/// on every platform and compiler. Not thread-safe: give each thread its own generator.
class Generator {
 public:
  /// PyTorch's default CPU seed, so an unseeded program is deterministic as in PyTorch.
  static constexpr std::uint64_t default_seed = 67280421310721ULL;

  explicit Generator(std::uint64_t seed = default_seed) : engine_(seed) {}

  /// Restarts the stream from `seed` (like `torch.manual_seed`).
  void manual_seed(std::uint64_t seed) {
    engine_.seed(seed);
    has_spare_normal_ = false;
  }

  /// Uniform in [0, 1) with 53 random bits.
  double uniform01() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

  /// Uniform in [low, high).
  double uniform(double low, double high) { return low + (high - low) * uniform01(); }

  /// Standard normal (Box-Muller).
  double normal() {
    if (has_spare_normal_) {
      has_spare_normal_ = false;
      return spare_normal_;
    }
    const double two_pi = 6.283185307179586476925286766559;
    double u1 = 1.0 - uniform01();  // in (0, 1], keeps log finite
    double u2 = uniform01();
    double radius = std::sqrt(-2.0 * std::log(u1));
    spare_normal_ = radius * std::sin(two_pi * u2);
    has_spare_normal_ = true;
    return radius * std::cos(two_pi * u2);
  }

  /// True with probability `p`.
  bool bernoulli(double p) { return uniform01() < p; }

 private:
  std::mt19937_64 engine_;
  double spare_normal_ = 0.0;
  bool has_spare_normal_ = false;
};

/// The process-wide generator used when none is passed (like PyTorch's default CPU generator).
inline Generator& default_generator() {
  static Generator generator;
  return generator;
}

/// Seeds the default generator (like `torch.manual_seed`).
inline void manual_seed(std::uint64_t seed) { default_generator().manual_seed(seed); }

/// Tensor of uniform [0, 1) samples (like `torch.rand`).
template <typename T, typename... Dims>
Tensor<T, static_cast<int>(sizeof...(Dims))> rand(Dims... dims) {
  Tensor<T, static_cast<int>(sizeof...(Dims))> t(static_cast<Index>(dims)...);
  Generator& gen = default_generator();
  for (Index i = 0; i < t.size(); ++i) t.data()[i] = static_cast<T>(gen.uniform01());
  return t;
}

/// Tensor of standard normal samples (like `torch.randn`).
template <typename T, typename... Dims>
Tensor<T, static_cast<int>(sizeof...(Dims))> randn(Dims... dims) {
  Tensor<T, static_cast<int>(sizeof...(Dims))> t(static_cast<Index>(dims)...);
  Generator& gen = default_generator();
  for (Index i = 0; i < t.size(); ++i) t.data()[i] = static_cast<T>(gen.normal());
  return t;
}

}  // namespace seqnet
