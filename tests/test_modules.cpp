// Behaviour of the modules that follows from their definition alone (no PyTorch needed): direction and
// layout equivalences, state passing, cells versus stacked modules, and a hand-written reference step.
#include <catch2/catch.hpp>

#include <algorithm>

#include <array>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include <seqnet/seqnet.hpp>

#include "tensor_compare.hpp"

namespace {

using seqnet_test::identical;
using seqnet_test::max_abs_diff;

using seqnet::Index;
using seqnet::LSTM;
using seqnet::LSTMCell;
using seqnet::LSTMOptions;
using seqnet::Nonlinearity;
using seqnet::RNN;
using seqnet::RNNCell;
using seqnet::RNNCellOptions;
using seqnet::RNNOptions;
using seqnet::Shape;
using seqnet::Tensor;

template <typename T>
double tolerance() {
  return std::is_same_v<T, float> ? 2e-6 : 1e-12;
}

template <typename T, int R>
double max_abs(const Tensor<T, R>& a) {
  double m = 0.0;
  for (Index i = 0; i < a.size(); ++i) m = std::max(m, std::abs(static_cast<double>(a.data()[i])));
  return m;
}

/// Copies parameter `src_name` of `src` into parameter `dst_name` of `dst` (shapes must agree).
template <typename Dst, typename Src>
void copy_parameter(Dst& dst, const std::string& dst_name, const Src& src, const std::string& src_name) {
  auto from = src.parameter(src_name);
  auto to = dst.parameter(dst_name);
  REQUIRE(to.dimensions() == from.dimensions());
  std::copy(from.data(), from.data() + from.size(), to.data());
}

/// `[a, b)` along dimension 0 of a rank-3 tensor.
template <typename T>
Tensor<T, 3> rows(const Tensor<T, 3>& t, Index a, Index b) {
  return t.slice(std::array<Index, 3>{a, 0, 0}, std::array<Index, 3>{b - a, t.dimension(1), t.dimension(2)});
}
/// Features `[a, b)` (last dimension) of a rank-3 tensor.
template <typename T>
Tensor<T, 3> features(const Tensor<T, 3>& t, Index a, Index b) {
  return t.slice(std::array<Index, 3>{0, 0, a}, std::array<Index, 3>{t.dimension(0), t.dimension(1), b - a});
}
template <typename T>
Tensor<T, 3> reversed_in_time(const Tensor<T, 3>& t) {
  return t.reverse(std::array<bool, 3>{true, false, false});
}
template <typename T>
Tensor<T, 3> swap01(const Tensor<T, 3>& t) {
  return t.shuffle(std::array<int, 3>{1, 0, 2});
}
template <typename T>
Tensor<T, 2> step(const Tensor<T, 3>& t, Index i) {
  return t.template chip<0>(i);
}
/// Scales uniform [0, 1) samples to [-1, 1) so inputs and states have both signs.
template <typename T, typename... Dims>
Tensor<T, static_cast<int>(sizeof...(Dims))> signed_rand(Dims... dims) {
  Tensor<T, static_cast<int>(sizeof...(Dims))> t = seqnet::rand<T>(dims...);
  for (Index i = 0; i < t.size(); ++i) t.data()[i] = T(2) * t.data()[i] - T(1);
  return t;
}

}  // namespace

