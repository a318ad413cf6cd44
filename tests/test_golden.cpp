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
#include "golden_modules.hpp"

#ifndef SEQNET_GOLDEN_DIR
#error "SEQNET_GOLDEN_DIR must name the tests/golden directory"
#endif

namespace {

/// Number of cases tools/gen_golden.py writes per dtype. The test fails if a file holds fewer, so it can
/// never pass on missing or truncated data. Raise it when adding cases to the generator.
constexpr std::size_t GOLDEN_MIN_CASES = 125;

using golden::Precision;
using namespace golden_modules;

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
  seqnet::RNNCell<T> cell = golden_modules::make_rnn_cell<T>(c);
  run_hidden_state_cell<T, R>(c, cell, s);
}

template <typename T, int R>
void run_gru_cell(const golden::Case& c, ErrorStats& s) {
  seqnet::GRUCell<T> cell = golden_modules::make_gru_cell<T>(c);
  run_hidden_state_cell<T, R>(c, cell, s);
}

template <typename T, int R>
void run_lstm_cell(const golden::Case& c, ErrorStats& s) {
  check_tensor_names(c, true, {"h1", "c1"});
  seqnet::LSTMCell<T> cell = golden_modules::make_lstm_cell<T>(c);
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
  seqnet::RNN<T> rnn = golden_modules::make_rnn<T>(c);
  run_hidden_state_module<T, R>(c, rnn, s);
}

template <typename T, int R>
void run_gru(const golden::Case& c, ErrorStats& s) {
  seqnet::GRU<T> gru = golden_modules::make_gru<T>(c);
  run_hidden_state_module<T, R>(c, gru, s);
}

template <typename T, int R>
void run_lstm(const golden::Case& c, ErrorStats& s) {
  check_tensor_names(c, true, {"out", "h_n", "c_n"});
  seqnet::LSTM<T> lstm = golden_modules::make_lstm<T>(c);
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
