// Streaming: feeding a sequence step by step or in chunks gives the result of one call on the whole
// sequence, and a stream's steady-state steps reuse their buffers.
#include <catch2/catch.hpp>

#include <string>
#include <type_traits>

#include <seqnet/seqnet.hpp>

#include "tensor_compare.hpp"

namespace {

using seqnet::Index;
using seqnet::Tensor;

/// Steps `[from, to)` of a `[seq, batch, F]` tensor (or `[batch, seq, F]` when batch_first).
template <typename T>
Tensor<T, 3> steps(const Tensor<T, 3>& x, Index from, Index to, bool batch_first) {
  const int axis = batch_first ? 1 : 0;
  Eigen::array<Index, 3> offsets{0, 0, 0}, extents{x.dimension(0), x.dimension(1), x.dimension(2)};
  offsets[static_cast<std::size_t>(axis)] = from;
  extents[static_cast<std::size_t>(axis)] = to - from;
  return x.slice(offsets, extents);
}

/// Runs `module` on `x` whole, then as a stream in chunks of `chunk` steps: the results must be the same
/// bits (each step's input projection does not depend on how many steps are projected together).
template <typename Module, typename T = typename Module::Scalar>
void check_stream_matches_whole(const Module& module, const Tensor<T, 3>& x, Index chunk) {
  const bool batch_first = module.spec().batch_first;
  const Index seq = x.dimension(batch_first ? 1 : 0), batch = x.dimension(batch_first ? 0 : 1);
  const auto whole = module(x);
  seqnet::Stream<Module> stream(module, batch);
  for (Index from = 0; from < seq; from += chunk) {
    const Index to = std::min(seq, from + chunk);
    const Tensor<T, 3> out = stream.feed(steps(x, from, to, batch_first));
    INFO("chunk [" << from << ", " << to << ")");
    CHECK(seqnet_test::identical(out, steps(whole.first, from, to, batch_first)));
  }
  if constexpr (std::is_same_v<Module, seqnet::LSTM<T>>) {
    CHECK(seqnet_test::identical(stream.h(), whole.second.first));
    CHECK(seqnet_test::identical(stream.c(), whole.second.second));
  } else {
    CHECK(seqnet_test::identical(stream.h(), whole.second));
  }
}

}  // namespace

TEMPLATE_TEST_CASE("a stream fed in any split equals one call on the whole sequence", "[stream]", float, double) {
  using T = TestType;
  seqnet::Generator generator(3);
  seqnet::LSTM<T> lstm(seqnet::LSTMOptions(5, 8).num_layers(3), generator);
  seqnet::LSTM<T> projected(seqnet::LSTMOptions(5, 8).num_layers(2).proj_size(3).batch_first(true), generator);
  seqnet::GRU<T> gru(seqnet::GRUOptions(5, 8).num_layers(2), generator);
  seqnet::RNN<T> rnn(seqnet::RNNOptions(5, 8).nonlinearity(seqnet::Nonlinearity::Relu).batch_first(true), generator);
  const Tensor<T, 3> x = seqnet::randn<T>(7, 3, 5);
  for (Index chunk : {1, 2, 3, 7}) {
    INFO("chunk size " << chunk);
    check_stream_matches_whole(lstm, x, chunk);
    check_stream_matches_whole(projected, x, chunk);  // x read as [batch 7, seq 3, 5]
    check_stream_matches_whole(gru, x, chunk);
    check_stream_matches_whole(rnn, x, chunk);
  }
}

TEMPLATE_TEST_CASE("a stream equals the whole call at GEMM sizes too", "[stream]", float, double) {
  using T = TestType;
  seqnet::Generator generator(4);
  seqnet::LSTM<T> lstm(seqnet::LSTMOptions(64, 96).num_layers(2), generator);
  seqnet::GRU<T> gru(seqnet::GRUOptions(64, 96), generator);
  for (Index batch : {4, 1}) {
    const Tensor<T, 3> x = seqnet::randn<T>(9, batch, 64);
    for (Index chunk : {1, 4, 9}) {
      INFO("batch " << batch << ", chunk size " << chunk);
      check_stream_matches_whole(lstm, x, chunk);
      check_stream_matches_whole(gru, x, chunk);
    }
  }
}