TEMPLATE_TEST_CASE("the reverse direction of a bidirectional layer is the forward recurrence on the reversed input",
                   "[modules][bidirectional]", float, double) {
  using T = TestType;
  const Index S = 7, B = 3, I = 5, H = 4;
  seqnet::manual_seed(101);
  const auto x = signed_rand<T>(S, B, I);
  const auto xr = reversed_in_time(x);

  SECTION("LSTM") {
    LSTM<T> bi(LSTMOptions(I, H).bidirectional(true));
    LSTM<T> fwd(LSTMOptions(I, H));
    LSTM<T> rev(LSTMOptions(I, H));
    for (const char* p : {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}) {
      copy_parameter(fwd, std::string(p) + "_l0", bi, std::string(p) + "_l0");
      copy_parameter(rev, std::string(p) + "_l0", bi, std::string(p) + "_l0_reverse");
    }
    const auto h0 = signed_rand<T>(2, B, H);
    const auto c0 = signed_rand<T>(2, B, H);
    const Tensor<T, 3> h0_f = rows(h0, 0, 1), h0_r = rows(h0, 1, 2), c0_f = rows(c0, 0, 1), c0_r = rows(c0, 1, 2);

    const auto [out, hc] = bi(x, {h0, c0});
    const auto [out_f, hc_f] = fwd(x, {h0_f, c0_f});
    const auto [out_r, hc_r] = rev(xr, {h0_r, c0_r});
    REQUIRE(seqnet::shape(out) == Shape{S, B, 2 * H});
    CHECK(max_abs_diff(features(out, 0, H), out_f) <= tolerance<T>());
    CHECK(max_abs_diff(features(out, H, 2 * H), reversed_in_time(out_r)) <= tolerance<T>());
    CHECK(max_abs_diff(Tensor<T, 3>(rows(hc.first, 1, 2)), hc_r.first) <= tolerance<T>());
    CHECK(max_abs_diff(Tensor<T, 3>(rows(hc.second, 1, 2)), hc_r.second) <= tolerance<T>());
    CHECK(max_abs_diff(Tensor<T, 3>(rows(hc.first, 0, 1)), hc_f.first) <= tolerance<T>());
    CHECK(max_abs_diff(Tensor<T, 3>(rows(hc.second, 0, 1)), hc_f.second) <= tolerance<T>());
    // Not a symmetric accident: the reverse half differs from the forward recurrence on the original order.
    CHECK(max_abs_diff(features(out, H, 2 * H), out_r) > 1e-3);
  }

  SECTION("LSTM with projections") {
    LSTM<T> bi(LSTMOptions(I, H).bidirectional(true).proj_size(2));
    LSTM<T> rev(LSTMOptions(I, H).proj_size(2));
    for (const char* p : {"weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"})
      copy_parameter(rev, std::string(p) + "_l0", bi, std::string(p) + "_l0_reverse");
    const auto [out, hc] = bi(x);
    const auto [out_r, hc_r] = rev(xr);
    CHECK(max_abs_diff(features(out, 2, 4), reversed_in_time(out_r)) <= tolerance<T>());
    CHECK(max_abs_diff(Tensor<T, 3>(rows(hc.first, 1, 2)), hc_r.first) <= tolerance<T>());
    CHECK(max_abs_diff(Tensor<T, 3>(rows(hc.second, 1, 2)), hc_r.second) <= tolerance<T>());
  }

  SECTION("RNN relu") {
    RNN<T> bi(RNNOptions(I, H).bidirectional(true).nonlinearity(Nonlinearity::Relu));
    RNN<T> rev(RNNOptions(I, H).nonlinearity(Nonlinearity::Relu));
    for (const char* p : {"weight_ih", "weight_hh", "bias_ih", "bias_hh"})
      copy_parameter(rev, std::string(p) + "_l0", bi, std::string(p) + "_l0_reverse");
    const auto [out, h] = bi(x);
    const auto [out_r, h_r] = rev(xr);
    CHECK(max_abs_diff(features(out, H, 2 * H), reversed_in_time(out_r)) <= tolerance<T>());
    CHECK(max_abs_diff(Tensor<T, 3>(rows(h, 1, 2)), h_r) <= tolerance<T>());
  }
}

