// SPDX-License-Identifier: MIT
// Golden tests: seqnet against numbers recorded from PyTorch's torch.nn (tools/gen_golden.py writes
// tests/golden/golden_float64.txt and golden_float32.txt). For every recorded case the module is built
// from the stored options, its repr and named_parameters() (names, order, shapes) are checked, PyTorch's
// parameter values are copied in, and forward runs on exactly PyTorch's inputs; every output element must
// satisfy |seqnet - torch| <= rtol * |torch| + atol.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <seqnet/seqnet.hpp>

#include "golden_io.hpp"

#ifndef SEQNET_GOLDEN_DIR
#error "SEQNET_GOLDEN_DIR must name the tests/golden directory"
#endif

namespace {

/// Number of cases tools/gen_golden.py writes per dtype. The test fails if a file holds fewer, so it can
/// never pass on missing or truncated data. Raise it when adding cases to the generator.
constexpr std::size_t GOLDEN_MIN_CASES = 125;

using golden::Precision;

std::string hex(double v) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%a (%.17g)", v, v);
  return buffer;
}

std::string shape_str(const std::vector<std::int64_t>& dims) {
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

/// Cases of tools/gen_golden_nonfinite.py (NaN, infinite and saturating values), per dtype.
constexpr std::size_t NONFINITE_MIN_CASES = 22;

/// `prefix` "golden" (tools/gen_golden.py) or "nonfinite" (tools/gen_golden_nonfinite.py).
template <typename T>
const golden::File& golden_file(const std::string& prefix) {
  static std::map<std::string, golden::File> files;
  auto it = files.find(prefix);
  if (it == files.end())
    it = files.emplace(prefix, golden::load(std::string(SEQNET_GOLDEN_DIR) + "/" + prefix + "_" + Precision<T>::name + ".txt"))
             .first;
  return it->second;
}

/// Equal, or both NaN (the non-finite cases store NaN inputs and parameters).
bool same(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

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
             const std::string& case_name) {
  INFO("output " << what);
  REQUIRE(expected != nullptr);
  REQUIRE(seqnet::shape(actual).str() == shape_str(expected->shape));
  const double rtol = Precision<T>::rtol, atol = Precision<T>::atol;
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

/// The stored inputs must be exactly `x` or `x, h0` (plus `c0` for LSTM), and the stored outputs exactly `names`.
void check_tensor_names(const golden::Case& c, bool lstm, const std::vector<std::string>& output_names) {
  std::vector<std::string> inputs, outputs;
  for (const auto& t : c.inputs) inputs.push_back(t.name);
  for (const auto& t : c.outputs) outputs.push_back(t.name);
  const bool state = c.inputs.size() > 1;
  std::vector<std::string> expected_inputs{"x"};
  if (state) expected_inputs.push_back("h0");
  if (state && lstm) expected_inputs.push_back("c0");
  REQUIRE(inputs == expected_inputs);
  REQUIRE(outputs == output_names);
}

/// Every stored option must be one the module type has, so none is silently ignored.
void check_option_keys(const golden::Case& c, std::vector<std::string> keys) {
  std::vector<std::string> stored;
  for (const auto& kv : c.options) stored.push_back(kv.first);
  std::sort(keys.begin(), keys.end());
  REQUIRE(stored == keys);
}

/// RNNCell and GRUCell: `h1 = cell(x[, h0])`.
template <typename T, int R, typename Cell>
void run_hidden_state_cell(const golden::Case& c, Cell& cell, ErrorStats& s) {
  check_tensor_names(c, false, {"h1"});
  check_structure_and_load<T>(cell, c);
  const auto x = to_tensor<T, R>(*c.find_input("x"));
  const golden::Tensor* h0 = c.find_input("h0");
  const seqnet::Tensor<T, R> h1 = h0 != nullptr ? cell.forward(x, to_tensor<T, R>(*h0)) : cell.forward(x);
  compare("h1", h1, c.find_output("h1"), s, c.name);
  // Frozen, into a caller's tensor: a one-row case takes the tiny-step path.
  cell.prepack();
  seqnet::Tensor<T, R> h1_into;
  if (h0 != nullptr) {
    h1_into = to_tensor<T, R>(*h0);
    cell.forward_into(x, h1_into, h1_into);
  } else {
    cell.forward_into(x, h1_into);
  }
  compare("h1 (frozen, forward_into)", h1_into, c.find_output("h1"), s, c.name);
}

template <typename T, int R>
void run_rnn_cell(const golden::Case& c, ErrorStats& s) {
  check_option_keys(c, {"input_size", "hidden_size", "bias", "nonlinearity"});
  seqnet::RNNCell<T> cell(seqnet::RNNCellOptions(c.int_option("input_size"), c.int_option("hidden_size"))
                              .bias(c.bool_option("bias"))
                              .nonlinearity(seqnet::nonlinearity_from_string(c.option("nonlinearity"))));
  run_hidden_state_cell<T, R>(c, cell, s);
}

template <typename T, int R>
void run_gru_cell(const golden::Case& c, ErrorStats& s) {
  check_option_keys(c, {"input_size", "hidden_size", "bias"});
  seqnet::GRUCell<T> cell(
      seqnet::GRUCellOptions(c.int_option("input_size"), c.int_option("hidden_size")).bias(c.bool_option("bias")));
  run_hidden_state_cell<T, R>(c, cell, s);
}

template <typename T, int R>
void run_lstm_cell(const golden::Case& c, ErrorStats& s) {
  check_option_keys(c, {"input_size", "hidden_size", "bias"});
  check_tensor_names(c, true, {"h1", "c1"});
  seqnet::LSTMCell<T> cell(
      seqnet::LSTMCellOptions(c.int_option("input_size"), c.int_option("hidden_size")).bias(c.bool_option("bias")));
  check_structure_and_load<T>(cell, c);
  const auto x = to_tensor<T, R>(*c.find_input("x"));
  seqnet::LSTMState<T, R> hc;
  if (c.find_input("h0") != nullptr) {
    const auto h0 = to_tensor<T, R>(*c.find_input("h0"));
    const auto c0 = to_tensor<T, R>(*c.find_input("c0"));
    hc = cell.forward(x, {h0, c0});
  } else {
    hc = cell.forward(x);
  }
  compare("h1", hc.first, c.find_output("h1"), s, c.name);
  compare("c1", hc.second, c.find_output("c1"), s, c.name);
  // Frozen, stepping the state in place: a one-row case takes the tiny-step path.
  cell.prepack();
  seqnet::LSTMState<T, R> state;
  if (c.find_input("h0") != nullptr) {
    state = {to_tensor<T, R>(*c.find_input("h0")), to_tensor<T, R>(*c.find_input("c0"))};
    cell.forward_into(x, state, state);
  } else {
    cell.forward_into(x, state);
  }
  compare("h1 (frozen, forward_into)", state.first, c.find_output("h1"), s, c.name);
  compare("c1 (frozen, forward_into)", state.second, c.find_output("c1"), s, c.name);
}

/// A packed-sequence case's lengths and enforce_sorted flag.
seqnet::SequenceLengths lengths_of(const golden::Case& c) {
  std::vector<seqnet::Index> values(c.lengths.begin(), c.lengths.end());
  return seqnet::SequenceLengths(std::move(values)).enforce_sorted(c.enforce_sorted);
}

/// RNN and GRU: `(out, h_n) = module(x[, h0])`, or `module(x, lengths[, h0])` for a packed-sequence case.
template <typename T, int R, typename Module>
void run_hidden_state_module(const golden::Case& c, Module& module, ErrorStats& s) {
  check_tensor_names(c, false, {"out", "h_n"});
  check_structure_and_load<T>(module, c);
  const auto x = to_tensor<T, R>(*c.find_input("x"));
  const golden::Tensor* h0 = c.find_input("h0");
  std::pair<seqnet::Tensor<T, R>, seqnet::Tensor<T, R>> result;
  if (!c.lengths.empty()) {
    const seqnet::SequenceLengths lengths = lengths_of(c);
    result = h0 != nullptr ? module.forward(x, lengths, to_tensor<T, R>(*h0)) : module.forward(x, lengths);
  } else {
    result = h0 != nullptr ? module.forward(x, to_tensor<T, R>(*h0)) : module.forward(x);
  }
  compare("out", result.first, c.find_output("out"), s, c.name);
  compare("h_n", result.second, c.find_output("h_n"), s, c.name);
}

template <typename T, int R>
void run_rnn(const golden::Case& c, ErrorStats& s) {
  check_option_keys(c, {"input_size", "hidden_size", "num_layers", "nonlinearity", "bias", "batch_first", "dropout",
                        "bidirectional"});
  seqnet::RNN<T> rnn(seqnet::RNNOptions(c.int_option("input_size"), c.int_option("hidden_size"))
                         .num_layers(c.int_option("num_layers"))
                         .nonlinearity(seqnet::nonlinearity_from_string(c.option("nonlinearity")))
                         .bias(c.bool_option("bias"))
                         .batch_first(c.bool_option("batch_first"))
                         .dropout(c.float_option("dropout"))
                         .bidirectional(c.bool_option("bidirectional")));
  run_hidden_state_module<T, R>(c, rnn, s);
}

template <typename T, int R>
void run_gru(const golden::Case& c, ErrorStats& s) {
  check_option_keys(c, {"input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional"});
  seqnet::GRU<T> gru(seqnet::GRUOptions(c.int_option("input_size"), c.int_option("hidden_size"))
                         .num_layers(c.int_option("num_layers"))
                         .bias(c.bool_option("bias"))
                         .batch_first(c.bool_option("batch_first"))
                         .dropout(c.float_option("dropout"))
                         .bidirectional(c.bool_option("bidirectional")));
  run_hidden_state_module<T, R>(c, gru, s);
}

template <typename T, int R>
void run_lstm(const golden::Case& c, ErrorStats& s) {
  check_option_keys(c, {"input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional",
                        "proj_size"});
  check_tensor_names(c, true, {"out", "h_n", "c_n"});
  seqnet::LSTM<T> lstm(seqnet::LSTMOptions(c.int_option("input_size"), c.int_option("hidden_size"))
                           .num_layers(c.int_option("num_layers"))
                           .bias(c.bool_option("bias"))
                           .batch_first(c.bool_option("batch_first"))
                           .dropout(c.float_option("dropout"))
                           .bidirectional(c.bool_option("bidirectional"))
                           .proj_size(c.int_option("proj_size")));
  check_structure_and_load<T>(lstm, c);
  const auto x = to_tensor<T, R>(*c.find_input("x"));
  typename seqnet::LSTM<T>::template Output<R> result;
  if (c.find_input("h0") != nullptr) {
    const auto h0 = to_tensor<T, R>(*c.find_input("h0"));
    const auto c0 = to_tensor<T, R>(*c.find_input("c0"));
    result = c.lengths.empty() ? lstm.forward(x, {h0, c0}) : lstm.forward(x, lengths_of(c), {h0, c0});
  } else {
    result = c.lengths.empty() ? lstm.forward(x) : lstm.forward(x, lengths_of(c));
  }
  compare("out", result.first, c.find_output("out"), s, c.name);
  compare("h_n", result.second.first, c.find_output("h_n"), s, c.name);
  compare("c_n", result.second.second, c.find_output("c_n"), s, c.name);
}

template <typename T, int R>
void run_cell_case(const golden::Case& c, ErrorStats& s) {
  if (c.module == "RNNCell") return run_rnn_cell<T, R>(c, s);
  if (c.module == "LSTMCell") return run_lstm_cell<T, R>(c, s);
  REQUIRE(c.module == "GRUCell");
  run_gru_cell<T, R>(c, s);
}

template <typename T, int R>
void run_module_case(const golden::Case& c, ErrorStats& s) {
  if (c.module == "RNN") return run_rnn<T, R>(c, s);
  if (c.module == "LSTM") return run_lstm<T, R>(c, s);
  REQUIRE(c.module == "GRU");
  run_gru<T, R>(c, s);
}

template <typename T>
void run_case(const golden::Case& c, ErrorStats& s) {
  const golden::Tensor* x = c.find_input("x");
  REQUIRE(x != nullptr);
  const std::size_t rank = x->rank();
  if (c.module == "RNNCell" || c.module == "LSTMCell" || c.module == "GRUCell") {
    REQUIRE((rank == 1 || rank == 2));
    rank == 1 ? run_cell_case<T, 1>(c, s) : run_cell_case<T, 2>(c, s);
  } else {
    REQUIRE((rank == 2 || rank == 3));
    rank == 2 ? run_module_case<T, 2>(c, s) : run_module_case<T, 3>(c, s);
  }
  ++s.cases_compared;
}

template <typename T>
void run_golden_file(const std::string& prefix = "golden", std::size_t min_cases = GOLDEN_MIN_CASES) {
  const char* dtype = Precision<T>::name;
  INFO("golden file " << SEQNET_GOLDEN_DIR << "/" << prefix << "_" << dtype << ".txt (regenerate: /usr/bin/python3 tools/gen_"
                      << (prefix == "golden" ? "golden" : "golden_" + prefix) << ".py)");
  const golden::File* loaded = nullptr;
  try {
    loaded = &golden_file<T>(prefix);
  } catch (const std::exception& e) {
    FAIL("cannot load the golden cases: " << e.what());
  }
  const golden::File& file = *loaded;
  REQUIRE(file.dtype == dtype);
  REQUIRE(file.cases.size() == file.declared_cases);
  REQUIRE(file.cases.size() >= min_cases);

  std::set<std::string> names;
  for (const auto& c : file.cases) names.insert(c.name);
  REQUIRE(names.size() == file.cases.size());

  ErrorStats& s = stats<T>(prefix);
  for (const auto& c : file.cases) {
    DYNAMIC_SECTION(dtype << " " << c.name) {
      INFO("case " << c.name << ": " << c.module << " " << c.repr << ", mode " << c.mode);
      run_case<T>(c, s);
    }
  }
  // Entered once, after every case section has run (passed or failed).
  SECTION(prefix + " " + dtype + " summary") {
    std::ostringstream line;
    line << prefix << " " << dtype << ": " << s.cases_compared << "/" << file.cases.size() << " cases (torch "
         << file.torch_version << "), " << s.elements << " output elements; max abs err " << s.max_abs
         << ", max rel err " << s.max_rel << " at " << s.max_rel_where << "; max err/tolerance " << s.max_ratio
         << " at " << s.max_ratio_where << " (rtol " << Precision<T>::rtol << ", atol " << Precision<T>::atol << ")";
    std::cout << line.str() << std::endl;
    INFO(line.str());
    CHECK(s.cases_compared == file.cases.size());
    CHECK(s.elements > 0);
  }
}

}  // namespace

TEST_CASE("golden: float64 RNN/LSTM/GRU and their cells match torch.nn", "[golden][float64]") {
  run_golden_file<double>();
}

TEST_CASE("golden: float32 RNN/LSTM/GRU and their cells match torch.nn", "[golden][float32]") {
  run_golden_file<float>();
}

// NaN in an input, a weight or a state reaches exactly the outputs it reaches in PyTorch; +-1e4 and +-inf
// saturate the gates as in PyTorch (no NaN where PyTorch has a number).
TEST_CASE("golden: float64 NaN, infinite and saturating values match torch.nn", "[golden][float64][nonfinite]") {
  run_golden_file<double>("nonfinite", NONFINITE_MIN_CASES);
}

TEST_CASE("golden: float32 NaN, infinite and saturating values match torch.nn", "[golden][float32][nonfinite]") {
  run_golden_file<float>("nonfinite", NONFINITE_MIN_CASES);
}

TEST_CASE("golden: both dtypes record the same cases", "[golden]") {
  std::vector<std::string> f64, f32;
  try {
    for (const auto& c : golden_file<double>("golden").cases) f64.push_back(c.name);
    for (const auto& c : golden_file<float>("golden").cases) f32.push_back(c.name);
  } catch (const std::exception& e) {
    FAIL("cannot load the golden cases: " << e.what());
  }
  REQUIRE(f64.size() >= GOLDEN_MIN_CASES);
  CHECK(f64 == f32);
}
