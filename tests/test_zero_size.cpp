// Zero-size dimensions behave as in PyTorch 2.x (checked with torch 2 on these exact calls): an error with
// PyTorch's text where PyTorch raises (sequence length 0, packing a batch of 0, RNN/GRU/LSTM sizes of 0), an
// empty result of PyTorch's shape where it returns one (batch 0 for modules and cells, empty Linear and
// Embedding inputs, Linear with 0 input or output features, cells with input_size or hidden_size 0).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include <seqnet/seqnet.hpp>

#include "golden_io.hpp"
#include "golden_modules.hpp"
#include "tensor_compare.hpp"

#ifndef SEQNET_GOLDEN_DIR
#error "SEQNET_GOLDEN_DIR must name the tests/golden directory"
#endif

namespace {

using seqnet::Index;
using seqnet::Shape;
using seqnet::Tensor;
using seqnet::zeros;
using seqnet_test::message_of;

}  // namespace

TEMPLATE_TEST_CASE("a sequence of length 0 is an error, as in PyTorch", "[zero_size][errors]", float, double) {
  using T = TestType;
  const char* const message = "Expected sequence length to be larger than 0 in RNN";
  CHECK(message_of<seqnet::shape_error>([] { seqnet::RNN<T>(5, 4, 2)(zeros<T>(0, 3, 5)); }) == message);
  CHECK(message_of<seqnet::shape_error>([] { seqnet::GRU<T>(5, 4, 2)(zeros<T>(0, 3, 5)); }) == message);
  CHECK(message_of<seqnet::shape_error>([] { seqnet::LSTM<T>(5, 4, 2)(zeros<T>(0, 3, 5)); }) == message);
  CHECK(message_of<seqnet::shape_error>([] { seqnet::LSTM<T>(5, 4)(zeros<T>(0, 5)); }) == message);  // unbatched
  CHECK(message_of<seqnet::shape_error>([] { seqnet::LSTM<T>(5, 4)(zeros<T>(4, 3, 0)); }) ==
        "input.size(-1) must be equal to input_size. Expected 5, got 0");
}

TEST_CASE("module sizes of 0 are errors, as in PyTorch", "[zero_size][errors]") {
  CHECK(message_of<seqnet::value_error>([] { seqnet::LSTM<float>(5, 0); }) == "hidden_size must be greater than zero");
  CHECK(message_of<seqnet::value_error>([] { seqnet::GRU<float>(0, 4); }) == "input_size must be greater than zero");
  CHECK(message_of<seqnet::value_error>([] { seqnet::RNN<float>(5, 4, 0); }) == "num_layers must be greater than zero");
}

TEMPLATE_TEST_CASE("a batch of 0 gives empty outputs of PyTorch's shapes", "[zero_size]", float, double) {
  using T = TestType;
  {
    const auto [out, hc] = seqnet::LSTM<T>(5, 4, 2)(zeros<T>(4, 0, 5));
    CHECK(seqnet::shape(out) == Shape{4, 0, 4});
    CHECK(seqnet::shape(hc.first) == Shape{2, 0, 4});
    CHECK(seqnet::shape(hc.second) == Shape{2, 0, 4});
  }
  {
    const auto [out, h] = seqnet::GRU<T>(5, 4, 2)(zeros<T>(4, 0, 5));
    CHECK(seqnet::shape(out) == Shape{4, 0, 4});
    CHECK(seqnet::shape(h) == Shape{2, 0, 4});
  }
  {
    const auto [out, h] = seqnet::RNN<T>(seqnet::RNNOptions(5, 4).batch_first(true))(zeros<T>(0, 4, 5));
    CHECK(seqnet::shape(out) == Shape{0, 4, 4});
    CHECK(seqnet::shape(h) == Shape{1, 0, 4});
  }
  {
    const seqnet::LSTM<T> projected(seqnet::LSTMOptions(5, 4).proj_size(2).bidirectional(true));
    const auto [out, hc] = projected(zeros<T>(2, 0, 5));
    CHECK(seqnet::shape(out) == Shape{2, 0, 4});
    CHECK(seqnet::shape(hc.first) == Shape{2, 0, 2});
    CHECK(seqnet::shape(hc.second) == Shape{2, 0, 4});
  }
  {
    const auto [out, hc] = seqnet::LSTM<T>(5, 4)(zeros<T>(2, 0, 5), {zeros<T>(1, 0, 4), zeros<T>(1, 0, 4)});
    CHECK(seqnet::shape(out) == Shape{2, 0, 4});
    CHECK(seqnet::shape(hc.first) == Shape{1, 0, 4});
  }
  CHECK(seqnet::shape(seqnet::RNNCell<T>(5, 4)(zeros<T>(0, 5))) == Shape{0, 4});
  CHECK(seqnet::shape(seqnet::GRUCell<T>(5, 4)(zeros<T>(0, 5))) == Shape{0, 4});
  const auto hc = seqnet::LSTMCell<T>(5, 4)(zeros<T>(0, 5));
  CHECK(seqnet::shape(hc.first) == Shape{0, 4});
  CHECK(seqnet::shape(hc.second) == Shape{0, 4});
}