TEMPLATE_TEST_CASE("batch_first transposes input and output but not the states", "[modules][batch_first]", float,
                   double) {
  using T = TestType;
  const Index S = 6, B = 4, I = 3, H = 5;
  seqnet::manual_seed(7);
  const auto x = signed_rand<T>(S, B, I);
  const auto x_bf = swap01(x);

  SECTION("bidirectional 2-layer LSTM with initial states") {
    seqnet::Generator g1(55), g2(55);
    LSTM<T> seq_first(LSTMOptions(I, H).num_layers(2).bidirectional(true), g1);
    LSTM<T> batch_first(LSTMOptions(I, H).num_layers(2).bidirectional(true).batch_first(true), g2);
    const auto h0 = signed_rand<T>(4, B, H);
    const auto c0 = signed_rand<T>(4, B, H);
    const auto [out, hc] = seq_first(x, {h0, c0});
    const auto [out_bf, hc_bf] = batch_first(x_bf, {h0, c0});
    REQUIRE(seqnet::shape(out_bf) == Shape{B, S, 2 * H});
    CHECK(max_abs_diff(out_bf, swap01(out)) <= tolerance<T>());
    REQUIRE(seqnet::shape(hc_bf.first) == Shape{4, B, H});
    CHECK(max_abs_diff(hc_bf.first, hc.first) <= tolerance<T>());
    CHECK(max_abs_diff(hc_bf.second, hc.second) <= tolerance<T>());
  }
  SECTION("RNN") {
    seqnet::Generator g1(56), g2(56);
    RNN<T> seq_first(RNNOptions(I, H).num_layers(3), g1);
    RNN<T> batch_first(RNNOptions(I, H).num_layers(3).batch_first(true), g2);
    const auto [out, h] = seq_first(x);
    const auto [out_bf, h_bf] = batch_first(x_bf);
    CHECK(max_abs_diff(out_bf, swap01(out)) <= tolerance<T>());
    CHECK(max_abs_diff(h_bf, h) <= tolerance<T>());
    // Feeding the seq-first tensor to the batch_first module is a different computation.
    const auto [out_wrong, h_wrong] = batch_first(x);
    CHECK(seqnet::shape(out_wrong) == Shape{S, B, H});
    CHECK(seqnet::shape(h_wrong) == Shape{3, S, H});
  }
}

