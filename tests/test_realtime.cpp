// The real-time API: outputs written into caller-owned tensors, and the tiny-step path that frozen one-row
// cells and streams take (one product on the combined [W_ih | W_hh], then the gate kernels). The tiny
// path sums in another order than the general one: equal up to rounding, not bit for bit.
#include <catch2/catch.hpp>

#include <string>
#include <type_traits>

#include <seqnet/seqnet.hpp>

#include "tensor_compare.hpp"

namespace {

using seqnet::Index;
using seqnet::Tensor;
using seqnet_test::identical;
using seqnet_test::max_abs_diff;

/// The golden files' absolute tolerance for values of order one (tests/golden_io.hpp).
template <typename T>
double tolerance() {
  return std::is_same_v<T, float> ? 1e-5 : 1e-12;
}

/// Steps `cell` and a frozen copy (the tiny path for one row) over `steps` inputs from the same states.
template <typename T>
void check_frozen_cells_match(Index input, Index hidden, bool bias) {
  seqnet::Generator generator(11);
  seqnet::LSTMCell<T> lstm(seqnet::LSTMCellOptions(input, hidden).bias(bias), generator);
  seqnet::GRUCell<T> gru(seqnet::GRUCellOptions(input, hidden).bias(bias), generator);
  seqnet::RNNCell<T> rnn(seqnet::RNNCellOptions(input, hidden).bias(bias), generator);
  seqnet::RNNCell<T> relu(seqnet::RNNCellOptions(input, hidden).bias(bias).nonlinearity(seqnet::Nonlinearity::Relu),
                          generator);
  seqnet::LSTMCell<T> lstm_frozen = lstm;
  seqnet::GRUCell<T> gru_frozen = gru;
  seqnet::RNNCell<T> rnn_frozen = rnn, relu_frozen = relu;
  lstm_frozen.prepack();
  gru_frozen.prepack();
  rnn_frozen.prepack();
  relu_frozen.prepack();
  seqnet::LSTMState<T, 2> state{seqnet::randn<T>(1, hidden), seqnet::randn<T>(1, hidden)}, frozen_state = state;
  Tensor<T, 2> h_gru = state.first, h_gru_frozen = h_gru, h_rnn = h_gru, h_rnn_frozen = h_gru, h_relu = h_gru,
               h_relu_frozen = h_gru;
  for (int step = 0; step < 5; ++step) {
    INFO("step " << step);
    const Tensor<T, 2> x = seqnet::randn<T>(1, input);
    state = lstm(x, state);
    lstm_frozen.forward_into(x, frozen_state, frozen_state);
    h_gru = gru(x, h_gru);
    gru_frozen.forward_into(x, h_gru_frozen, h_gru_frozen);
    h_rnn = rnn(x, h_rnn);
    rnn_frozen.forward_into(x, h_rnn_frozen, h_rnn_frozen);
    h_relu = relu(x, h_relu);
    relu_frozen.forward_into(x, h_relu_frozen, h_relu_frozen);
    CHECK(max_abs_diff(state.first, frozen_state.first) <= tolerance<T>());
    CHECK(max_abs_diff(state.second, frozen_state.second) <= tolerance<T>());
    CHECK(max_abs_diff(h_gru, h_gru_frozen) <= tolerance<T>());
    CHECK(max_abs_diff(h_rnn, h_rnn_frozen) <= tolerance<T>());
    CHECK(max_abs_diff(h_relu, h_relu_frozen) <= 10 * tolerance<T>());  // unbounded: values grow
  }
}

}  // namespace

TEMPLATE_TEST_CASE("a frozen one-row cell step (the tiny path) matches the general step", "[realtime]", float, double) {
  for (auto [input, hidden] : {std::pair<Index, Index>{1, 8}, {1, 16}, {3, 17}, {1, 64}, {16, 128}}) {
    for (bool bias : {true, false}) {
      INFO("input " << input << ", hidden " << hidden << ", bias " << bias);
      check_frozen_cells_match<TestType>(input, hidden, bias);
    }
  }
}

TEMPLATE_TEST_CASE("forward_into gives forward's bits, stepping a state in place too", "[realtime]", float, double) {
  using T = TestType;
  seqnet::Generator generator(12);
  for (bool frozen : {false, true}) {
    for (Index batch : {1, 3}) {
      INFO("frozen " << frozen << ", batch " << batch);
      seqnet::LSTMCell<T> lstm(seqnet::LSTMCellOptions(5, 12), generator);
      seqnet::GRUCell<T> gru(seqnet::GRUCellOptions(5, 12), generator);
      if (frozen) {
        lstm.prepack();
        gru.prepack();
      }
      const Tensor<T, 2> x = seqnet::randn<T>(batch, 5);
      const Tensor<T, 2> h0 = seqnet::randn<T>(batch, 12), c0 = seqnet::randn<T>(batch, 12);
      const auto expected = lstm(x, {h0, c0});
      seqnet::LSTMState<T, 2> state{h0, c0}, out;
      lstm.forward_into(x, state, out);
      CHECK(identical(out.first, expected.first));
      CHECK(identical(out.second, expected.second));
      lstm.forward_into(x, state, state);
      CHECK(identical(state.first, expected.first));
      CHECK(identical(state.second, expected.second));
      lstm.forward_into(x, out);
      CHECK(identical(out.first, lstm(x).first));

      const Tensor<T, 2> expected_h = gru(x, h0);
      Tensor<T, 2> h = h0, h_out(7, 7);  // a wrongly shaped output is resized
      gru.forward_into(x, h, h_out);
      CHECK(identical(h_out, expected_h));
      gru.forward_into(x, h, h);
      CHECK(identical(h, expected_h));
      gru.forward_into(x, h_out);
      CHECK(identical(h_out, gru(x)));
    }
  }
}

