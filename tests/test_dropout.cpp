// Inter-layer dropout in training mode. Reference points: eval mode, layer-by-layer composition of
// single-layer modules with copied weights, and a probe network whose second layer passes its input
// through unchanged, so the dropout mask and scaling can be read off the output.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include <seqnet/seqnet.hpp>

#include "tensor_compare.hpp"

namespace {

using seqnet_test::identical;
using seqnet_test::max_abs_diff;

using seqnet::Index;
using seqnet::LSTM;
using seqnet::LSTMOptions;
using seqnet::Nonlinearity;
using seqnet::RNN;
using seqnet::RNNOptions;
using seqnet::Shape;
using seqnet::Tensor;

/// Rows `[a, b)` of dimension 0 (layers of a state, or time steps).
template <typename T>
Tensor<T, 3> rows(const Tensor<T, 3>& t, Index a, Index b) {
  return t.slice(std::array<Index, 3>{a, 0, 0}, std::array<Index, 3>{b - a, t.dimension(1), t.dimension(2)});
}
template <typename T>
Tensor<T, 3> concat0(const Tensor<T, 3>& a, const Tensor<T, 3>& b) {
  return a.concatenate(b, 0);
}

template <typename T, typename... Dims>
Tensor<T, static_cast<int>(sizeof...(Dims))> signed_rand(Dims... dims) {
  Tensor<T, static_cast<int>(sizeof...(Dims))> t = seqnet::rand<T>(dims...);
  for (Index i = 0; i < t.size(); ++i) t.data()[i] = T(2) * t.data()[i] - T(1);
  return t;
}

/// Copies layer `layer` of the stacked module `src` (both directions) into the single-layer module `dst`.
template <typename Dst, typename Src>
void copy_layer(Dst& dst, const Src& src, Index layer) {
  for (auto& entry : dst.named_parameters()) {
    const std::string& name = entry.first;  // e.g. "weight_ih_l0_reverse"
    const auto pos = name.find("_l0");
    REQUIRE(pos != std::string::npos);
    const std::string src_name = name.substr(0, pos) + "_l" + std::to_string(layer) + name.substr(pos + 3);
    auto from = src.parameter(src_name);
    REQUIRE(from.dimensions() == entry.second.dimensions());
    std::copy(from.data(), from.data() + from.size(), entry.second.data());
  }
}

template <typename M>
void set_parameter(M& module, const std::string& name, double value) {
  module.parameter(name).flat().setConstant(static_cast<typename M::Scalar>(value));
}

/// A 2-layer ReLU RNN whose layer 0 produces strictly positive outputs and whose layer 1 is the
/// identity (weight_ih = [I | 0] forward, [0 | I] reverse; everything else zero), so in eval mode its
/// output equals layer 0's output exactly and in training mode it equals dropout(layer 0's output).
template <typename T>
RNN<T> probe(Index input, Index hidden, double p, bool bidirectional, bool batch_first) {
  RNN<T> rnn(RNNOptions(input, hidden)
                 .num_layers(2)
                 .nonlinearity(Nonlinearity::Relu)
                 .dropout(p)
                 .bidirectional(bidirectional)
                 .batch_first(batch_first));
  const Index D = bidirectional ? 2 : 1;
  for (auto& [name, param] : rnn.named_parameters()) {
    const bool layer1 = name.find("_l1") != std::string::npos;
    if (!layer1) {
      // Layer 0: |W_ih| > 0, W_hh = 0, positive bias, and positive input below -> positive outputs.
      if (name.rfind("weight_ih", 0) == 0) {
        for (Index i = 0; i < param.size(); ++i) param.data()[i] = std::abs(param.data()[i]) + T(0.05);
      } else if (name.rfind("weight_hh", 0) == 0) {
        param.flat().setZero();
      } else {
        param.flat().setConstant(T(0.1));
      }
      continue;
    }
    param.flat().setZero();
    if (name.rfind("weight_ih", 0) == 0) {
      auto w = param.template tensor<2>();  // [hidden, D * hidden]
      REQUIRE(w.dimension(1) == D * hidden);
      const Index block = name.find("_reverse") != std::string::npos ? 1 : 0;
      for (Index k = 0; k < hidden; ++k) w(k, block * hidden + k) = T(1);
    }
  }
  return rnn;
}

struct MaskStats {
  Index total = 0;
  Index zeros = 0;
  double worst_relative_error = 0.0;  // over survivors, against eval / (1 - p)
};

template <typename T, int R>
MaskStats mask_stats(const Tensor<T, R>& train_out, const Tensor<T, R>& eval_out, double p) {
  REQUIRE(seqnet::shape(train_out) == seqnet::shape(eval_out));
  MaskStats s;
  Index non_positive = 0;
  for (Index i = 0; i < eval_out.size(); ++i)
    if (!(eval_out.data()[i] > T(0))) ++non_positive;
  REQUIRE(non_positive == 0);  // the probe's layer-0 outputs are all strictly positive
  for (Index i = 0; i < eval_out.size(); ++i) {
    const double e = eval_out.data()[i], t = train_out.data()[i];
    ++s.total;
    if (t == 0.0) {
      ++s.zeros;
    } else {
      const double expected = e / (1.0 - p);
      s.worst_relative_error = std::max(s.worst_relative_error, std::abs(t - expected) / expected);
    }
  }
  return s;
}

/// Binomial tolerance: 5 standard deviations of the zero fraction over n samples.
double rate_tolerance(double p, Index n) { return 5.0 * std::sqrt(p * (1.0 - p) / static_cast<double>(n)); }

}  // namespace