TEMPLATE_TEST_CASE("unbatched input gives the batched result with batch 1", "[modules][unbatched]", float, double) {
  using T = TestType;
  const Index S = 5, I = 3, H = 4;
  seqnet::manual_seed(9);
  const Tensor<T, 2> x = signed_rand<T>(S, I);
  const Tensor<T, 3> x3 = x.reshape(std::array<Index, 3>{S, 1, I});

  SECTION("LSTM, bidirectional, with projections and states") {
    LSTM<T> lstm(LSTMOptions(I, H).num_layers(2).bidirectional(true).proj_size(3));
    const Tensor<T, 2> h0 = signed_rand<T>(4, 3);
    const Tensor<T, 2> c0 = signed_rand<T>(4, H);
    const Tensor<T, 3> h03 = h0.reshape(std::array<Index, 3>{4, 1, 3});
    const Tensor<T, 3> c03 = c0.reshape(std::array<Index, 3>{4, 1, H});
    const auto [out, hc] = lstm(x, {h0, c0});
    const auto [out3, hc3] = lstm(x3, {h03, c03});
    REQUIRE(seqnet::shape(out) == Shape{S, 6});
    REQUIRE(seqnet::shape(hc.first) == Shape{4, 3});
    REQUIRE(seqnet::shape(hc.second) == Shape{4, H});
    CHECK(max_abs_diff(out, Tensor<T, 2>(out3.reshape(std::array<Index, 2>{S, 6}))) <= tolerance<T>());
    CHECK(max_abs_diff(hc.first, Tensor<T, 2>(hc3.first.reshape(std::array<Index, 2>{4, 3}))) <= tolerance<T>());
    CHECK(max_abs_diff(hc.second, Tensor<T, 2>(hc3.second.reshape(std::array<Index, 2>{4, H}))) <= tolerance<T>());
  }
  SECTION("RNN; batch_first is ignored for unbatched input") {
    seqnet::Generator g1(4), g2(4);
    RNN<T> rnn(RNNOptions(I, H).num_layers(2), g1);
    RNN<T> rnn_bf(RNNOptions(I, H).num_layers(2).batch_first(true), g2);
    const auto [out, h] = rnn(x);
    const auto [out3, h3] = rnn(x3);
    const auto [out_bf, h_bf] = rnn_bf(x);
    REQUIRE(seqnet::shape(out) == Shape{S, H});
    REQUIRE(seqnet::shape(h) == Shape{2, H});
    CHECK(max_abs_diff(out, Tensor<T, 2>(out3.reshape(std::array<Index, 2>{S, H}))) <= tolerance<T>());
    CHECK(max_abs_diff(h, Tensor<T, 2>(h3.reshape(std::array<Index, 2>{2, H}))) <= tolerance<T>());
    CHECK(max_abs_diff(out_bf, out) <= tolerance<T>());
    CHECK(max_abs_diff(h_bf, h) <= tolerance<T>());
  }
  SECTION("cells") {
    RNNCell<T> cell(I, H);
    LSTMCell<T> lstm_cell(I, H);
    const Tensor<T, 1> x1 = x.template chip<0>(0);
    // A row copy rather than `reshape`: GCC 12 reports a false -Warray-bounds inside Eigen's reshape of
    // a rank-1 tensor at -O3.
    const auto as_row = [](const Tensor<T, 1>& v) {
      Tensor<T, 2> row(1, v.dimension(0));
      std::copy(v.data(), v.data() + v.size(), row.data());
      return row;
    };
    const Tensor<T, 2> x12 = as_row(x1);
    const Tensor<T, 1> h1 = signed_rand<T>(H);
    const Tensor<T, 1> c1 = signed_rand<T>(H);
    const Tensor<T, 2> h12 = as_row(h1);
    const Tensor<T, 2> c12 = as_row(c1);
    const Tensor<T, 1> r = cell(x1, h1);
    const Tensor<T, 2> r2 = cell(x12, h12);
    REQUIRE(seqnet::shape(r) == Shape{H});
    CHECK(max_abs_diff(r, Tensor<T, 1>(r2.reshape(std::array<Index, 1>{H}))) <= tolerance<T>());
    const auto [h, c] = lstm_cell(x1, {h1, c1});
    const auto [h2, c2] = lstm_cell(x12, {h12, c12});
    REQUIRE(seqnet::shape(h) == Shape{H});
    REQUIRE(seqnet::shape(c) == Shape{H});
    CHECK(max_abs_diff(h, Tensor<T, 1>(h2.reshape(std::array<Index, 1>{H}))) <= tolerance<T>());
    CHECK(max_abs_diff(c, Tensor<T, 1>(c2.reshape(std::array<Index, 1>{H}))) <= tolerance<T>());
  }
}

TEMPLATE_TEST_CASE("explicit zero states equal omitted states", "[modules][state]", float, double) {
  using T = TestType;
  seqnet::manual_seed(21);
  const auto x = signed_rand<T>(6, 3, 4);
  SECTION("LSTM") {
    LSTM<T> lstm(LSTMOptions(4, 5).num_layers(2).bidirectional(true).proj_size(2));
    const auto [out, hc] = lstm(x);
    const auto [out0, hc0] = lstm(x, {seqnet::zeros<T>(4, 3, 2), seqnet::zeros<T>(4, 3, 5)});
    const auto [out1, hc1] = lstm.forward(x, seqnet::zeros<T>(4, 3, 2), seqnet::zeros<T>(4, 3, 5));
    CHECK(identical(out, out0));
    CHECK(identical(hc.first, hc0.first));
    CHECK(identical(hc.second, hc0.second));
    CHECK(identical(out, out1));
    // A non-zero state does change the result.
    const auto [out2, hc2] = lstm(x, {seqnet::zeros<T>(4, 3, 2), signed_rand<T>(4, 3, 5)});
    CHECK(max_abs_diff(out, out2) > 1e-4);
  }
  SECTION("RNN") {
    RNN<T> rnn(RNNOptions(4, 5).num_layers(2));
    const auto [out, h] = rnn(x);
    const auto [out0, h0] = rnn(x, seqnet::zeros<T>(2, 3, 5));
    CHECK(identical(out, out0));
    CHECK(identical(h, h0));
  }
  SECTION("cells") {
    RNNCell<T> cell(4, 5);
    LSTMCell<T> lstm_cell(4, 5);
    const Tensor<T, 2> xt = step(x, 0);
    CHECK(identical(cell(xt), cell(xt, seqnet::zeros<T>(3, 5))));
    const auto a = lstm_cell(xt);
    const auto b = lstm_cell(xt, {seqnet::zeros<T>(3, 5), seqnet::zeros<T>(3, 5)});
    CHECK(identical(a.first, b.first));
    CHECK(identical(a.second, b.second));
  }
}

