// SPDX-License-Identifier: MIT
// Backward golden tests: seqnet's gradients against torch.autograd (tools/gen_golden_grad.py writes
// tests/golden/grad_float64.txt and grad_float32.txt). For every recorded case the module is built and loaded
// as in test_golden.cpp, `forward_train` runs on PyTorch's inputs, `backward` on the gradients PyTorch fed
// its results, and every gradient (input, h0, c0, every parameter) must match PyTorch's element by element.
#include <catch2/catch.hpp>

#include <cstddef>
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

using namespace golden_modules;

/// Cases tools/gen_golden_grad.py writes per dtype; fewer fail the test, so missing data cannot pass.
constexpr std::size_t GRAD_MIN_CASES = 124;
/// Cases tools/gen_golden_zero_size.py writes per dtype (cells with input_size or hidden_size 0).
constexpr std::size_t ZERO_SIZE_MIN_CASES = 19;

/// A golden file of gradients: tests/golden/<prefix>_<dtype>.txt, written by `script`.
struct GradFile {
  const char* prefix;
  const char* script;
  std::size_t min_cases;
};
constexpr GradFile grad_golden{"grad", "tools/gen_golden_grad.py", GRAD_MIN_CASES};
constexpr GradFile zero_size_golden{"zero_size", "tools/gen_golden_zero_size.py", ZERO_SIZE_MIN_CASES};
/// Training-mode dropout with PyTorch's masks (DROPOUT_CASES of tools/gen_golden_grad.py).
constexpr GradFile dropout_golden{"grad_dropout", "tools/gen_golden_grad.py", 6};

/// Gradients sum more terms than forward results: fp64 within 1e-9 relative, fp32 within 1e-4.
template <typename T>
struct GradTolerance;
template <>
struct GradTolerance<double> {
  static constexpr double rtol = 1e-9, atol = 1e-11;
};
template <>
struct GradTolerance<float> {
  static constexpr double rtol = 1e-4, atol = 1e-5;
};

template <typename T>
std::string path_of(const GradFile& source) {
  return std::string(SEQNET_GOLDEN_DIR) + "/" + source.prefix + "_" + golden::Precision<T>::name + ".txt";
}

/// Loaded once: Catch runs a test case again for each of its sections.
template <typename T>
const golden::File& grad_file(const GradFile& source) {
  static std::map<std::string, golden::File> files;
  const std::string path = path_of<T>(source);
  auto found = files.find(path);
  if (found == files.end()) found = files.emplace(path, golden::load(path)).first;
  return found->second;
}

template <typename T, int R>
void compare_gradient(const char* what, const seqnet::Tensor<T, R>& actual, const golden::Case& c, ErrorStats& s) {
  compare(what, actual, c.find_output(what), s, c.name, GradTolerance<T>::rtol, GradTolerance<T>::atol);
}

/// Every parameter's gradient against PyTorch's `p.grad`.
template <typename T, typename Module>
void compare_parameter_gradients(const Module& module, const golden::Case& c, ErrorStats& s) {
  for (const auto& [name, grad] : module.named_gradients()) {
    const std::string key = "grad." + name;
    if (grad.rank() == 1) {
      seqnet::Tensor<T, 1> copy(grad.size());
      std::copy(grad.data(), grad.data() + grad.size(), copy.data());
      compare_gradient(key.c_str(), copy, c, s);
    } else {
      REQUIRE(grad.rank() == 2);
      seqnet::Tensor<T, 2> copy(grad.dimensions()[0], grad.dimensions()[1]);
      std::copy(grad.data(), grad.data() + grad.size(), copy.data());
      compare_gradient(key.c_str(), copy, c, s);
    }
  }
}

template <typename T, int R>
seqnet::Tensor<T, R> input_of(const golden::Case& c, const char* name) {
  const golden::Tensor* t = c.find_input(name);
  REQUIRE(t != nullptr);
  return to_tensor<T, R>(*t);
}

