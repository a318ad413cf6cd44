// Zero-size dimensions behave as in PyTorch 2.x (checked with torch 2 on these exact calls): an error with
// PyTorch's text where PyTorch raises (sequence length 0, packing a batch of 0, module sizes of 0), an
// empty result of PyTorch's shape where it returns one (batch 0 for modules and cells, empty Linear and
// Embedding inputs, Linear with 0 input or output features).
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include <seqnet/seqnet.hpp>

#include "tensor_compare.hpp"

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