TEMPLATE_TEST_CASE("continuing from a returned state equals one call on the concatenated sequence",
                   "[modules][state]", float, double) {
  using T = TestType;
  seqnet::manual_seed(33);
  const auto x = signed_rand<T>(9, 2, 4);
  const Tensor<T, 3> x1 = rows(x, 0, 4), x2 = rows(x, 4, 9);

  SECTION("LSTM with projections") {
    LSTM<T> lstm(LSTMOptions(4, 6).num_layers(3).proj_size(3));
    const auto [out, hc] = lstm(x);
    const auto [out1, hc1] = lstm(x1);
    const auto [out2, hc2] = lstm(x2, hc1);  // the returned (h_n, c_n) pair is accepted directly
    CHECK(max_abs_diff(Tensor<T, 3>(rows(out, 0, 4)), out1) <= tolerance<T>());
    CHECK(max_abs_diff(Tensor<T, 3>(rows(out, 4, 9)), out2) <= tolerance<T>());
    CHECK(max_abs_diff(hc.first, hc2.first) <= tolerance<T>());
    CHECK(max_abs_diff(hc.second, hc2.second) <= tolerance<T>());
    // Restarting from zeros instead does not continue the sequence.
    const auto [restart, hc_restart] = lstm(x2);
    CHECK(max_abs_diff(Tensor<T, 3>(rows(out, 4, 9)), restart) > 1e-4);
  }
  SECTION("batch_first RNN") {
    RNN<T> rnn(RNNOptions(4, 6).num_layers(2).batch_first(true).nonlinearity(Nonlinearity::Relu));
    const auto xb = swap01(x), xb1 = swap01(x1), xb2 = swap01(x2);
    const auto [out, h] = rnn(xb);
    const auto [out1, h1] = rnn(xb1);
    const auto [out2, h2] = rnn(xb2, h1);
    CHECK(max_abs_diff(Tensor<T, 3>(rows(swap01(out), 0, 4)), swap01(out1)) <= tolerance<T>());
    CHECK(max_abs_diff(Tensor<T, 3>(rows(swap01(out), 4, 9)), swap01(out2)) <= tolerance<T>());
    CHECK(max_abs_diff(h, h2) <= tolerance<T>());
  }
}