TEST_CASE("modules start in training mode; train() and eval() switch it", "[dropout]") {
  LSTM<float> lstm(LSTMOptions(3, 4).num_layers(2).dropout(0.5));
  CHECK(lstm.is_training());
  lstm.eval();
  CHECK_FALSE(lstm.is_training());
  lstm.train();
  CHECK(lstm.is_training());
  lstm.train(false);
  CHECK_FALSE(lstm.is_training());
  seqnet::RNNCell<double> cell(3, 4);
  CHECK(cell.is_training());
}

TEMPLATE_TEST_CASE("in eval mode a stacked module equals its layers composed one by one", "[dropout][composition]",
                   float, double) {
  using T = TestType;
  const Index S = 6, B = 3, I = 5, H = 4;
  seqnet::manual_seed(501);
  const auto x = signed_rand<T>(S, B, I);

  SECTION("bidirectional LSTM with projections, with initial states") {
    const Index P = 3;
    LSTM<T> stacked(LSTMOptions(I, H).num_layers(2).bidirectional(true).proj_size(P).dropout(0.6));
    stacked.eval();
    LSTM<T> layer0(LSTMOptions(I, H).bidirectional(true).proj_size(P));
    LSTM<T> layer1(LSTMOptions(2 * P, H).bidirectional(true).proj_size(P));
    copy_layer(layer0, stacked, 0);
    copy_layer(layer1, stacked, 1);
    const auto h0 = signed_rand<T>(4, B, P);
    const auto c0 = signed_rand<T>(4, B, H);
    const auto [out, hc] = stacked(x, {h0, c0});
    const auto [mid, hc0] = layer0(x, {rows(h0, 0, 2), rows(c0, 0, 2)});
    const auto [top, hc1] = layer1(mid, {rows(h0, 2, 4), rows(c0, 2, 4)});
    CHECK(identical(out, top));
    CHECK(identical(hc.first, concat0(hc0.first, hc1.first)));
    CHECK(identical(hc.second, concat0(hc0.second, hc1.second)));
  }
  SECTION("three-layer RNN") {
    RNN<T> stacked(RNNOptions(I, H).num_layers(3).dropout(0.5));
    stacked.eval();
    RNN<T> l0(RNNOptions(I, H)), l1(RNNOptions(H, H)), l2(RNNOptions(H, H));
    copy_layer(l0, stacked, 0);
    copy_layer(l1, stacked, 1);
    copy_layer(l2, stacked, 2);
    const auto [out, h] = stacked(x);
    const auto [o0, h0] = l0(x);
    const auto [o1, h1] = l1(o0);
    const auto [o2, h2] = l2(o1);
    CHECK(identical(out, o2));
    CHECK(identical(h, concat0(concat0(h0, h1), h2)));
  }
}

