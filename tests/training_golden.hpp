// SPDX-License-Identifier: MIT
// Shared pieces of the golden tests of the losses and of the Linear / Embedding backward passes
// (test_losses.cpp, test_linear_backward.cpp): tools/gen_golden_training_layers.py writes
// tests/golden/losses_<dtype>.txt and training_layers_<dtype>.txt in the format of tests/golden_io.hpp.
// Values must satisfy |seqnet - torch| <= rtol * |torch| + atol with the golden::Precision tolerances;
// gradients with `gradient_rtol` (1e-9 for float64, as the gradients of a reduction over many elements
// round more); a stored NaN (the mean over no counted targets) must be NaN.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <map>
#include <type_traits>
#include <utility>
#include <string>

#include <seqnet/tensor.hpp>

#include "golden_io.hpp"
#include "layers_golden.hpp"

namespace training_golden {

template <typename T>
constexpr double gradient_rtol() {
  return std::is_same_v<T, double> ? 1e-9 : golden::Precision<T>::rtol;
}

/// The golden file `<prefix>_<dtype>.txt`, loaded once; it must hold at least `min_cases` cases.
template <typename T>
const golden::File& file(const std::string& prefix, std::size_t min_cases) {
  static std::map<std::string, golden::File> loaded;
  const std::string path = std::string(SEQNET_GOLDEN_DIR) + "/" + prefix + "_" + golden::Precision<T>::name + ".txt";
  auto found = loaded.find(path);
  if (found == loaded.end()) {
    golden::File f = golden::load(path);
    if (f.dtype != golden::Precision<T>::name) throw golden::format_error(f.path + ": dtype " + f.dtype);
    found = loaded.emplace(path, std::move(f)).first;
  }
  const golden::File& f = found->second;
  if (f.cases.size() < min_cases)
    throw golden::format_error(f.path + ": only " + std::to_string(f.cases.size()) + " cases, expected at least " +
                               std::to_string(min_cases));
  return f;
}

/// Number of elements of `actual` (`count` values) outside the tolerance of `expected`; records the worst
/// errors in `stats`. A shape mismatch counts every element.
template <typename T>
std::size_t mismatches(const T* actual, std::size_t count, const std::string& actual_shape, const golden::Tensor& expected,
                       double rtol, layers_golden::Stats& stats) {
  if (actual_shape != layers_golden::shape_str(expected.shape) || count != expected.values.size())
    return expected.values.size() + 1;
  std::size_t failures = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const double a = static_cast<double>(actual[i]), b = expected.values[i];
    if (std::isnan(b)) {
      if (!std::isnan(a)) ++failures;
      continue;
    }
    const double diff = std::fabs(a - b);
    if (!(diff <= rtol * std::fabs(b) + golden::Precision<T>::atol)) ++failures;
    if (!(diff <= stats.max_abs)) stats.max_abs = diff;
    if (b != 0.0 && !(diff / std::fabs(b) <= stats.max_rel)) stats.max_rel = diff / std::fabs(b);
  }
  stats.elements += count;
  return failures;
}

/// CHECKs that `actual` matches the stored output `name` of `c`.
template <typename T, int R>
void compare(const seqnet::Tensor<T, R>& actual, const golden::Case& c, const std::string& name, double rtol,
             layers_golden::Stats& stats) {
  const golden::Tensor* expected = c.find_output(name);
  INFO("output " << name);
  REQUIRE(expected != nullptr);
  INFO("seqnet shape " << seqnet::shape(actual).str() << ", torch " << layers_golden::shape_str(expected->shape));
  CHECK(mismatches(actual.data(), static_cast<std::size_t>(actual.size()), seqnet::shape(actual).str(), *expected, rtol,
                   stats) == 0);
}

}  // namespace training_golden