/// A dropout case carries PyTorch's own masks (inputs mask0, mask1, ...): the tape replays them.
template <typename T, int R>
void replay_masks_of(const golden::Case& c, seqnet::RecurrentTape<T>& tape) {
  std::vector<seqnet::Tensor<T, R>> masks;
  for (int i = 0; c.find_input(("mask" + std::to_string(i)).c_str()) != nullptr; ++i)
    masks.push_back(input_of<T, R>(c, ("mask" + std::to_string(i)).c_str()));
  if (!masks.empty()) tape.replay_dropout_masks(masks);
}

template <typename T, int R, typename Module>
void run_hidden_state_module(const golden::Case& c, Module& module, ErrorStats& s) {
  check_structure_and_load<T>(module, c);
  module.zero_grad();
  const auto x = input_of<T, R>(c, "x");
  const bool state = c.find_input("h0") != nullptr;
  seqnet::RecurrentTape<T> tape;
  replay_masks_of<T, R>(c, tape);
  std::pair<seqnet::Tensor<T, R>, seqnet::Tensor<T, R>> result;
  if (!c.lengths.empty()) {
    const seqnet::SequenceLengths lengths = lengths_of(c);
    result = state ? module.forward_train(tape, x, lengths, input_of<T, R>(c, "h0")) : module.forward_train(tape, x, lengths);
  } else {
    result = state ? module.forward_train(tape, x, input_of<T, R>(c, "h0")) : module.forward_train(tape, x);
  }
  compare("out", result.first, c.find_output("out"), s, c.name);
  compare("h_n", result.second, c.find_output("h_n"), s, c.name);
  const auto grads = module.backward(tape, input_of<T, R>(c, "g_out"), input_of<T, R>(c, "g_h_n"));
  compare_gradient("grad_x", grads.input, c, s);
  if (state) compare_gradient("grad_h0", grads.h0, c, s);
  compare_parameter_gradients<T>(module, c, s);
}

template <typename T, int R>
void run_lstm(const golden::Case& c, ErrorStats& s) {
  seqnet::LSTM<T> lstm = make_lstm<T>(c);
  check_structure_and_load<T>(lstm, c);
  lstm.zero_grad();
  const auto x = input_of<T, R>(c, "x");
  const bool state = c.find_input("h0") != nullptr;
  seqnet::RecurrentTape<T> tape;
  replay_masks_of<T, R>(c, tape);
  typename seqnet::LSTM<T>::template Output<R> result;
  if (state) {
    const auto h0 = input_of<T, R>(c, "h0"), c0 = input_of<T, R>(c, "c0");
    result = c.lengths.empty() ? lstm.forward_train(tape, x, {h0, c0}) : lstm.forward_train(tape, x, lengths_of(c), {h0, c0});
  } else {
    result = c.lengths.empty() ? lstm.forward_train(tape, x) : lstm.forward_train(tape, x, lengths_of(c));
  }
  compare("out", result.first, c.find_output("out"), s, c.name);
  compare("h_n", result.second.first, c.find_output("h_n"), s, c.name);
  compare("c_n", result.second.second, c.find_output("c_n"), s, c.name);
  const auto g_h = input_of<T, R>(c, "g_h_n"), g_c = input_of<T, R>(c, "g_c_n");
  const auto grads = lstm.backward(tape, input_of<T, R>(c, "g_out"), {g_h, g_c});
  compare_gradient("grad_x", grads.input, c, s);
  if (state) {
    compare_gradient("grad_h0", grads.h0, c, s);
    compare_gradient("grad_c0", grads.c0, c, s);
  }
  compare_parameter_gradients<T>(lstm, c, s);
}