TEMPLATE_TEST_CASE("dropout acts only between layers and only in training mode", "[dropout]", float, double) {
  using T = TestType;
  const Index S = 8, B = 4, I = 5, H = 6;
  seqnet::manual_seed(502);
  const auto x = signed_rand<T>(S, B, I);

  SECTION("2-layer LSTM: the output and the last layer's state change, layer 0's state does not") {
    LSTM<T> lstm(LSTMOptions(I, H).num_layers(2).dropout(0.5));
    lstm.eval();
    const auto [out_eval, hc_eval] = lstm(x);
    lstm.train();
    const auto [out_train, hc_train] = lstm(x);
    CHECK(max_abs_diff(out_train, out_eval) > 1e-3);
    CHECK(identical(rows(hc_train.first, 0, 1), rows(hc_eval.first, 0, 1)));
    CHECK(identical(rows(hc_train.second, 0, 1), rows(hc_eval.second, 0, 1)));
    CHECK(max_abs_diff(Tensor<T, 3>(rows(hc_train.first, 1, 2)), Tensor<T, 3>(rows(hc_eval.first, 1, 2))) > 1e-4);
    CHECK(max_abs_diff(Tensor<T, 3>(rows(hc_train.second, 1, 2)), Tensor<T, 3>(rows(hc_eval.second, 1, 2))) > 1e-4);
    // Back in eval mode the result is the eval result again.
    lstm.eval();
    const auto [out_eval2, hc_eval2] = lstm(x);
    CHECK(identical(out_eval2, out_eval));
  }
  SECTION("3-layer bidirectional RNN: both directions of layer 0 are untouched") {
    RNN<T> rnn(RNNOptions(I, H).num_layers(3).bidirectional(true).dropout(0.3));
    rnn.eval();
    const auto [out_eval, h_eval] = rnn(x);
    rnn.train();
    const auto [out_train, h_train] = rnn(x);
    CHECK(max_abs_diff(out_train, out_eval) > 1e-3);
    CHECK(identical(rows(h_train, 0, 2), rows(h_eval, 0, 2)));
    for (Index k = 2; k < 6; ++k) {
      INFO("state row " << k);
      CHECK(max_abs_diff(Tensor<T, 3>(rows(h_train, k, k + 1)), Tensor<T, 3>(rows(h_eval, k, k + 1))) > 1e-4);
    }
  }
  SECTION("LSTM with projections") {
    LSTM<T> lstm(LSTMOptions(I, H).num_layers(2).proj_size(2).dropout(0.4));
    lstm.eval();
    const auto [out_eval, hc_eval] = lstm(x);
    lstm.train();
    const auto [out_train, hc_train] = lstm(x);
    CHECK(max_abs_diff(out_train, out_eval) > 1e-4);
    CHECK(identical(rows(hc_train.first, 0, 1), rows(hc_eval.first, 0, 1)));
    CHECK(identical(rows(hc_train.second, 0, 1), rows(hc_eval.second, 0, 1)));
  }
}

TEMPLATE_TEST_CASE("dropout 0 in training mode equals eval mode exactly", "[dropout]", float, double) {
  using T = TestType;
  seqnet::manual_seed(503);
  const auto x = signed_rand<T>(5, 3, 4);
  LSTM<T> lstm(LSTMOptions(4, 6).num_layers(3).bidirectional(true));
  RNN<T> rnn(RNNOptions(4, 6).num_layers(3).dropout(0.0));
  for (bool training : {true, false}) {
    lstm.train(training);
    rnn.train(training);
    const auto [o, hc] = lstm(x);
    const auto [r, h] = rnn(x);
    lstm.eval();
    rnn.eval();
    const auto [o_eval, hc_eval] = lstm(x);
    const auto [r_eval, h_eval] = rnn(x);
    CHECK(identical(o, o_eval));
    CHECK(identical(hc.first, hc_eval.first));
    CHECK(identical(hc.second, hc_eval.second));
    CHECK(identical(r, r_eval));
    CHECK(identical(h, h_eval));
  }
}

TEMPLATE_TEST_CASE("a single-layer module ignores dropout", "[dropout]", float, double) {
  using T = TestType;
  seqnet::manual_seed(504);
  const auto x = signed_rand<T>(5, 3, 4);
  LSTM<T> lstm(LSTMOptions(4, 6).dropout(0.7).proj_size(3));
  RNN<T> rnn(RNNOptions(4, 6).dropout(1.0).bidirectional(true));
  lstm.train();
  rnn.train();
  const auto [o_train, hc_train] = lstm(x);
  const auto [r_train, h_train] = rnn(x);
  lstm.eval();
  rnn.eval();
  const auto [o_eval, hc_eval] = lstm(x);
  const auto [r_eval, h_eval] = rnn(x);
  CHECK(identical(o_train, o_eval));
  CHECK(identical(hc_train.first, hc_eval.first));
  CHECK(identical(hc_train.second, hc_eval.second));
  CHECK(identical(r_train, r_eval));
  CHECK(identical(h_train, h_eval));
}