TEST_CASE("stream steps, resets and states", "[stream]") {
  seqnet::LSTM<float> lstm(seqnet::LSTMOptions(4, 6).num_layers(2));
  lstm.eval();
  const Tensor<float, 3> x = seqnet::randn<float>(5, 2, 4);
  const Tensor<float, 3> h0 = seqnet::randn<float>(2, 2, 6), c0 = seqnet::randn<float>(2, 2, 6);
  const auto whole = lstm(x, {h0, c0});

  seqnet::Stream stream(lstm, 2);
  stream.reset(h0, c0);
  Tensor<float, 2> y;
  for (Index t = 0; t < 5; ++t) {
    stream.step_into(Tensor<float, 2>(x.chip<0>(t)), y);
    CHECK(seqnet_test::identical(y, Tensor<float, 2>(whole.first.chip<0>(t))));
  }
  CHECK(seqnet_test::identical(stream.h(), whole.second.first));
  CHECK(seqnet_test::identical(stream.c(), whole.second.second));
  stream.reset();
  CHECK(seqnet_test::identical(stream.h(), seqnet::zeros<float>(2, 2, 6)));
  CHECK(seqnet_test::identical(stream.c(), seqnet::zeros<float>(2, 2, 6)));
  const Tensor<float, 2> first = stream.step(Tensor<float, 2>(x.chip<0>(0)));
  CHECK(seqnet_test::identical(first, Tensor<float, 2>(lstm(x).first.chip<0>(0))));
}

TEST_CASE("a stream keeps its packed weights until reload_weights", "[stream]") {
  seqnet::GRU<float> gru(4, 6);
  const Tensor<float, 2> x = seqnet::randn<float>(1, 4);
  seqnet::Stream stream(gru);
  const Tensor<float, 2> before = stream.step(x);
  for (auto& [name, p] : gru.named_parameters()) p.flat() *= 2.0f;
  stream.reset();  // re-reads the doubled weights
  const Tensor<float, 2> after = stream.step(x);
  CHECK(seqnet_test::identical(after, Tensor<float, 2>(gru(Tensor<float, 3>(x.reshape(Eigen::array<Index, 3>{1, 1, 4}))).first.chip<0>(0))));
  CHECK_FALSE(seqnet_test::identical(after, before));
  const Tensor<float, 2> kept = stream.step(x);  // state carried, weights as packed
  for (auto& [name, p] : gru.named_parameters()) p.flat() *= 0.5f;
  stream.reload_weights();
  stream.reset();
  CHECK(seqnet_test::identical(stream.step(x), before));
  (void)kept;
}

TEST_CASE("stream errors", "[stream][errors]") {
  seqnet::LSTM<float> bidirectional(seqnet::LSTMOptions(4, 6).bidirectional(true));
  CHECK_THROWS_WITH(seqnet::Stream(bidirectional),
                    "Stream needs a unidirectional LSTM: a reverse direction needs the whole sequence");
  seqnet::GRU<float> gru(4, 6, 2);
  seqnet::Stream stream(gru, 3);
  CHECK_THROWS_AS(stream.step(Tensor<float, 2>(2, 4)), seqnet::shape_error);
  CHECK_THROWS_WITH(stream.step(Tensor<float, 2>(2, 4)),
                    "Stream::step: expected input of size [3, 4] for GRU with input_size 4 and batch 3, got [2, 4]");
  CHECK_THROWS_WITH(stream.feed(Tensor<float, 3>(5, 3, 5)),
                    "Stream::feed: expected input of size [5, 3, 4] for GRU with input_size 4 and batch 3, got [5, 3, 5]");
  CHECK_THROWS_WITH(stream.reset(Tensor<float, 3>(1, 3, 6)), "Expected h0 size (2, 3, 6), got [1, 3, 6]");
  CHECK_THROWS_AS(stream.reset(Tensor<float, 3>(2, 3, 6), Tensor<float, 3>(2, 3, 6)), seqnet::value_error);
  CHECK_THROWS_WITH(stream.reset(Tensor<float, 3>(2, 3, 6), Tensor<float, 3>(2, 3, 6)), "GRU streams reset to h0 alone");
  seqnet::LSTM<float> lstm(4, 6);
  seqnet::Stream lstm_stream(lstm);
  CHECK_THROWS_WITH(lstm_stream.reset(Tensor<float, 3>(1, 1, 6)), "LSTM streams reset to {h0, c0}");
  CHECK_THROWS_WITH(seqnet::Stream(lstm, 0), "Stream batch must be at least 1, got 0");
  CHECK_THROWS_WITH(seqnet::Stream(lstm, -2), "Stream batch must be at least 1, got -2");
  // A cell is a one-layer stream (tests/test_cell_conversion.cpp); its input is checked the same way.
  seqnet::GRUCell<float> cell(4, 6);
  seqnet::Stream cell_stream(cell);
  CHECK_THROWS_WITH(cell_stream.step(Tensor<float, 2>(1, 5)),
                    "Stream::step: expected input of size [1, 4] for GRUCell with input_size 4 and batch 1, got [1, 5]");
}
