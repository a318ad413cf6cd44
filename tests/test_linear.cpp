// SPDX-License-Identifier: MIT
// Linear<T>: golden outputs against torch.nn.Linear (ranks 1-4, bias on/off, sizes 1) and against the second
// seed's RegLSTM (LSTM + Linear head, written without Sequential), reprs, parameters, PyTorch's
// initialisation, zero sizes, and the exact error texts (PyTorch 1.13 printed each of them; 2.x's ATen
// code paths give the same texts).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <seqnet/linear.hpp>
#include <seqnet/rnn.hpp>
#include <seqnet/state_dict.hpp>

#include "layers_golden.hpp"
#include "tensor_compare.hpp"

namespace {

using seqnet::Generator;
using seqnet::Index;
using seqnet::Linear;
using seqnet::LinearOptions;
using seqnet::Shape;
using seqnet::Tensor;

using seqnet_test::message_of;

/// The second seed's RegLSTM without nn.Sequential: an LSTM and a Linear head on its output. Linear works
/// on the last dimension of any rank, so the seed's view(-1, hidden) / view(seq, batch, -1) are not needed.
/// `named_parameters()` gives PyTorch's state_dict names (`rnn.weight_ih_l0`, ..., `reg.0.weight`).
template <typename T>
struct RegLSTM {
  seqnet::LSTM<T> rnn;
  seqnet::Linear<T> reg;

  RegLSTM(Index input_size, Index hidden_size, Index num_layers, bool bidirectional, Index out_features)
      : rnn(seqnet::LSTMOptions(input_size, hidden_size).num_layers(num_layers).bidirectional(bidirectional)),
        reg(hidden_size * (bidirectional ? 2 : 1), out_features) {}

  Tensor<T, 3> forward(const Tensor<T, 3>& x) const { return reg(rnn(x).first); }
  auto named_parameters() { return seqnet::join(seqnet::prefixed("rnn", rnn), seqnet::prefixed("reg.0", reg)); }
};

/// Copies the stored parameters into `named` (matched by name, in order), checking names and shapes.
template <typename T>
void load_parameters(seqnet::NamedParameters<T> named, const golden::Case& c) {
  REQUIRE(named.size() == c.params.size());
  for (std::size_t i = 0; i < named.size(); ++i) {
    const golden::Tensor& stored = c.params[i];
    INFO("parameter " << stored.name);
    REQUIRE(named[i].first == stored.name);
    REQUIRE(named[i].second.dimensions().str() == layers_golden::shape_str(stored.shape));
    if (stored.rank() == 1) {
      named[i].second.assign(layers_golden::to_tensor<T, 1>(stored));
    } else {
      REQUIRE(stored.rank() == 2);
      named[i].second.assign(layers_golden::to_tensor<T, 2>(stored));
    }
  }
}

template <typename T, int R>
void run_linear(const Linear<T>& linear, const golden::Case& c, layers_golden::Stats& stats) {
  const auto x = layers_golden::to_tensor<T, R>(*c.find_input("x"));
  layers_golden::compare(linear(x), c.find_output("y"), stats);
}

template <typename T>
void check_linear_golden() {
  layers_golden::Stats stats;
  const auto cases = layers_golden::cases_of<T>("Linear");
  for (const golden::Case* c : cases) {
    INFO("case " << c->name);
    Linear<T> linear(c->int_option("in_features"), c->int_option("out_features"), c->bool_option("bias"));
    CHECK(linear.repr() == c->repr);
    CHECK(c->mode == "train");
    CHECK(linear.is_training());
    load_parameters(linear.named_parameters(), *c);
    REQUIRE(c->inputs.size() == 1);
    switch (c->find_input("x")->rank()) {
      case 1: run_linear<T, 1>(linear, *c, stats); break;
      case 2: run_linear<T, 2>(linear, *c, stats); break;
      case 3: run_linear<T, 3>(linear, *c, stats); break;
      case 4: run_linear<T, 4>(linear, *c, stats); break;
      default: FAIL("unexpected input rank");
    }
    ++stats.cases;
  }
  layers_golden::report<T>("Linear", stats, cases.size());
}

template <typename T>
void check_reg_lstm_golden() {
  layers_golden::Stats stats;
  const auto cases = layers_golden::cases_of<T>("RegLSTM");
  for (const golden::Case* c : cases) {
    INFO("case " << c->name);
    RegLSTM<T> model(c->int_option("input_size"), c->int_option("hidden_size"), c->int_option("num_layers"),
                     c->bool_option("bidirectional"), c->int_option("out_features"));
    CHECK(model.rnn.repr() + " | " + model.reg.repr() == c->repr);
    load_parameters(model.named_parameters(), *c);
    layers_golden::compare(model.forward(layers_golden::to_tensor<T, 3>(*c->find_input("x"))), c->find_output("y"),
                           stats);
    ++stats.cases;
  }
  layers_golden::report<T>("RegLSTM", stats, cases.size());
}

}  // namespace