template <typename T, int R, typename Cell>
void run_hidden_state_cell(const golden::Case& c, Cell& cell, ErrorStats& s) {
  check_structure_and_load<T>(cell, c);
  cell.zero_grad();
  const auto x = input_of<T, R>(c, "x");
  const bool state = c.find_input("h0") != nullptr;
  seqnet::RecurrentTape<T> tape;
  const seqnet::Tensor<T, R> h1 = state ? cell.forward_train(tape, x, input_of<T, R>(c, "h0")) : cell.forward_train(tape, x);
  compare("h1", h1, c.find_output("h1"), s, c.name);
  const auto grads = cell.backward(tape, input_of<T, R>(c, "g_h1"));
  compare_gradient("grad_x", grads.input, c, s);
  if (state) compare_gradient("grad_h0", grads.h0, c, s);
  compare_parameter_gradients<T>(cell, c, s);
}

template <typename T, int R>
void run_lstm_cell(const golden::Case& c, ErrorStats& s) {
  seqnet::LSTMCell<T> cell = make_lstm_cell<T>(c);
  check_structure_and_load<T>(cell, c);
  cell.zero_grad();
  const auto x = input_of<T, R>(c, "x");
  const bool state = c.find_input("h0") != nullptr;
  seqnet::RecurrentTape<T> tape;
  seqnet::LSTMState<T, R> hc;
  if (state) {
    const auto h0 = input_of<T, R>(c, "h0"), c0 = input_of<T, R>(c, "c0");
    hc = cell.forward_train(tape, x, {h0, c0});
  } else {
    hc = cell.forward_train(tape, x);
  }
  compare("h1", hc.first, c.find_output("h1"), s, c.name);
  compare("c1", hc.second, c.find_output("c1"), s, c.name);
  const auto grads = cell.backward(tape, input_of<T, R>(c, "g_h1"), input_of<T, R>(c, "g_c1"));
  compare_gradient("grad_x", grads.input, c, s);
  if (state) {
    compare_gradient("grad_h0", grads.h0, c, s);
    compare_gradient("grad_c0", grads.c0, c, s);
  }
  compare_parameter_gradients<T>(cell, c, s);
}

template <typename T, int R>
void run_case_of_rank(const golden::Case& c, ErrorStats& s) {
  if (c.module == "RNN") {
    seqnet::RNN<T> rnn = make_rnn<T>(c);
    run_hidden_state_module<T, R>(c, rnn, s);
  } else if (c.module == "GRU") {
    seqnet::GRU<T> gru = make_gru<T>(c);
    run_hidden_state_module<T, R>(c, gru, s);
  } else if (c.module == "LSTM") {
    run_lstm<T, R>(c, s);
  } else if (c.module == "RNNCell") {
    seqnet::RNNCell<T> cell = make_rnn_cell<T>(c);
    run_hidden_state_cell<T, R>(c, cell, s);
  } else if (c.module == "GRUCell") {
    seqnet::GRUCell<T> cell = make_gru_cell<T>(c);
    run_hidden_state_cell<T, R>(c, cell, s);
  } else {
    REQUIRE(c.module == "LSTMCell");
    run_lstm_cell<T, R>(c, s);
  }
}

template <typename T>
void run_grad_file(const GradFile& source = grad_golden) {
  const char* dtype = golden::Precision<T>::name;
  INFO("golden file " << path_of<T>(source) << " (regenerate: " << source.script << ")");
  const golden::File* loaded = nullptr;
  try {
    loaded = &grad_file<T>(source);
  } catch (const std::exception& e) {
    FAIL("cannot load the golden gradients: " << e.what());
  }
  const golden::File& file = *loaded;
  REQUIRE(file.dtype == dtype);
  REQUIRE(file.cases.size() >= source.min_cases);
  ErrorStats& s = stats<T>(source.prefix);
  for (const auto& c : file.cases) {
    DYNAMIC_SECTION(dtype << " " << c.name) {
      INFO("case " << c.name << ": " << c.module << " " << c.repr << ", mode " << c.mode);
      const std::size_t rank = c.find_input("x")->rank();
      const bool cell = c.module.size() > 4 && c.module.compare(c.module.size() - 4, 4, "Cell") == 0;
      REQUIRE((cell ? (rank == 1 || rank == 2) : (rank == 2 || rank == 3)));
      switch (rank) {
        case 1: run_case_of_rank<T, 1>(c, s); break;
        case 2: run_case_of_rank<T, 2>(c, s); break;
        default: run_case_of_rank<T, 3>(c, s); break;
      }
      ++s.cases_compared;
    }
  }
  SECTION(std::string(source.prefix) + " " + dtype + " summary") {
    std::ostringstream line;
    line << source.prefix << " " << dtype << ": " << s.cases_compared << "/" << file.cases.size() << " cases (torch "
         << file.torch_version << "), " << s.elements << " elements; max abs err " << s.max_abs << ", max rel err "
         << s.max_rel << " at " << s.max_rel_where << "; max err/tolerance " << s.max_ratio << " at "
         << s.max_ratio_where;
    std::cout << line.str() << std::endl;
    CHECK(s.cases_compared == file.cases.size());
  }
}

}  // namespace