TEST_CASE("sequence lengths on a batch of 0 are pack_padded_sequence's error", "[zero_size][errors][packed]") {
  const seqnet::LSTM<float> lstm(5, 4);
  const char* const message = "Cannot pack empty tensors.";
  CHECK(message_of<seqnet::shape_error>([&] { lstm(zeros<float>(3, 0, 5), seqnet::SequenceLengths(std::vector<Index>{})); }) ==
        message);
  CHECK(message_of<seqnet::shape_error>([&] {
          lstm(zeros<float>(3, 0, 5), seqnet::SequenceLengths(std::vector<Index>{}).enforce_sorted(false));
        }) == message);
  CHECK(message_of<seqnet::shape_error>([&] { lstm(zeros<float>(3, 0, 5), seqnet::SequenceLengths{3}); }) == message);
}

TEST_CASE("Linear and Embedding with zero-size dimensions give PyTorch's empty or bias-only results", "[zero_size]") {
  {
    // in_features 0: every output is its bias (a sum over nothing), and the bias is drawn from U(0, 0).
    const seqnet::Linear<float> linear(0, 3);
    const Tensor<float, 2> y = linear(zeros<float>(2, 0));
    REQUIRE(seqnet::shape(y) == Shape{2, 3});
    for (Index i = 0; i < y.size(); ++i) CHECK(y.data()[i] == 0.0f);
  }
  CHECK(seqnet::shape(seqnet::Linear<float>(3, 0)(zeros<float>(2, 3))) == Shape{2, 0});
  CHECK(seqnet::shape(seqnet::Linear<float>(3, 2)(zeros<float>(0, 3))) == Shape{0, 2});
  CHECK(seqnet::shape(seqnet::Embedding<float>(5, 3)(std::vector<std::int64_t>{})) == Shape{0, 3});
  CHECK(seqnet::shape(seqnet::Embedding<float>(5, 0)({1, 2})) == Shape{2, 0});
  CHECK(seqnet::shape(seqnet::Embedding<float>(0, 3)(std::vector<std::int64_t>{})) == Shape{0, 3});
}

// ---------------------------------------------------------------------------------------------------------
// Cells with input_size or hidden_size 0. PyTorch 2.x builds them (nn.RNN/GRU/LSTM refuse the same sizes):
// an input_size-0 cell's weight_ih is [G*H, 0] and its step runs on the biases and h alone; a hidden_size-0
// cell has only empty parameters and returns [batch, 0]. Values: tests/golden/zero_size_*.txt
// (tools/gen_golden_zero_size.py); the training forward and backward are checked in test_backward.cpp.
// ---------------------------------------------------------------------------------------------------------