TEST_CASE("linear: float64 outputs match torch.nn.Linear", "[linear][golden]") { check_linear_golden<double>(); }
TEST_CASE("linear: float32 outputs match torch.nn.Linear", "[linear][golden]") { check_linear_golden<float>(); }
TEST_CASE("linear: RegLSTM (LSTM + Linear head) matches the seed's PyTorch model, float64", "[linear][golden]") {
  check_reg_lstm_golden<double>();
}
TEST_CASE("linear: RegLSTM (LSTM + Linear head) matches the seed's PyTorch model, float32", "[linear][golden]") {
  check_reg_lstm_golden<float>();
}

TEST_CASE("linear: repr is PyTorch's", "[linear]") {
  CHECK(Linear<float>(16, 1).repr() == "Linear(in_features=16, out_features=1, bias=True)");
  CHECK(Linear<double>(3, 7, false).repr() == "Linear(in_features=3, out_features=7, bias=False)");
  CHECK(Linear<float>(LinearOptions(100, 20).bias(false)).repr() ==
        "Linear(in_features=100, out_features=20, bias=False)");
  CHECK(Linear<float>(0, 0).repr() == "Linear(in_features=0, out_features=0, bias=True)");
  std::ostringstream printed;
  const seqnet::Module<float>& base = Linear<float>(4, 2);
  printed << base;
  CHECK(printed.str() == "Linear(in_features=4, out_features=2, bias=True)");
}

TEST_CASE("linear: options, parameter names, shapes and views", "[linear]") {
  Linear<float> linear(LinearOptions(5, 3));
  CHECK(linear.in_features() == 5);
  CHECK(linear.out_features() == 3);
  CHECK(linear.has_bias());
  CHECK(linear.options().bias());
  std::vector<std::string> names;
  for (const auto& [name, p] : linear.named_parameters()) names.push_back(name + " " + p.dimensions().str());
  CHECK(names == std::vector<std::string>{"weight [3, 5]", "bias [3]"});
  CHECK(linear.num_parameters() == 18);
  CHECK(linear.weight().data() == linear.flat_parameters());
  CHECK(linear.bias().data() == linear.flat_parameters() + 15);

  Linear<double> no_bias(5, 3, false);
  names.clear();
  for (const auto& [name, p] : no_bias.named_parameters()) names.push_back(name + " " + p.dimensions().str());
  CHECK(names == std::vector<std::string>{"weight [3, 5]"});
  CHECK(no_bias.num_parameters() == 15);
  CHECK_THROWS_MATCHES(no_bias.bias(), seqnet::key_error,
                       Catch::Matchers::Message("'Linear' was built with bias=False and has no bias"));
  CHECK_THROWS_MATCHES(no_bias.parameter("bias"), seqnet::key_error,
                       Catch::Matchers::Message("'Linear' object has no attribute 'bias'"));
}

TEST_CASE("linear: y = x W^T + b on the last dimension, every rank", "[linear]") {
  Linear<double> linear(3, 2);
  Tensor<double, 2> w(2, 3);
  w.setValues({{1, 2, 3}, {-1, 0, 0.5}});
  Tensor<double, 1> b(2);
  b.setValues({10, 20});
  linear.weight().assign(w);
  linear.bias().assign(b);

  Tensor<double, 1> x1(3);
  x1.setValues({1, 1, 2});
  const Tensor<double, 1> y1 = linear(x1);
  CHECK(seqnet::shape(y1) == Shape{2});
  CHECK(y1(0) == 10 + 1 + 2 + 6);
  CHECK(y1(1) == 20 - 1 + 0 + 1);

  // Every leading position of a rank-4 input is the rank-1 result of its last-dimension vector.
  Tensor<double, 4> x4(2, 1, 3, 3);
  for (Index i = 0; i < x4.size(); ++i) x4.data()[i] = 0.25 * static_cast<double>(i % 7) - 0.5;
  const Tensor<double, 4> y4 = linear.forward(x4);
  CHECK(seqnet::shape(y4) == Shape{2, 1, 3, 2});
  for (Index row = 0; row < 6; ++row) {
    Tensor<double, 1> xi(3);
    std::copy_n(x4.data() + row * 3, 3, xi.data());
    const Tensor<double, 1> yi = linear(xi);
    CHECK(y4.data()[row * 2] == Approx(yi(0)).epsilon(1e-15));
    CHECK(y4.data()[row * 2 + 1] == Approx(yi(1)).epsilon(1e-15));
  }
}