TEST_CASE("backward: float64 gradients of RNN/LSTM/GRU and their cells match torch.autograd", "[backward][float64]") {
  run_grad_file<double>();
}

TEST_CASE("backward: float32 gradients of RNN/LSTM/GRU and their cells match torch.autograd", "[backward][float32]") {
  run_grad_file<float>();
}

// Training-mode dropout between layers, with PyTorch's own masks replayed (RecurrentTape::replay_dropout_masks):
// outputs and gradients equal PyTorch's, so the masks are applied where PyTorch applies them, forward and back.
TEST_CASE("backward: training-mode dropout with PyTorch's masks replayed matches torch.autograd (float64)",
          "[backward][dropout][float64]") {
  run_grad_file<double>(dropout_golden);
}
TEST_CASE("backward: training-mode dropout with PyTorch's masks replayed matches torch.autograd (float32)",
          "[backward][dropout][float32]") {
  run_grad_file<float>(dropout_golden);
}

// PyTorch's cells accept input_size 0 (the step runs on the biases and h) and hidden_size 0 (empty results,
// zero input gradients): the training forward and backward against torch.autograd on such cells.
TEST_CASE("backward: float64 cells with input_size or hidden_size 0 match torch.autograd",
          "[backward][zero_size][float64]") {
  run_grad_file<double>(zero_size_golden);
}

TEST_CASE("backward: float32 cells with input_size or hidden_size 0 match torch.autograd",
          "[backward][zero_size][float32]") {
  run_grad_file<float>(zero_size_golden);
}

namespace {

/// sum(out * w_out) + sum(h_n * w_h) + sum(c_n * w_c): a scalar whose gradient at the results is (w_out, w_h, w_c).
template <typename Output>
double weighted_sum(const Output& result, const seqnet::Tensor<double, 3>& w_out, const seqnet::Tensor<double, 3>& w_h,
                    const seqnet::Tensor<double, 3>& w_c) {
  const seqnet::Tensor<double, 0> a = (result.first * w_out).sum();
  const seqnet::Tensor<double, 0> b = (result.second.first * w_h).sum();
  const seqnet::Tensor<double, 0> c = (result.second.second * w_c).sum();
  return a() + b() + c();
}

}  // namespace