TEMPLATE_TEST_CASE("a stack of LSTMCells stepped by hand equals a multi-layer LSTM", "[modules][cell]", float, double) {
  using T = TestType;
  const Index S = 6, B = 3, I = 4, H = 5, L = 3;
  seqnet::manual_seed(44);
  LSTM<T> lstm(LSTMOptions(I, H).num_layers(L));
  std::vector<LSTMCell<T>> cells;
  for (Index l = 0; l < L; ++l) {
    cells.emplace_back(l == 0 ? I : H, H);
    for (const char* p : {"weight_ih", "weight_hh", "bias_ih", "bias_hh"})
      copy_parameter(cells.back(), p, lstm, std::string(p) + "_l" + std::to_string(l));
  }
  const auto x = signed_rand<T>(S, B, I);
  const auto h0 = signed_rand<T>(L, B, H);
  const auto c0 = signed_rand<T>(L, B, H);
  const auto [out, hc] = lstm(x, {h0, c0});

  std::vector<Tensor<T, 2>> h, c;
  for (Index l = 0; l < L; ++l) {
    h.push_back(h0.template chip<0>(l));
    c.push_back(c0.template chip<0>(l));
  }
  for (Index t = 0; t < S; ++t) {
    Tensor<T, 2> input = step(x, t);
    for (Index l = 0; l < L; ++l) {
      auto [h_new, c_new] = cells[static_cast<std::size_t>(l)](input, {h[static_cast<std::size_t>(l)], c[static_cast<std::size_t>(l)]});
      h[static_cast<std::size_t>(l)] = h_new;
      c[static_cast<std::size_t>(l)] = c_new;
      input = h_new;
    }
    INFO("t = " << t);
    CHECK(max_abs_diff(step(out, t), input) <= tolerance<T>());
  }
  for (Index l = 0; l < L; ++l) {
    INFO("layer " << l);
    CHECK(max_abs_diff(step(hc.first, l), h[static_cast<std::size_t>(l)]) <= tolerance<T>());
    CHECK(max_abs_diff(step(hc.second, l), c[static_cast<std::size_t>(l)]) <= tolerance<T>());
  }
  CHECK(max_abs(out) > 0.01);
}

TEMPLATE_TEST_CASE("a stack of RNNCells stepped by hand equals a multi-layer RNN", "[modules][cell]", float, double) {
  using T = TestType;
  const Index S = 7, B = 2, I = 3, H = 4, L = 2;
  const Nonlinearity nl = GENERATE(Nonlinearity::Tanh, Nonlinearity::Relu);
  const bool bias = GENERATE(true, false);
  INFO("nonlinearity " << seqnet::to_string(nl) << ", bias " << bias);
  seqnet::manual_seed(45);
  RNN<T> rnn(RNNOptions(I, H).num_layers(L).nonlinearity(nl).bias(bias));
  std::vector<RNNCell<T>> cells;
  for (Index l = 0; l < L; ++l) {
    cells.emplace_back(RNNCellOptions(l == 0 ? I : H, H).nonlinearity(nl).bias(bias));
    std::vector<std::string> names = {"weight_ih", "weight_hh"};
    if (bias) names.insert(names.end(), {"bias_ih", "bias_hh"});
    for (const auto& p : names) copy_parameter(cells.back(), p, rnn, p + "_l" + std::to_string(l));
  }
  const auto x = signed_rand<T>(S, B, I);
  const auto h0 = signed_rand<T>(L, B, H);
  const auto [out, h_n] = rnn(x, h0);

  std::vector<Tensor<T, 2>> h;
  for (Index l = 0; l < L; ++l) h.push_back(h0.template chip<0>(l));
  for (Index t = 0; t < S; ++t) {
    Tensor<T, 2> input = step(x, t);
    for (Index l = 0; l < L; ++l) {
      h[static_cast<std::size_t>(l)] = cells[static_cast<std::size_t>(l)](input, h[static_cast<std::size_t>(l)]);
      input = h[static_cast<std::size_t>(l)];
    }
    CHECK(max_abs_diff(step(out, t), input) <= tolerance<T>());
  }
  for (Index l = 0; l < L; ++l) CHECK(max_abs_diff(step(h_n, l), h[static_cast<std::size_t>(l)]) <= tolerance<T>());
}

