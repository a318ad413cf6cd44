// SPDX-License-Identifier: MIT
// Shared pieces of the golden tests of the non-recurrent layers (test_linear.cpp, test_embedding.cpp):
// tools/gen_golden_layers.py writes tests/golden/layers_float64.txt and layers_float32.txt in the format of
// tests/golden_io.hpp. Every output element must satisfy |seqnet - torch| <= rtol * |torch| + atol.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include <seqnet/tensor.hpp>

#include "golden_io.hpp"

#ifndef SEQNET_GOLDEN_DIR
#error "SEQNET_GOLDEN_DIR must name the tests/golden directory"
#endif

namespace layers_golden {

/// Cases tools/gen_golden_layers.py writes per dtype; a shorter file fails, so missing data cannot pass.
constexpr std::size_t LAYERS_MIN_CASES = 26;

using golden::Precision;

/// The golden file of dtype `T`, loaded once; its header must be intact and hold at least LAYERS_MIN_CASES.
template <typename T>
const golden::File& file() {
  static const golden::File loaded = [] {
    golden::File f = golden::load(std::string(SEQNET_GOLDEN_DIR) + "/layers_" + Precision<T>::name + ".txt");
    if (f.dtype != Precision<T>::name) throw golden::format_error(f.path + ": dtype " + f.dtype);
    if (f.cases.size() < LAYERS_MIN_CASES)
      throw golden::format_error(f.path + ": only " + std::to_string(f.cases.size()) + " cases");
    return f;
  }();
  return loaded;
}

/// The cases of module type `module` (e.g. "Linear"); fails the test if there are none.
template <typename T>
std::vector<const golden::Case*> cases_of(const std::string& module) {
  std::vector<const golden::Case*> found;
  for (const auto& c : file<T>().cases)
    if (c.module == module) found.push_back(&c);
  REQUIRE(!found.empty());
  return found;
}

inline std::string shape_str(const std::vector<std::int64_t>& dims) {
  return seqnet::Shape(std::vector<seqnet::Index>(dims.begin(), dims.end())).str();
}

/// A stored tensor as a seqnet tensor with scalar `S`; every stored value must convert exactly (ids are
/// integers, float32 files hold float32 values).
template <typename S, int R>
seqnet::Tensor<S, R> to_tensor(const golden::Tensor& g) {
  INFO("tensor " << g.name << " " << shape_str(g.shape));
  REQUIRE(g.rank() == static_cast<std::size_t>(R));
  Eigen::array<seqnet::Index, R> dims;
  for (int i = 0; i < R; ++i)
    dims[static_cast<std::size_t>(i)] = static_cast<seqnet::Index>(g.shape[static_cast<std::size_t>(i)]);
  seqnet::Tensor<S, R> t(dims);
  REQUIRE(static_cast<std::size_t>(t.size()) == g.values.size());
  std::size_t inexact = 0;
  for (std::size_t i = 0; i < g.values.size(); ++i) {
    t.data()[i] = static_cast<S>(g.values[i]);
    if (static_cast<double>(t.data()[i]) != g.values[i]) ++inexact;
  }
  REQUIRE(inexact == 0);
  return t;
}

/// Worst errors over all compared elements of one dtype (printed by `report`).
struct Stats {
  std::size_t cases = 0;
  std::size_t elements = 0;
  double max_abs = 0.0;
  double max_rel = 0.0;
};

/// Compares `actual` with the stored output element by element and records the errors in `stats`.
template <typename T, int R>
void compare(const seqnet::Tensor<T, R>& actual, const golden::Tensor* expected, Stats& stats) {
  REQUIRE(expected != nullptr);
  REQUIRE(seqnet::shape(actual).str() == shape_str(expected->shape));
  const double rtol = Precision<T>::rtol, atol = Precision<T>::atol;
  std::size_t failures = 0;
  for (std::size_t i = 0; i < expected->values.size(); ++i) {
    const double a = static_cast<double>(actual.data()[i]), b = expected->values[i];
    const double diff = std::fabs(a - b);
    if (!(diff <= rtol * std::fabs(b) + atol)) ++failures;
    if (!(diff <= stats.max_abs)) stats.max_abs = diff;
    if (b != 0.0 && !(diff / std::fabs(b) <= stats.max_rel)) stats.max_rel = diff / std::fabs(b);
  }
  stats.elements += expected->values.size();
  INFO(failures << " of " << expected->values.size() << " elements outside rtol " << rtol << ", atol " << atol);
  CHECK(failures == 0);
}

/// Prints and checks the summary line of one dtype's run.
template <typename T>
void report(const char* what, const Stats& stats, std::size_t expected_cases) {
  std::cout << "golden " << what << " " << Precision<T>::name << ": " << stats.cases << " cases, " << stats.elements
            << " output elements; max abs err " << stats.max_abs << ", max rel err " << stats.max_rel << std::endl;
  CHECK(stats.cases == expected_cases);
  CHECK(stats.elements > 0);
}

}  // namespace layers_golden