// Training-mode dropout with seqnet's own masks, against central finite differences of seqnet's forward
// with the same masks (the generator restarted before each call); PyTorch's masks are replayed above.
TEST_CASE("backward: training-mode dropout between layers matches finite differences", "[backward][float64]") {
  seqnet::Generator generator(11);
  seqnet::LSTM<double> lstm(seqnet::LSTMOptions(3, 4).num_layers(3).dropout(0.4).bidirectional(true), generator);
  seqnet::Generator masks(5);
  lstm.set_generator(masks);
  const auto x = seqnet::randn<double>(5, 2, 3);
  const auto w_out = seqnet::randn<double>(5, 2, 8), w_h = seqnet::randn<double>(6, 2, 4), w_c = seqnet::randn<double>(6, 2, 4);
  const seqnet::SequenceLengths lengths = seqnet::SequenceLengths({3, 5}).enforce_sorted(false);
  auto loss = [&] {
    masks.manual_seed(5);
    return weighted_sum(lstm(x, lengths), w_out, w_h, w_c);
  };
  seqnet::RecurrentTape<double> tape;
  masks.manual_seed(5);
  const auto result = lstm.forward_train(tape, x, lengths);
  CHECK(weighted_sum(result, w_out, w_h, w_c) == loss());  // the recorded call is the plain forward, bit for bit
  lstm.zero_grad();
  lstm.backward(tape, w_out, {w_h, w_c});
  std::size_t checked = 0;
  double worst = 0.0;
  for (const auto& [name, grad] : std::as_const(lstm).named_gradients()) {
    for (seqnet::Index i = 0; i < grad.size(); i += 5) {
      double* value = lstm.parameter(name).data() + i;
      const double saved = *value, step = 1e-6;
      *value = saved + step;
      const double up = loss();
      *value = saved - step;
      const double down = loss();
      *value = saved;
      const double numeric = (up - down) / (2 * step);
      worst = std::max(worst, std::abs(numeric - grad.data()[i]) / (1.0 + std::abs(numeric)));
      ++checked;
    }
  }
  INFO(checked << " parameter elements, worst |numeric - analytic| / (1 + |numeric|) " << worst);
  CHECK(checked > 100);
  CHECK(worst < 1e-7);
}

TEST_CASE("backward: gradients accumulate across calls until zero_grad", "[backward]") {
  seqnet::GRU<double> gru(seqnet::GRUOptions(3, 4).num_layers(2));
  const auto x = seqnet::randn<double>(4, 2, 3);
  const auto g_out = seqnet::randn<double>(4, 2, 4);
  seqnet::RecurrentTape<double> tape;
  gru.forward_train(tape, x);
  gru.zero_grad();
  const auto first = gru.backward(tape, g_out);
  std::vector<double> once(gru.flat_gradients(), gru.flat_gradients() + gru.num_parameters());
  const auto second = gru.backward(tape, g_out);  // a tape may be replayed, like retain_graph=True
  for (seqnet::Index i = 0; i < gru.num_parameters(); ++i) REQUIRE(gru.flat_gradients()[i] == 2 * once[static_cast<std::size_t>(i)]);
  for (seqnet::Index i = 0; i < first.input.size(); ++i) REQUIRE(first.input.data()[i] == second.input.data()[i]);
  gru.zero_grad();
  for (seqnet::Index i = 0; i < gru.num_parameters(); ++i) REQUIRE(gru.flat_gradients()[i] == 0.0);
  // Gradients are not parameters: writing them keeps a prepacked module prepacked.
  gru.prepack();
  gru.forward_train(tape, x);
  gru.backward(tape, g_out);
  CHECK(gru.is_prepacked());
}

TEST_CASE("backward: eval mode works and gives the gradients of the deterministic forward", "[backward]") {
  seqnet::RNN<double> rnn(seqnet::RNNOptions(3, 4).num_layers(2).dropout(0.5));
  rnn.eval();
  const auto x = seqnet::randn<double>(4, 2, 3);
  seqnet::RecurrentTape<double> tape_a, tape_b;
  const auto a = rnn.forward_train(tape_a, x);
  const auto b = rnn.forward_train(tape_b, x);
  for (seqnet::Index i = 0; i < a.first.size(); ++i) REQUIRE(a.first.data()[i] == b.first.data()[i]);
  const auto plain = rnn(x);
  for (seqnet::Index i = 0; i < a.first.size(); ++i) CHECK(a.first.data()[i] == plain.first.data()[i]);
  CHECK(tape_a.recorded());
  CHECK(tape_a.elements() > 0);
}