TEMPLATE_TEST_CASE("dropout 1 in training mode feeds zeros into the next layer", "[dropout][composition]", float,
                   double) {
  using T = TestType;
  const Index S = 6, B = 2, I = 4, H = 5;
  seqnet::manual_seed(505);
  const auto x = signed_rand<T>(S, B, I);

  SECTION("bidirectional 2-layer LSTM with initial states") {
    LSTM<T> stacked(LSTMOptions(I, H).num_layers(2).bidirectional(true).dropout(1.0));
    LSTM<T> layer1(LSTMOptions(2 * H, H).bidirectional(true));
    copy_layer(layer1, stacked, 1);
    const auto h0 = signed_rand<T>(4, B, H);
    const auto c0 = signed_rand<T>(4, B, H);
    stacked.eval();
    const auto [out_eval, hc_eval] = stacked(x, {h0, c0});
    stacked.train();
    const auto [out, hc] = stacked(x, {h0, c0});
    const auto [top, hc1] = layer1(seqnet::zeros<T>(S, B, 2 * H), {rows(h0, 2, 4), rows(c0, 2, 4)});
    CHECK(identical(out, top));
    CHECK(identical(rows(hc.first, 2, 4), hc1.first));
    CHECK(identical(rows(hc.second, 2, 4), hc1.second));
    CHECK(identical(rows(hc.first, 0, 2), rows(hc_eval.first, 0, 2)));
    CHECK(identical(rows(hc.second, 0, 2), rows(hc_eval.second, 0, 2)));
    // The input no longer matters above layer 0.
    const auto [out_other, hc_other] = stacked(signed_rand<T>(S, B, I), {h0, c0});
    CHECK(identical(out_other, out));
  }
  SECTION("3-layer RNN") {
    RNN<T> stacked(RNNOptions(I, H).num_layers(3).dropout(1.0));
    RNN<T> l1(RNNOptions(H, H)), l2(RNNOptions(H, H));
    copy_layer(l1, stacked, 1);
    copy_layer(l2, stacked, 2);
    stacked.train();
    const auto [out, h] = stacked(x);
    const auto [o1, h1] = l1(seqnet::zeros<T>(S, B, H));
    const auto [o2, h2] = l2(seqnet::zeros<T>(S, B, H));
    CHECK(identical(out, o2));
    CHECK(identical(Tensor<T, 3>(rows(h, 1, 2)), h1));
    CHECK(identical(Tensor<T, 3>(rows(h, 2, 3)), h2));
  }
}

TEMPLATE_TEST_CASE("dropout masks come from the module's generator", "[dropout][random]", float, double) {
  using T = TestType;
  seqnet::manual_seed(506);
  const auto x = signed_rand<T>(7, 3, 4);
  seqnet::Generator init(8);
  LSTM<T> lstm(LSTMOptions(4, 5).num_layers(3).dropout(0.5), init);
  lstm.train();

  SECTION("manual_seed reproduces the output; another seed changes it") {
    seqnet::manual_seed(1);
    const auto [a, hc_a] = lstm(x);
    seqnet::manual_seed(1);
    const auto [b, hc_b] = lstm(x);
    seqnet::manual_seed(2);
    const auto [c, hc_c] = lstm(x);
    CHECK(identical(a, b));
    CHECK(identical(hc_a.first, hc_b.first));
    CHECK(identical(hc_a.second, hc_b.second));
    CHECK_FALSE(identical(a, c));
    // Without reseeding, the next call draws new masks.
    seqnet::manual_seed(1);
    const auto [first, hc_first] = lstm(x);
    const auto [second, hc_second] = lstm(x);
    CHECK_FALSE(identical(first, second));
  }
  SECTION("set_generator with a seeded Generator") {
    seqnet::Generator g(42);
    lstm.set_generator(g);
    const auto [a, hc_a] = lstm(x);
    g.manual_seed(42);
    const auto [b, hc_b] = lstm(x);
    g.manual_seed(43);
    const auto [c, hc_c] = lstm(x);
    CHECK(identical(a, b));
    CHECK_FALSE(identical(a, c));
    // The same seed on the default generator gives the same masks as an own Generator with that seed.
    LSTM<T> twin(LSTMOptions(4, 5).num_layers(3).dropout(0.5));
    std::copy(lstm.flat_parameters(), lstm.flat_parameters() + lstm.num_parameters(), twin.flat_parameters());
    twin.train();
    seqnet::manual_seed(42);
    const auto [d, hc_d] = twin(x);
    CHECK(identical(a, d));
  }
  SECTION("a module with its own generator leaves the default generator alone") {
    seqnet::Generator g(7);
    lstm.set_generator(g);
    seqnet::manual_seed(99);
    const double expected = seqnet::default_generator().uniform01();
    seqnet::manual_seed(99);
    const auto [a, hc_a] = lstm(x);
    CHECK(seqnet::default_generator().uniform01() == expected);
    // ... while a module on the default generator does draw from it.
    LSTM<T> other(LSTMOptions(4, 5).num_layers(2).dropout(0.5));
    other.train();
    seqnet::manual_seed(99);
    const auto [b, hc_b] = other(x);
    CHECK(seqnet::default_generator().uniform01() != expected);
  }
  SECTION("eval mode draws nothing") {
    lstm.eval();
    seqnet::manual_seed(99);
    const double expected = seqnet::default_generator().uniform01();
    seqnet::manual_seed(99);
    const auto [a, hc_a] = lstm(x);
    CHECK(seqnet::default_generator().uniform01() == expected);
  }
}

