// SPDX-License-Identifier: MIT
// Shared pieces of the golden tests of the convolutional front-end layers (tests/test_layers_*.cpp):
// tools/gen_golden_conv_layers.py writes tests/golden/conv_layers_float64.txt and conv_layers_float32.txt.
#pragma once

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include <seqnet/seqnet.hpp>

#include "layers_golden.hpp"

namespace conv_golden {

/// Cases tools/gen_golden_conv_layers.py writes per dtype; a shorter file fails.
constexpr std::size_t CONV_LAYERS_MIN_CASES = 87;

template <typename T>
const golden::File& file() {
  static const golden::File loaded = [] {
    golden::File f = golden::load(std::string(SEQNET_GOLDEN_DIR) + "/conv_layers_" + golden::Precision<T>::name + ".txt");
    if (f.dtype != golden::Precision<T>::name) throw golden::format_error(f.path + ": dtype " + f.dtype);
    if (f.cases.size() < CONV_LAYERS_MIN_CASES)
      throw golden::format_error(f.path + ": only " + std::to_string(f.cases.size()) + " cases");
    return f;
  }();
  return loaded;
}

/// The cases of `module`; fails the test if there are none.
template <typename T>
std::vector<const golden::Case*> cases_of(const std::string& module) {
  std::vector<const golden::Case*> found;
  for (const auto& c : file<T>().cases)
    if (c.module == module) found.push_back(&c);
  REQUIRE(!found.empty());
  return found;
}

/// "l,r" -> (l, r).
inline std::pair<seqnet::Index, seqnet::Index> pair_option(const golden::Case& c, const std::string& key) {
  const std::string& text = c.option(key);
  const auto comma = text.find(',');
  REQUIRE(comma != std::string::npos);
  return {std::stoll(text.substr(0, comma)), std::stoll(text.substr(comma + 1))};
}

/// Calls `f(tensor)` with the stored tensor as a `Tensor<T, R>` of its rank (1 to 4).
template <typename T, typename F>
void with_tensor(const golden::Tensor& g, F&& f) {
  switch (g.rank()) {
    case 1: f(layers_golden::to_tensor<T, 1>(g)); break;
    case 2: f(layers_golden::to_tensor<T, 2>(g)); break;
    case 3: f(layers_golden::to_tensor<T, 3>(g)); break;
    case 4: f(layers_golden::to_tensor<T, 4>(g)); break;
    default: FAIL("rank " << g.rank());
  }
}

/// Copies the stored parameters (the first `count`, default all) into `module`, checking names and shapes.
template <typename M>
void load_parameters(M& module, const golden::Case& c, std::size_t count = static_cast<std::size_t>(-1)) {
  auto named = module.named_parameters();
  count = std::min(count, c.params.size());
  REQUIRE(named.size() == count);
  for (std::size_t i = 0; i < count; ++i) {
    const golden::Tensor& stored = c.params[i];
    INFO("parameter " << stored.name);
    REQUIRE(named[i].first == stored.name);
    REQUIRE(named[i].second.dimensions().str() == layers_golden::shape_str(stored.shape));
    REQUIRE(static_cast<std::size_t>(named[i].second.size()) == stored.values.size());
    using S = typename M::Scalar;
    for (std::size_t k = 0; k < stored.values.size(); ++k) named[i].second.data()[k] = static_cast<S>(stored.values[k]);
  }
}

}  // namespace conv_golden