namespace {

using namespace golden_modules;

template <typename T>
const golden::File& zero_size_golden() {
  static const golden::File file =
      golden::load(std::string(SEQNET_GOLDEN_DIR) + "/zero_size_" + golden::Precision<T>::name + ".txt");
  return file;
}

template <typename T>
Tensor<T, 3> as_layer_state(const Tensor<T, 2>& state) {
  Tensor<T, 3> out(1, state.dimension(0), state.dimension(1));
  std::copy(state.data(), state.data() + state.size(), out.data());
  return out;
}

/// h' of an RNNCell or GRUCell through forward, forward_into (resizing, then in place) and, batched, a
/// Stream's step, unprepacked and then prepacked (batch 1: TinyStep).
template <typename T, int R, typename Cell>
void hidden_state_cell_paths(const golden::Case& c, Cell& cell, ErrorStats& s) {
  check_structure_and_load<T>(cell, c);
  const auto x = to_tensor<T, R>(*c.find_input("x"));
  const golden::Tensor* h0 = c.find_input("h0");
  const golden::Tensor* expected = c.find_output("h1");
  for (const bool prepacked : {false, true}) {
    INFO((prepacked ? "prepacked" : "unprepacked"));
    if (prepacked) cell.prepack();
    compare("h1", h0 != nullptr ? cell(x, to_tensor<T, R>(*h0)) : cell(x), expected, s, c.name);
    Tensor<T, R> into;
    if (h0 != nullptr) {
      cell.forward_into(x, to_tensor<T, R>(*h0), into);
      compare("h1 (forward_into)", into, expected, s, c.name);
      Tensor<T, R> state = to_tensor<T, R>(*h0);
      cell.forward_into(x, state, state);
      compare("h1 (in place)", state, expected, s, c.name);
    } else {
      cell.forward_into(x, into);
      compare("h1 (forward_into)", into, expected, s, c.name);
    }
    if constexpr (R == 2) {
      seqnet::Stream<Cell> stream(cell, x.dimension(0));
      if (h0 != nullptr) stream.reset(as_layer_state(to_tensor<T, 2>(*h0)));
      compare("h1 (Stream::step)", stream.step(x), expected, s, c.name);
    }
    CHECK(cell.is_prepacked() == prepacked);
  }
}

template <typename T, int R>
void lstm_cell_paths(const golden::Case& c, ErrorStats& s) {
  seqnet::LSTMCell<T> cell = make_lstm_cell<T>(c);
  check_structure_and_load<T>(cell, c);
  const auto x = to_tensor<T, R>(*c.find_input("x"));
  const bool state = c.find_input("h0") != nullptr;
  const golden::Tensor* h1 = c.find_output("h1");
  const golden::Tensor* c1 = c.find_output("c1");
  for (const bool prepacked : {false, true}) {
    INFO((prepacked ? "prepacked" : "unprepacked"));
    if (prepacked) cell.prepack();
    seqnet::LSTMState<T, R> hc;
    if (state) {
      const auto h0 = to_tensor<T, R>(*c.find_input("h0")), c0 = to_tensor<T, R>(*c.find_input("c0"));
      hc = cell(x, {h0, c0});
      compare("h1", hc.first, h1, s, c.name);
      compare("c1", hc.second, c1, s, c.name);
      seqnet::LSTMState<T, R> carried{h0, c0};
      cell.forward_into(x, carried, carried);
      compare("h1 (in place)", carried.first, h1, s, c.name);
      compare("c1 (in place)", carried.second, c1, s, c.name);
    } else {
      hc = cell(x);
      compare("h1", hc.first, h1, s, c.name);
      compare("c1", hc.second, c1, s, c.name);
      seqnet::LSTMState<T, R> into;
      cell.forward_into(x, into);
      compare("h1 (forward_into)", into.first, h1, s, c.name);
      compare("c1 (forward_into)", into.second, c1, s, c.name);
    }
    if constexpr (R == 2) {
      seqnet::Stream<seqnet::LSTMCell<T>> stream(cell, x.dimension(0));
      if (state)
        stream.reset(as_layer_state(to_tensor<T, 2>(*c.find_input("h0"))),
                     as_layer_state(to_tensor<T, 2>(*c.find_input("c0"))));
      compare("h1 (Stream::step)", stream.step(x), h1, s, c.name);
      const Tensor<T, 3> expected_c = as_layer_state(to_tensor<T, 2>(*c1));
      CHECK(seqnet::shape(stream.c()) == seqnet::shape(expected_c));
      for (Index i = 0; i < expected_c.size(); ++i)
        CHECK(std::abs(static_cast<double>(stream.c().data()[i] - expected_c.data()[i])) <=
              Precision<T>::rtol * std::abs(static_cast<double>(expected_c.data()[i])) + Precision<T>::atol);
    }
  }
}

template <typename T, int R>
void zero_size_case(const golden::Case& c, ErrorStats& s) {
  if (c.module == "RNNCell") {
    seqnet::RNNCell<T> cell = make_rnn_cell<T>(c);
    hidden_state_cell_paths<T, R>(c, cell, s);
  } else if (c.module == "GRUCell") {
    seqnet::GRUCell<T> cell = make_gru_cell<T>(c);
    hidden_state_cell_paths<T, R>(c, cell, s);
  } else {
    REQUIRE(c.module == "LSTMCell");
    lstm_cell_paths<T, R>(c, s);
  }
}

}  // namespace

