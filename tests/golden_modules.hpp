// SPDX-License-Identifier: MIT
// Shared pieces of the golden tests that build seqnet's recurrent modules from recorded PyTorch cases
// (test_golden.cpp: forward; test_backward.cpp: gradients): reading stored tensors, loading PyTorch's
// parameters into a module, comparing results element by element, and building each module from its
// stored options.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <seqnet/seqnet.hpp>

#include "golden_io.hpp"

namespace golden_modules {

using golden::Precision;

inline std::string hex(double v) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%a (%.17g)", v, v);
  return buffer;
}

inline std::string shape_str(const std::vector<std::int64_t>& dims) {
  return seqnet::Shape(std::vector<seqnet::Index>(dims.begin(), dims.end())).str();
}

/// Worst errors over every output element compared for one dtype and file.
struct ErrorStats {
  std::size_t cases_compared = 0;
  std::size_t elements = 0;
  double max_abs = 0.0;
  double max_rel = 0.0;    ///< |a - b| / |b| over elements with b != 0
  double max_ratio = 0.0;  ///< |a - b| / (rtol |b| + atol): <= 1 passes
  std::string max_rel_where;
  std::string max_ratio_where;
};

template <typename T>
ErrorStats& stats(const std::string& prefix) {
  static std::map<std::string, ErrorStats> s;
  return s[prefix];
}