TEST_CASE("backward: misuse is reported", "[backward][errors]") {
  seqnet::LSTM<double> lstm(3, 4), other(3, 4);
  const auto x = seqnet::randn<double>(4, 2, 3);
  const auto g_out = seqnet::randn<double>(4, 2, 4);
  seqnet::RecurrentTape<double> tape;
  CHECK_THROWS_WITH(lstm.backward(tape, g_out), Catch::Contains("holds no recorded forward call"));
  lstm.forward_train(tape, x);
  CHECK_THROWS_AS(other.backward(tape, g_out), seqnet::value_error);
  CHECK_THROWS_WITH(other.backward(tape, g_out), Catch::Contains("recorded by another module"));
  const auto wrong = seqnet::randn<double>(4, 2, 5);
  CHECK_THROWS_AS(lstm.backward(tape, wrong), seqnet::shape_error);
  CHECK_THROWS_WITH(lstm.backward(tape, wrong), Catch::Contains("grad_output has shape [4, 2, 5], expected [4, 2, 4]"));
  lstm.parameter("weight_hh_l0").data()[0] += 1.0;  // an optimizer step between forward and backward
  CHECK_THROWS_WITH(lstm.backward(tape, g_out), Catch::Contains("modified by an inplace operation"));
  lstm.forward_train(tape, x);
  CHECK_NOTHROW(lstm.backward(tape, g_out));
}

TEST_CASE("replayed dropout masks: checked against the call, used by one recording only", "[backward][dropout]") {
  seqnet::LSTM<double> lstm(seqnet::LSTMOptions(3, 4).num_layers(3).dropout(0.5).batch_first(true));
  const auto x = seqnet::randn<double>(2, 5, 3);
  seqnet::Tensor<double, 3> ones(2, 5, 4), twos(2, 5, 4), wrong(5, 2, 4);
  ones.setConstant(1.0);
  twos.setConstant(2.0);
  wrong.setConstant(1.0);
  seqnet::RecurrentTape<double> tape;

  // All-ones masks: the forward of a module without dropout, whatever p says.
  tape.replay_dropout_masks(std::vector<seqnet::Tensor<double, 3>>{ones, ones});
  CHECK(tape.has_dropout_masks());
  const auto replayed = lstm.forward_train(tape, x);
  CHECK_FALSE(tape.has_dropout_masks());
  lstm.eval();
  const auto plain = lstm.forward_train(tape, x);
  for (seqnet::Index i = 0; i < plain.first.size(); ++i) CHECK(replayed.first.data()[i] == plain.first.data()[i]);

  // Eval mode applies no dropout: masks given then are an error, not silently ignored.
  tape.replay_dropout_masks(std::vector<seqnet::Tensor<double, 3>>{ones, ones});
  CHECK_THROWS_WITH(lstm.forward_train(tape, x), Catch::Contains("dropout masks were given, but this call applies no dropout"));
  lstm.train();
  tape.replay_dropout_masks(std::vector<seqnet::Tensor<double, 3>>{ones});
  CHECK_THROWS_WITH(lstm.forward_train(tape, x), Catch::Contains("expected 2 dropout masks (one per layer but the last), got 1"));
  tape.replay_dropout_masks(std::vector<seqnet::Tensor<double, 3>>{ones, wrong});
  CHECK_THROWS_AS(lstm.forward_train(tape, x), seqnet::shape_error);
  CHECK_THROWS_WITH(lstm.forward_train(tape, x), Catch::Contains("dropout mask 1 has shape [5, 2, 4], expected [2, 5, 4]"));

  // Masks of 2 where PyTorch's would be 0 or 2 (p = 0.5): the output differs from all-ones.
  tape.replay_dropout_masks(std::vector<seqnet::Tensor<double, 3>>{twos, twos});
  const auto doubled = lstm.forward_train(tape, x);
  bool differs = false;
  for (seqnet::Index i = 0; i < plain.first.size(); ++i) differs = differs || doubled.first.data()[i] != plain.first.data()[i];
  CHECK(differs);
}