TEMPLATE_TEST_CASE("cells with input_size or hidden_size 0 step as PyTorch's on every inference path",
                   "[zero_size][cell][golden]", float, double) {
  using T = TestType;
  const golden::File& file = zero_size_golden<T>();
  REQUIRE(file.dtype == golden::Precision<T>::name);
  REQUIRE(file.cases.size() >= 19);
  std::size_t zero_input = 0, zero_hidden = 0;
  for (const golden::Case& c : file.cases) {
    if (c.int_option("input_size") == 0) ++zero_input;
    if (c.int_option("hidden_size") == 0) ++zero_hidden;
  }
  CHECK(zero_input >= 10);
  CHECK(zero_hidden >= 5);
  ErrorStats& s = stats<T>("zero_size inference");
  for (const golden::Case& c : file.cases) {
    DYNAMIC_SECTION(c.name) {
      INFO("case " << c.name << ": " << c.repr);
      if (c.find_input("x")->rank() == 1) {
        zero_size_case<T, 1>(c, s);
      } else {
        zero_size_case<T, 2>(c, s);
      }
    }
  }
}

TEST_CASE("cells of size 0 have PyTorch's parameters, repr and no random draws of their own", "[zero_size][cell]") {
  const seqnet::LSTMCell<double> lstm(0, 4);
  std::vector<std::string> shapes;
  for (const auto& [name, p] : lstm.named_parameters()) shapes.push_back(name + p.dimensions().str());
  CHECK(shapes == std::vector<std::string>{"weight_ih[16, 0]", "weight_hh[16, 4]", "bias_ih[16]", "bias_hh[16]"});
  CHECK(lstm.repr() == "LSTMCell(0, 4)");
  const seqnet::GRUCell<float> empty(0, 0);
  shapes.clear();
  for (const auto& [name, p] : empty.named_parameters()) shapes.push_back(name + p.dimensions().str());
  CHECK(shapes == std::vector<std::string>{"weight_ih[0, 0]", "weight_hh[0, 0]", "bias_ih[0]", "bias_hh[0]"});
  CHECK(empty.num_parameters() == 0);
  CHECK(seqnet::RNNCell<float>(3, 0, false, seqnet::Nonlinearity::Relu).repr() == "RNNCell(3, 0, bias=False, nonlinearity=relu)");

  // One U(-1/sqrt(H), 1/sqrt(H)) draw per element, in order, as every recurrent module; hidden_size 0 has
  // no elements and draws nothing (PyTorch's bound is 0 there, never 1/sqrt(0)).
  seqnet::Generator generator(42), reference(42);
  const seqnet::LSTMCell<double> drawn(seqnet::LSTMCellOptions(0, 4), generator);
  REQUIRE(drawn.num_parameters() == 16 * 4 + 2 * 16);
  for (Index i = 0; i < drawn.num_parameters(); ++i) REQUIRE(drawn.flat_parameters()[i] == reference.uniform(-0.5, 0.5));
  const seqnet::GRUCell<double> none(seqnet::GRUCellOptions(5, 0), generator);
  CHECK(none.num_parameters() == 0);
  CHECK(generator.uniform01() == reference.uniform01());
}