TEST_CASE("linear: zero sizes give empty outputs or the bias, as in PyTorch", "[linear]") {
  Linear<float> linear(4, 3);
  CHECK(seqnet::shape(linear(seqnet::zeros<float>(0, 4))) == Shape{0, 3});
  CHECK(seqnet::shape(linear(seqnet::zeros<float>(2, 0, 4))) == Shape{2, 0, 3});

  // in_features = 0: the product is empty, so every output row is the bias, which PyTorch initialises to 0.
  Linear<float> no_inputs(0, 3);
  CHECK(no_inputs.weight().dimensions() == Shape{3, 0});
  for (Index i = 0; i < 3; ++i) CHECK(no_inputs.bias().data()[i] == 0.0f);
  Tensor<float, 1> b(3);
  b.setValues({1.5f, -2.0f, 0.25f});
  no_inputs.bias().assign(b);
  const Tensor<float, 2> y = no_inputs(seqnet::zeros<float>(2, 0));
  REQUIRE(seqnet::shape(y) == Shape{2, 3});
  for (Index r = 0; r < 2; ++r)
    for (Index k = 0; k < 3; ++k) CHECK(y(r, k) == b(k));

  Linear<float> no_outputs(3, 0);
  CHECK(seqnet::shape(no_outputs(seqnet::zeros<float>(2, 3))) == Shape{2, 0});
}

TEST_CASE("linear: a wrong last dimension raises PyTorch's matmul error", "[linear]") {
  const Linear<float> linear(16, 1);
  const std::string prefix = "mat1 and mat2 shapes cannot be multiplied ";
  CHECK(message_of([&] { linear(seqnet::zeros<float>(20)); }) == prefix + "(1x20 and 16x1)");
  CHECK(message_of([&] { linear(seqnet::zeros<float>(30, 20)); }) == prefix + "(30x20 and 16x1)");
  CHECK(message_of([&] { linear(seqnet::zeros<float>(5, 6, 20)); }) == prefix + "(30x20 and 16x1)");
  CHECK(message_of([&] { linear(seqnet::zeros<float>(2, 3, 4, 20)); }) == prefix + "(24x20 and 16x1)");
  CHECK(message_of([&] { linear(seqnet::zeros<float>(0, 20)); }) == prefix + "(0x20 and 16x1)");
  CHECK(message_of([&] { linear(seqnet::zeros<float>(2, 0, 20)); }) == prefix + "(0x20 and 16x1)");
  CHECK_THROWS_AS(linear(seqnet::zeros<float>(0)), seqnet::shape_error);
  CHECK(message_of([&] { Linear<double>(16, 1, false)(seqnet::zeros<double>(20)); }) ==
        prefix + "(1x20 and 16x1)");
}

TEST_CASE("linear: negative sizes raise PyTorch's message", "[linear]") {
  CHECK_THROWS_MATCHES(Linear<float>(-1, 3), seqnet::value_error,
                       Catch::Matchers::Message("Trying to create tensor with negative dimension -1: [3, -1]"));
  CHECK_THROWS_MATCHES(Linear<float>(3, -1), seqnet::value_error,
                       Catch::Matchers::Message("Trying to create tensor with negative dimension -1: [-1, 3]"));
  CHECK_THROWS_MATCHES(Linear<float>(-2, -3), seqnet::value_error,
                       Catch::Matchers::Message("Trying to create tensor with negative dimension -3: [-3, -2]"));
  CHECK_THROWS_AS(Linear<float>(Index{1} << 40, Index{1} << 20), seqnet::value_error);
}

TEST_CASE("linear: initialisation is PyTorch's U(-1/sqrt(in), 1/sqrt(in)), weight then bias", "[linear]") {
  Generator generator(2024);
  const Linear<double> linear(300, 200, true, generator);
  const double bound = 1.0 / std::sqrt(300.0);
  const auto w = linear.weight().flat();
  const auto b = linear.bias().flat();
  CHECK(w.minCoeff() >= -bound);
  CHECK(w.maxCoeff() < bound);
  CHECK(w.minCoeff() < -0.999 * bound);  // 60000 draws reach within 0.1% of both ends
  CHECK(w.maxCoeff() > 0.999 * bound);
  CHECK(b.minCoeff() >= -bound);
  CHECK(b.maxCoeff() < bound);
  const double mean = w.mean();
  const double variance = (w.array() - mean).square().mean();
  CHECK(std::fabs(mean) < 0.012 * bound);                      // 5 standard errors
  CHECK(variance == Approx(bound * bound / 3).epsilon(0.02));  // U(-b, b) has variance b^2 / 3

  // The exact stream: every weight (row-major), then every bias, each generator.uniform(-bound, bound).
  Generator replay(7);
  const Linear<float> small(5, 4, true, replay);
  Generator expected(7);
  const double small_bound = 1.0 / std::sqrt(5.0);
  for (Index i = 0; i < small.num_parameters(); ++i)
    CHECK(small.flat_parameters()[i] == static_cast<float>(expected.uniform(-small_bound, small_bound)));

  // The default generator is used only when no generator is passed.
  Generator before = seqnet::default_generator();
  Generator mine(1);
  const Linear<float> quiet(8, 8, true, mine);
  CHECK(before.uniform01() == seqnet::default_generator().uniform01());

  Generator again(2024);
  const Linear<double> same(300, 200, true, again);
  CHECK(std::equal(same.flat_parameters(), same.flat_parameters() + same.num_parameters(), linear.flat_parameters()));
}