TEMPLATE_TEST_CASE("the last output is the final hidden state", "[modules][state]", float, double) {
  using T = TestType;
  const Index S = 5, B = 3, I = 4, H = 6;
  seqnet::manual_seed(66);
  const auto x = signed_rand<T>(S, B, I);

  SECTION("unidirectional LSTM: out[-1] == h_n[-1] exactly") {
    LSTM<T> lstm(LSTMOptions(I, H).num_layers(3));
    const auto [out, hc] = lstm(x);
    CHECK(identical(step(out, S - 1), step(hc.first, 2)));
    CHECK_FALSE(identical(step(out, S - 2), step(hc.first, 2)));
  }
  SECTION("unidirectional LSTM with projections") {
    LSTM<T> lstm(LSTMOptions(I, H).num_layers(2).proj_size(2));
    const auto [out, hc] = lstm(x);
    REQUIRE(seqnet::shape(out) == Shape{S, B, 2});
    CHECK(identical(step(out, S - 1), step(hc.first, 1)));
  }
  SECTION("unidirectional RNN, batch_first") {
    RNN<T> rnn(RNNOptions(I, H).num_layers(2).batch_first(true));
    const auto [out, h] = rnn(swap01(x));
    CHECK(identical(Tensor<T, 2>(out.template chip<1>(S - 1)), step(h, 1)));
  }
  SECTION("bidirectional LSTM: forward half at the last step is h_n[-2], reverse half at step 0 is h_n[-1]") {
    LSTM<T> lstm(LSTMOptions(I, H).num_layers(2).bidirectional(true));
    const auto [out, hc] = lstm(x);
    const Tensor<T, 3> fwd = features(out, 0, H), rev = features(out, H, 2 * H);
    CHECK(identical(step(fwd, S - 1), step(hc.first, 2)));
    CHECK(identical(step(rev, 0), step(hc.first, 3)));
    CHECK_FALSE(identical(step(rev, S - 1), step(hc.first, 3)));
  }
  SECTION("bidirectional RNN") {
    RNN<T> rnn(RNNOptions(I, H).bidirectional(true));
    const auto [out, h] = rnn(x);
    CHECK(identical(step(Tensor<T, 3>(features(out, 0, H)), S - 1), step(h, 0)));
    CHECK(identical(step(Tensor<T, 3>(features(out, H, 2 * H)), 0), step(h, 1)));
  }
  SECTION("unbatched bidirectional LSTM with projections") {
    LSTM<T> lstm(LSTMOptions(I, H).bidirectional(true).proj_size(3));
    const Tensor<T, 2> xu = x.template chip<1>(0);
    const auto [out, hc] = lstm(xu);
    REQUIRE(seqnet::shape(out) == Shape{S, 6});
    for (Index k = 0; k < 3; ++k) {
      CHECK(out(S - 1, k) == hc.first(0, k));
      CHECK(out(0, 3 + k) == hc.first(1, k));
    }
  }
}

namespace {

/// Row-major parameter `name` of `module` as doubles.
template <typename M>
std::vector<double> values(const M& module, const std::string& name) {
  auto p = module.parameter(name);
  return std::vector<double>(p.data(), p.data() + p.size());
}

/// `W v` for a row-major `[rows, v.size()]` matrix.
std::vector<double> matvec(const std::vector<double>& w, const std::vector<double>& v) {
  const std::size_t cols = v.size(), rows = w.size() / cols;
  std::vector<double> out(rows, 0.0);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t k = 0; k < cols; ++k) out[r] += w[r * cols + k] * v[k];
  return out;
}

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

}  // namespace