TEST_CASE("cells of size 0 save and load through state dicts and safetensors files", "[zero_size][cell][state_dict]") {
  seqnet::Generator g1(1), g2(2);
  const seqnet::LSTMCell<double> source(seqnet::LSTMCellOptions(0, 3), g1);
  seqnet::LSTMCell<double> target(seqnet::LSTMCellOptions(0, 3), g2);
  CHECK(seqnet::load_state_dict(target, seqnet::state_dict(source)).empty());
  for (const auto& [name, p] : source.named_parameters()) CHECK(target.parameter(name).flat() == p.flat());

  const std::string path = "seqnet_test_zero_size_cell.safetensors";
  const seqnet::GRUCell<float> empty(4, 0);
  seqnet::save_safetensors(path, empty);
  seqnet::GRUCell<float> loaded(4, 0);
  CHECK(seqnet::load_safetensors(path, loaded).empty());
  seqnet::LSTMCell<double> other(seqnet::LSTMCellOptions(1, 3), g2);
  CHECK_THROWS_AS(seqnet::load_state_dict(other, seqnet::state_dict(source)), std::invalid_argument);
  std::remove(path.c_str());
}

TEST_CASE("negative cell sizes are torch.empty's error; zero-size cells do not convert to layers",
          "[zero_size][cell][errors]") {
  // torch.nn.LSTMCell(-1, 4) fails creating weight_ih [4 * hidden_size, input_size] (PyTorch 2.x text).
  CHECK(message_of<seqnet::value_error>([] { seqnet::LSTMCell<float>(-1, 4); }) ==
        "Trying to create tensor with negative dimension -1: [16, -1]");
  CHECK(message_of<seqnet::value_error>([] { seqnet::LSTMCell<float>(3, -1); }) ==
        "Trying to create tensor with negative dimension -4: [-4, 3]");
  CHECK(message_of<seqnet::value_error>([] { seqnet::LSTMCell<float>(-1, -1); }) ==
        "Trying to create tensor with negative dimension -4: [-4, -1]");
  CHECK(message_of<seqnet::value_error>([] { seqnet::GRUCell<double>(2, -2); }) ==
        "Trying to create tensor with negative dimension -6: [-6, 2]");
  CHECK(message_of<seqnet::value_error>([] { seqnet::RNNCell<double>(-2, 0); }) ==
        "Trying to create tensor with negative dimension -2: [0, -2]");
  CHECK_THROWS_AS(seqnet::LSTMCell<float>(3, std::numeric_limits<Index>::min()), seqnet::value_error);

  // A one-layer RNN/GRU/LSTM cannot have a size of 0: converting such a cell is the module's ValueError.
  CHECK(message_of<seqnet::value_error>([] { seqnet::layer_from_cell(seqnet::LSTMCell<float>(0, 4)); }) ==
        "input_size must be greater than zero");
  CHECK(message_of<seqnet::value_error>([] { seqnet::layer_from_cell(seqnet::GRUCell<float>(3, 0)); }) ==
        "hidden_size must be greater than zero");
  CHECK(message_of<seqnet::value_error>([] { seqnet::layer_from_cell(seqnet::RNNCell<double>(0, 0)); }) ==
        "input_size must be greater than zero");
}