TEMPLATE_TEST_CASE("dropout zeroes a fraction p and scales survivors by 1 / (1 - p)", "[dropout][statistics]", float,
                   double) {
  using T = TestType;
  const double p = GENERATE(0.3, 0.5, 0.8);
  const bool bidirectional = GENERATE(false, true);
  const bool batch_first = GENERATE(false, true);
  INFO("p = " << p << ", bidirectional = " << bidirectional << ", batch_first = " << batch_first);
  const Index S = 50, B = 20, I = 3, H = 16;  // >= 16000 dropped values
  seqnet::manual_seed(507);
  RNN<T> rnn = probe<T>(I, H, p, bidirectional, batch_first);
  Tensor<T, 3> x = seqnet::rand<T>(batch_first ? B : S, batch_first ? S : B, I);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] += T(0.1);

  rnn.eval();
  const auto [eval_out, eval_h] = rnn(x);
  rnn.train();
  const auto [train_out, train_h] = rnn(x);
  const auto [train_out2, train_h2] = rnn(x);

  const MaskStats s = mask_stats(train_out, eval_out, p);
  const Index D = bidirectional ? 2 : 1;
  REQUIRE(s.total == S * B * D * H);
  const double rate = static_cast<double>(s.zeros) / static_cast<double>(s.total);
  CHECK(std::abs(rate - p) <= rate_tolerance(p, s.total));
  CHECK(s.worst_relative_error <= 1e-6);

  // Independent masks per call: both calls zero the same element with probability p^2.
  Index both = 0;
  for (Index i = 0; i < train_out.size(); ++i)
    if (train_out.data()[i] == T(0) && train_out2.data()[i] == T(0)) ++both;
  const double both_rate = static_cast<double>(both) / static_cast<double>(s.total);
  CHECK(std::abs(both_rate - p * p) <= rate_tolerance(p * p, s.total));

  // The mask is spread evenly: each half of the sequence sees about the same rate.
  Index first_half_zeros = 0, first_half_total = 0;
  for (Index t = 0; t < S / 2; ++t)
    for (Index b = 0; b < B; ++b)
      for (Index k = 0; k < D * H; ++k) {
        ++first_half_total;
        if ((batch_first ? train_out(b, t, k) : train_out(t, b, k)) == T(0)) ++first_half_zeros;
      }
  const double first_rate = static_cast<double>(first_half_zeros) / static_cast<double>(first_half_total);
  CHECK(std::abs(first_rate - p) <= rate_tolerance(p, first_half_total));
}

TEMPLATE_TEST_CASE("the probe network passes layer 0's output through in eval mode", "[dropout][statistics]", float,
                   double) {
  using T = TestType;
  // Guards the statistics test: with dropout 1 the probe's output is exactly zero, and its eval output is
  // layer 0's output (the same RNN built with one layer and the same layer-0 weights).
  const Index S = 9, B = 4, I = 3, H = 5;
  seqnet::manual_seed(508);
  RNN<T> rnn = probe<T>(I, H, 1.0, true, false);
  RNN<T> layer0(RNNOptions(I, H).nonlinearity(Nonlinearity::Relu).bidirectional(true));
  copy_layer(layer0, rnn, 0);
  Tensor<T, 3> x = seqnet::rand<T>(S, B, I);
  rnn.eval();
  const auto [eval_out, eval_h] = rnn(x);
  const auto [ref, ref_h] = layer0(x);
  CHECK(identical(eval_out, ref));
  rnn.train();
  const auto [train_out, train_h] = rnn(x);
  Index non_zero = 0;
  for (Index i = 0; i < train_out.size(); ++i)
    if (train_out.data()[i] != T(0)) ++non_zero;
  CHECK(non_zero == 0);
  CHECK(train_out.size() == S * B * 2 * H);
  CHECK(identical(rows(train_h, 0, 2), ref_h));
}