TEMPLATE_TEST_CASE("cells compute PyTorch's formulas", "[modules][cell][reference]", float, double) {
  using T = TestType;
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-13;
  const Index I = 3, H = 4, B = 2;
  seqnet::manual_seed(77);
  const auto x = signed_rand<T>(B, I);
  const auto h = signed_rand<T>(B, H);
  const auto c = signed_rand<T>(B, H);
  auto row = [](const Tensor<T, 2>& t, Index b) {
    std::vector<double> v(static_cast<std::size_t>(t.dimension(1)));
    for (Index k = 0; k < t.dimension(1); ++k) v[static_cast<std::size_t>(k)] = t(b, k);
    return v;
  };

  SECTION("RNNCell: h' = act(W_ih x + b_ih + W_hh h + b_hh)") {
    for (Nonlinearity nl : {Nonlinearity::Tanh, Nonlinearity::Relu}) {
      RNNCell<T> cell(RNNCellOptions(I, H).nonlinearity(nl));
      const auto out = cell(x, h);
      for (Index b = 0; b < B; ++b) {
        const auto gx = matvec(values(cell, "weight_ih"), row(x, b));
        const auto gh = matvec(values(cell, "weight_hh"), row(h, b));
        const auto bi = values(cell, "bias_ih"), bh = values(cell, "bias_hh");
        for (Index k = 0; k < H; ++k) {
          const auto j = static_cast<std::size_t>(k);
          const double pre = gx[j] + bi[j] + gh[j] + bh[j];
          const double expected = nl == Nonlinearity::Tanh ? std::tanh(pre) : std::max(pre, 0.0);
          CHECK(std::abs(out(b, k) - expected) <= tol);
        }
      }
    }
  }
  SECTION("LSTMCell: gates i, f, g, o in that order") {
    LSTMCell<T> cell(I, H);
    const auto [h1, c1] = cell(x, {h, c});
    for (Index b = 0; b < B; ++b) {
      const auto gx = matvec(values(cell, "weight_ih"), row(x, b));
      const auto gh = matvec(values(cell, "weight_hh"), row(h, b));
      const auto bi = values(cell, "bias_ih"), bh = values(cell, "bias_hh");
      auto gate = [&](Index g, Index k) {
        const auto j = static_cast<std::size_t>(g * H + k);
        return gx[j] + bi[j] + gh[j] + bh[j];
      };
      for (Index k = 0; k < H; ++k) {
        const double i = sigmoid(gate(0, k)), f = sigmoid(gate(1, k)), g = std::tanh(gate(2, k)),
                     o = sigmoid(gate(3, k));
        const double c_new = f * c(b, k) + i * g;
        CHECK(std::abs(c1(b, k) - c_new) <= tol);
        CHECK(std::abs(h1(b, k) - o * std::tanh(c_new)) <= tol);
      }
    }
  }
  SECTION("LSTM with projections: h_t = W_hr (o * tanh(c_t)), fed back into W_hh") {
    const Index P = 2, S = 3;
    LSTM<T> lstm(LSTMOptions(I, H).proj_size(P).bias(false));
    const auto xs = signed_rand<T>(S, B, I);
    const auto [out, hc] = lstm(xs);
    const auto w_ih = values(lstm, "weight_ih_l0"), w_hh = values(lstm, "weight_hh_l0"),
               w_hr = values(lstm, "weight_hr_l0");
    for (Index b = 0; b < B; ++b) {
      std::vector<double> hp(static_cast<std::size_t>(P), 0.0), cs(static_cast<std::size_t>(H), 0.0);
      for (Index t = 0; t < S; ++t) {
        std::vector<double> xt(static_cast<std::size_t>(I));
        for (Index k = 0; k < I; ++k) xt[static_cast<std::size_t>(k)] = xs(t, b, k);
        const auto gx = matvec(w_ih, xt), gh = matvec(w_hh, hp);
        std::vector<double> full(static_cast<std::size_t>(H));
        for (Index k = 0; k < H; ++k) {
          auto gate = [&](Index g) { return gx[static_cast<std::size_t>(g * H + k)] + gh[static_cast<std::size_t>(g * H + k)]; };
          const auto j = static_cast<std::size_t>(k);
          cs[j] = sigmoid(gate(1)) * cs[j] + sigmoid(gate(0)) * std::tanh(gate(2));
          full[j] = sigmoid(gate(3)) * std::tanh(cs[j]);
        }
        hp = matvec(w_hr, full);
        for (Index k = 0; k < P; ++k) CHECK(std::abs(out(t, b, k) - hp[static_cast<std::size_t>(k)]) <= tol);
      }
      for (Index k = 0; k < H; ++k) CHECK(std::abs(hc.second(0, b, k) - cs[static_cast<std::size_t>(k)]) <= tol);
    }
  }
}