/// Equal, or both NaN (the non-finite cases store NaN inputs and parameters).
inline bool same(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

/// A stored tensor as a seqnet tensor of scalar `T`. For float the stored values must be exactly
/// representable (the generator writes float32 tensors), so nothing is rounded on the way in.
template <typename T, int R>
seqnet::Tensor<T, R> to_tensor(const golden::Tensor& g) {
  INFO("tensor " << g.name << " " << shape_str(g.shape));
  REQUIRE(g.rank() == static_cast<std::size_t>(R));
  Eigen::array<seqnet::Index, R> dims;
  for (int i = 0; i < R; ++i) dims[static_cast<std::size_t>(i)] = static_cast<seqnet::Index>(g.shape[static_cast<std::size_t>(i)]);
  seqnet::Tensor<T, R> t(dims);
  REQUIRE(static_cast<std::size_t>(t.size()) == g.values.size());
  std::size_t inexact = 0;
  for (std::size_t i = 0; i < g.values.size(); ++i) {
    const T value = static_cast<T>(g.values[i]);
    if (!same(static_cast<double>(value), g.values[i])) ++inexact;
    t.data()[i] = value;
  }
  REQUIRE(inexact == 0);
  return t;
}

/// Checks repr and named_parameters() (names, order, shapes) against PyTorch's, then loads PyTorch's values.
template <typename T, typename Module>
void check_structure_and_load(Module& module, const golden::Case& c) {
  CHECK(module.repr() == c.repr);

  std::vector<std::string> names, expected_names;
  for (const auto& entry : module.named_parameters()) names.push_back(entry.first);
  for (const auto& p : c.params) expected_names.push_back(p.name);
  REQUIRE(names == expected_names);

  std::size_t total = 0;
  for (const auto& stored : c.params) {
    INFO("parameter " << stored.name);
    seqnet::Parameter<T> p = module.parameter(stored.name);
    REQUIRE(p.dimensions().str() == shape_str(stored.shape));
    if (stored.rank() == 1) {
      p.assign(to_tensor<T, 1>(stored));
    } else {
      REQUIRE(stored.rank() == 2);
      p.assign(to_tensor<T, 2>(stored));
    }
    total += stored.values.size();
  }
  REQUIRE(static_cast<std::size_t>(module.num_parameters()) == total);

  // Read everything back through named_parameters(): the copy must be bit-exact and complete.
  std::size_t k = 0, mismatched = 0;
  for (const auto& entry : module.named_parameters()) {
    const golden::Tensor& stored = c.params[k++];
    REQUIRE(static_cast<std::size_t>(entry.second.size()) == stored.values.size());
    for (std::size_t i = 0; i < stored.values.size(); ++i)
      if (!same(static_cast<double>(entry.second.data()[i]), stored.values[i])) ++mismatched;
  }
  REQUIRE(mismatched == 0);

  if (c.mode == "eval") {
    module.eval();
  } else {
    REQUIRE(c.mode == "train");
    REQUIRE(module.is_training());  // seqnet, like PyTorch, starts in training mode
  }
}

template <typename T, int R>
void compare(const char* what, const seqnet::Tensor<T, R>& actual, const golden::Tensor* expected, ErrorStats& s,
             const std::string& case_name, double rtol = Precision<T>::rtol, double atol = Precision<T>::atol) {
  INFO("output " << what);
  REQUIRE(expected != nullptr);
  REQUIRE(seqnet::shape(actual).str() == shape_str(expected->shape));
  std::size_t failures = 0, worst = 0;
  double worst_ratio = -1.0;
  for (std::size_t i = 0; i < expected->values.size(); ++i) {
    const double a = static_cast<double>(actual.data()[i]);
    const double b = expected->values[i];
    // PyTorch's NaN must stay NaN and its infinities the same infinity; everything else within tolerance.
    const bool special = std::isnan(b) || std::isinf(b);
    const double diff = special ? (std::isnan(a) == std::isnan(b) && (std::isnan(b) || a == b) ? 0.0 : HUGE_VAL)
                                : std::fabs(a - b);
    const double bound = special ? 1.0 : rtol * std::fabs(b) + atol;
    const bool ok = diff <= bound;  // false for NaN
    if (!ok) ++failures;
    const double ratio = ok ? diff / bound : (std::isnan(diff) ? HUGE_VAL : diff / bound);
    if (ratio > worst_ratio) {
      worst_ratio = ratio;
      worst = i;
    }
    const std::string where = case_name + " " + what + "[" + std::to_string(i) + "]";
    if (diff > s.max_abs || std::isnan(diff)) s.max_abs = std::isnan(diff) ? HUGE_VAL : diff;
    if (b != 0.0 && (diff / std::fabs(b) > s.max_rel || std::isnan(diff))) {
      s.max_rel = std::isnan(diff) ? HUGE_VAL : diff / std::fabs(b);
      s.max_rel_where = where;
    }
    if (ratio > s.max_ratio) {
      s.max_ratio = ratio;
      s.max_ratio_where = where;
    }
  }
  s.elements += expected->values.size();
  if (!expected->values.empty()) {
    const double a = static_cast<double>(actual.data()[worst]), b = expected->values[worst];
    INFO("worst element " << worst << ": seqnet " << hex(a) << ", torch " << hex(b) << ", |diff| " << std::fabs(a - b)
                          << ", allowed " << rtol * std::fabs(b) + atol);
    INFO(failures << " of " << expected->values.size() << " elements outside rtol " << rtol << ", atol " << atol);
    CHECK(failures == 0);
  }
}

/// Every stored option must be one the module type has, so none is silently ignored.
inline void check_option_keys(const golden::Case& c, std::vector<std::string> keys) {
  std::vector<std::string> stored;
  for (const auto& kv : c.options) stored.push_back(kv.first);
  std::sort(keys.begin(), keys.end());
  REQUIRE(stored == keys);
}

/// A packed-sequence case's lengths and enforce_sorted flag.
inline seqnet::SequenceLengths lengths_of(const golden::Case& c) {
  std::vector<seqnet::Index> values(c.lengths.begin(), c.lengths.end());
  return seqnet::SequenceLengths(std::move(values)).enforce_sorted(c.enforce_sorted);
}

template <typename T>
seqnet::RNN<T> make_rnn(const golden::Case& c) {
  check_option_keys(c, {"input_size", "hidden_size", "num_layers", "nonlinearity", "bias", "batch_first", "dropout",
                        "bidirectional"});
  return seqnet::RNN<T>(seqnet::RNNOptions(c.int_option("input_size"), c.int_option("hidden_size"))
                            .num_layers(c.int_option("num_layers"))
                            .nonlinearity(seqnet::nonlinearity_from_string(c.option("nonlinearity")))
                            .bias(c.bool_option("bias"))
                            .batch_first(c.bool_option("batch_first"))
                            .dropout(c.float_option("dropout"))
                            .bidirectional(c.bool_option("bidirectional")));
}

template <typename T>
seqnet::GRU<T> make_gru(const golden::Case& c) {
  check_option_keys(c, {"input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional"});
  return seqnet::GRU<T>(seqnet::GRUOptions(c.int_option("input_size"), c.int_option("hidden_size"))
                            .num_layers(c.int_option("num_layers"))
                            .bias(c.bool_option("bias"))
                            .batch_first(c.bool_option("batch_first"))
                            .dropout(c.float_option("dropout"))
                            .bidirectional(c.bool_option("bidirectional")));
}

template <typename T>
seqnet::LSTM<T> make_lstm(const golden::Case& c) {
  check_option_keys(c, {"input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional",
                        "proj_size"});
  return seqnet::LSTM<T>(seqnet::LSTMOptions(c.int_option("input_size"), c.int_option("hidden_size"))
                             .num_layers(c.int_option("num_layers"))
                             .bias(c.bool_option("bias"))
                             .batch_first(c.bool_option("batch_first"))
                             .dropout(c.float_option("dropout"))
                             .bidirectional(c.bool_option("bidirectional"))
                             .proj_size(c.int_option("proj_size")));
}

template <typename T>
seqnet::RNNCell<T> make_rnn_cell(const golden::Case& c) {
  check_option_keys(c, {"input_size", "hidden_size", "bias", "nonlinearity"});
  return seqnet::RNNCell<T>(seqnet::RNNCellOptions(c.int_option("input_size"), c.int_option("hidden_size"))
                                .bias(c.bool_option("bias"))
                                .nonlinearity(seqnet::nonlinearity_from_string(c.option("nonlinearity"))));
}

template <typename T>
seqnet::GRUCell<T> make_gru_cell(const golden::Case& c) {
  check_option_keys(c, {"input_size", "hidden_size", "bias"});
  return seqnet::GRUCell<T>(
      seqnet::GRUCellOptions(c.int_option("input_size"), c.int_option("hidden_size")).bias(c.bool_option("bias")));
}

template <typename T>
seqnet::LSTMCell<T> make_lstm_cell(const golden::Case& c) {
  check_option_keys(c, {"input_size", "hidden_size", "bias"});
  return seqnet::LSTMCell<T>(
      seqnet::LSTMCellOptions(c.int_option("input_size"), c.int_option("hidden_size")).bias(c.bool_option("bias")));
}

}  // namespace golden_modules
