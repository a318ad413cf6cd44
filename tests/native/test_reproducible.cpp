// Built with -march=native (tests/CMakeLists.txt). Eigen vectorizes an element-wise expression from the
// first packet-aligned element of its destination and handles the elements before it with scalar code,
// which rounds exp, tanh and logistic differently; with AVX's 32-byte packets and 16-byte aligned heap
// buffers, fp64 results once depended on where the heap put a module's workspace. Fresh copies of a module
// (fresh workspaces, at addresses shifted by allocations in between) must give the same bits, and so must
// a stream against one call on the whole sequence.
#include <catch2/catch.hpp>

#include <memory>
#include <vector>

#include <seqnet/seqnet.hpp>

#include "../tensor_compare.hpp"

namespace {

using seqnet::Index;
using seqnet::Tensor;

template <typename Module>
void check_copies_reproduce(const Module& module, const Tensor<typename Module::Scalar, 3>& x) {
  const auto reference = module(x);
  std::vector<std::unique_ptr<char[]>> padding;
  int mismatches = 0;
  for (int i = 0; i < 40; ++i) {
    padding.emplace_back(new char[static_cast<std::size_t>(8 + 8 * (i % 8))]);  // shifts later allocations
    const Module copy = module;
    const auto result = copy(x);
    if (!seqnet_test::identical(result.first, reference.first)) ++mismatches;
  }
  CHECK(mismatches == 0);
}

}  // namespace

TEMPLATE_TEST_CASE("fresh copies of a module give bitwise identical results", "[native][reproducible]", float, double) {
  using T = TestType;
  seqnet::Generator generator(11);
  const Tensor<T, 3> x = seqnet::randn<T>(6, 3, 5);
  check_copies_reproduce(seqnet::GRU<T>(seqnet::GRUOptions(5, 8).num_layers(2), generator), x);
  check_copies_reproduce(seqnet::LSTM<T>(seqnet::LSTMOptions(5, 7).num_layers(2).bidirectional(true), generator), x);
  check_copies_reproduce(seqnet::RNN<T>(seqnet::RNNOptions(5, 9), generator), x);
}

TEMPLATE_TEST_CASE("a stream equals one call on the whole sequence with -march=native", "[native][stream]", float, double) {
  using T = TestType;
  seqnet::Generator generator(3);
  const seqnet::GRU<T> gru(seqnet::GRUOptions(5, 8).num_layers(2), generator);
  const seqnet::LSTM<T> lstm(seqnet::LSTMOptions(5, 8).num_layers(3), generator);
  const Tensor<T, 3> x = seqnet::randn<T>(7, 3, 5);
  for (int round = 0; round < 10; ++round) {
    std::unique_ptr<char[]> shift(new char[static_cast<std::size_t>(8 + 8 * round)]);
    const auto gru_whole = gru(x);
    const auto lstm_whole = lstm(x);
    seqnet::Stream<seqnet::GRU<T>> gru_stream(gru, 3);
    seqnet::Stream<seqnet::LSTM<T>> lstm_stream(lstm, 3);
    for (Index t = 0; t < 7; ++t) {
      Eigen::array<Index, 3> offsets{t, 0, 0}, extents{1, 3, 5};
      const Tensor<T, 3> step = x.slice(offsets, extents);
      (void)gru_stream.feed(step);
      (void)lstm_stream.feed(step);
    }
    INFO("round " << round);
    CHECK(seqnet_test::identical(gru_stream.h(), gru_whole.second));
    CHECK(seqnet_test::identical(lstm_stream.h(), lstm_whole.second.first));
    CHECK(seqnet_test::identical(lstm_stream.c(), lstm_whole.second.second));
  }
}