TEMPLATE_TEST_CASE("a stream over a frozen module steps every layer on the tiny path", "[realtime][stream]", float, double) {
  using T = TestType;
  seqnet::Generator generator(13);
  seqnet::LSTM<T> lstm(seqnet::LSTMOptions(3, 16).num_layers(2), generator);
  seqnet::GRU<T> gru(seqnet::GRUOptions(3, 16).num_layers(3).batch_first(true), generator);
  seqnet::RNN<T> rnn(seqnet::RNNOptions(3, 16), generator);
  lstm.prepack();
  gru.prepack();
  rnn.prepack();
  const Tensor<T, 3> x = seqnet::randn<T>(70, 1, 3);
  const Tensor<T, 3> x_batch_first = x.reshape(Eigen::array<Index, 3>{1, 70, 3});

  auto check = [&](const auto& module, const Tensor<T, 3>& input, const Tensor<T, 3>& whole_out,
                   const Tensor<T, 3>& whole_h) {
    seqnet::Stream stream(module), chunked(module);
    Tensor<T, 3> fed;
    chunked.feed_into(input, fed);
    CHECK(max_abs_diff(fed, whole_out) <= tolerance<T>());
    CHECK(max_abs_diff(chunked.h(), whole_h) <= tolerance<T>());
    // One step at a time: the same bits as the chunk (each step is the same kernel call).
    Tensor<T, 2> y;
    const bool batch_first = module.spec().batch_first;
    for (Index t = 0; t < 70; ++t) {
      const Tensor<T, 2> x_t = batch_first ? Tensor<T, 2>(input.template chip<1>(t)) : Tensor<T, 2>(input.template chip<0>(t));
      stream.step_into(x_t, y);
      const Tensor<T, 2> fed_t = batch_first ? Tensor<T, 2>(fed.template chip<1>(t)) : Tensor<T, 2>(fed.template chip<0>(t));
      CHECK(identical(y, fed_t));
    }
    CHECK(identical(stream.h(), chunked.h()));
    return stream.c();
  };
  const auto lstm_whole = lstm(x);
  const Tensor<T, 3> lstm_c = check(lstm, x, lstm_whole.first, lstm_whole.second.first);
  CHECK(max_abs_diff(lstm_c, lstm_whole.second.second) <= tolerance<T>());
  const auto gru_whole = gru(x_batch_first);
  check(gru, x_batch_first, gru_whole.first, gru_whole.second);
  const auto rnn_whole = rnn(x);
  check(rnn, x, rnn_whole.first, rnn_whole.second);
}

TEST_CASE("the tiny path gives the same bits at any thread count", "[realtime][threads]") {
  seqnet::LSTMCell<float> cell(16, 128);
  seqnet::LSTM<float> lstm(seqnet::LSTMOptions(16, 128));
  cell.prepack();
  lstm.prepack();
  const Tensor<float, 2> x = seqnet::randn<float>(1, 16);
  const Tensor<float, 3> xs = seqnet::randn<float>(8, 1, 16);
  auto run = [&](int threads) {
    seqnet::set_num_threads(threads);
    seqnet::Stream stream(lstm);
    return std::make_pair(cell(x).first, stream.feed(xs));
  };
  const auto one = run(1), four = run(4);
  seqnet::set_num_threads(1);
  CHECK(identical(one.first, four.first));
  CHECK(identical(one.second, four.second));
}

TEMPLATE_TEST_CASE("Linear::forward_into gives forward's bits", "[realtime][linear]", float, double) {
  using T = TestType;
  seqnet::Linear<T> head(16, 3);
  const Tensor<T, 3> x = seqnet::randn<T>(2, 5, 16);
  Tensor<T, 3> y(1, 1, 1);
  head.forward_into(x, y);
  CHECK(identical(y, head(x)));
  Tensor<T, 1> v;
  head.forward_into(Tensor<T, 1>(x.template chip<0>(0).template chip<0>(0)), v);
  CHECK(v.dimension(0) == 3);
  const Tensor<T, 2> bad(4, 15);
  Tensor<T, 2> out;
  CHECK_THROWS_WITH(head.forward_into(bad, out), "mat1 and mat2 shapes cannot be multiplied (4x15 and 16x3)");
}

TEST_CASE("SEQNET_CHECK evaluates its message only when the check fails", "[errors]") {
  int evaluated = 0;
  auto part = [&] {
    ++evaluated;
    return std::string("part");
  };
  SEQNET_CHECK(seqnet::shape_error, evaluated == 0, "message ", part());
  CHECK(evaluated == 0);
  CHECK_THROWS_AS([&] { SEQNET_CHECK(seqnet::shape_error, evaluated != 0, "message ", part(), " ", 42); }(),
                  seqnet::shape_error);
  CHECK(evaluated == 1);
  CHECK(seqnet_test::message_of([&] { SEQNET_CHECK(seqnet::value_error, false, "got ", 3, "D, ", part()); }) ==
        "got 3D, part");
}
