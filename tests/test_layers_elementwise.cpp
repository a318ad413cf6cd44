// SPDX-License-Identifier: MIT
// The activations (modules and functions) and the tensor glue (narrow, cat, squeeze/unsqueeze, sqrt, abs,
// pow) against PyTorch golden data, with reprs and PyTorch's error texts.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <seqnet/seqnet.hpp>

#include "conv_layers_golden.hpp"
#include "tensor_compare.hpp"

namespace {

using seqnet::Index;
using seqnet::Tensor;
using seqnet_test::message_of;

/// Runs the case's module (built by `make`) and the matching function `apply` on its input.
template <typename T, typename Module, typename Apply>
void check_activation(const golden::Case& c, const Module& module, Apply apply, layers_golden::Stats& stats) {
  INFO("case " << c.name);
  CHECK(module.repr() == c.repr);
  CHECK(module.num_parameters() == 0);
  conv_golden::with_tensor<T>(*c.find_input("x"), [&](const auto& x) {
    layers_golden::compare(module(x), c.find_output("y"), stats);
    layers_golden::compare(apply(x), c.find_output("y"), stats);
  });
  ++stats.cases;
}

template <typename T>
void check_activations_golden() {
  layers_golden::Stats stats;
  std::size_t expected = 0;
  const auto run = [&](const std::string& name, auto make, auto apply) {
    for (const golden::Case* c : conv_golden::cases_of<T>(name)) {
      check_activation<T>(*c, make(*c), [&](const auto& x) { return apply(*c, x); }, stats);
      ++expected;
    }
  };
  run("ReLU", [](const golden::Case&) { return seqnet::ReLU<T>(); },
      [](const golden::Case&, const auto& x) { return seqnet::relu(x); });
  run("LeakyReLU", [](const golden::Case& c) { return seqnet::LeakyReLU<T>(c.float_option("negative_slope")); },
      [](const golden::Case& c, const auto& x) { return seqnet::leaky_relu(x, c.float_option("negative_slope")); });
  run("Sigmoid", [](const golden::Case&) { return seqnet::Sigmoid<T>(); },
      [](const golden::Case&, const auto& x) { return seqnet::sigmoid(x); });
  run("Tanh", [](const golden::Case&) { return seqnet::Tanh<T>(); },
      [](const golden::Case&, const auto& x) { return seqnet::tanh(x); });
  run("GELU", [](const golden::Case& c) { return seqnet::GELU<T>(c.option("approximate")); },
      [](const golden::Case& c, const auto& x) { return seqnet::gelu(x, c.option("approximate")); });
  run("SiLU", [](const golden::Case&) { return seqnet::SiLU<T>(); },
      [](const golden::Case&, const auto& x) { return seqnet::silu(x); });
  run("Softmax", [](const golden::Case& c) { return seqnet::Softmax<T>(c.int_option("dim")); },
      [](const golden::Case& c, const auto& x) { return seqnet::softmax(x, c.int_option("dim")); });
  run("LogSoftmax", [](const golden::Case& c) { return seqnet::LogSoftmax<T>(c.int_option("dim")); },
      [](const golden::Case& c, const auto& x) { return seqnet::log_softmax(x, c.int_option("dim")); });
  layers_golden::report<T>("activations", stats, expected);
  CHECK(expected == 14);
}

template <typename T>
void check_ops_golden() {
  layers_golden::Stats stats;
  const auto cases = conv_golden::cases_of<T>("op");
  for (const golden::Case* c : cases) {
    INFO("case " << c->name);
    const std::string op = c->option("op");
    const golden::Tensor& gx = *c->find_input("x");
    const golden::Tensor* y = c->find_output("y");
    if (op == "squeeze") {
      REQUIRE(gx.rank() == 3);
      layers_golden::compare(seqnet::squeeze(layers_golden::to_tensor<T, 3>(gx), c->int_option("dim")), y, stats);
    } else if (op == "unsqueeze") {
      REQUIRE(gx.rank() == 2);
      layers_golden::compare(seqnet::unsqueeze(layers_golden::to_tensor<T, 2>(gx), c->int_option("dim")), y, stats);
    } else if (op == "cat") {
      REQUIRE(gx.rank() == 3);
      const auto a = layers_golden::to_tensor<T, 3>(gx), b = layers_golden::to_tensor<T, 3>(*c->find_input("x2"));
      layers_golden::compare(seqnet::cat<T, 3>({a, b}, c->int_option("dim")), y, stats);
    } else {
      REQUIRE(gx.rank() == 3);
      const auto x = layers_golden::to_tensor<T, 3>(gx);
      if (op == "narrow") {
        layers_golden::compare(seqnet::narrow(x, c->int_option("dim"), c->int_option("start"), c->int_option("length")),
                               y, stats);
      } else if (op == "sqrt") {
        layers_golden::compare(seqnet::sqrt(x), y, stats);
      } else if (op == "abs") {
        layers_golden::compare(seqnet::abs(x), y, stats);
      } else if (op == "pow") {
        layers_golden::compare(seqnet::pow(x, c->float_option("exponent")), y, stats);
      } else {
        FAIL("unknown op " << op);
      }
    }
    ++stats.cases;
  }
  layers_golden::report<T>("tensor ops", stats, cases.size());
}

}  // namespace

TEST_CASE("activations match torch.nn (fp64)", "[layers][activation][golden]") { check_activations_golden<double>(); }
TEST_CASE("activations match torch.nn (fp32)", "[layers][activation][golden]") { check_activations_golden<float>(); }
TEST_CASE("tensor ops match torch (fp64)", "[layers][ops][golden]") { check_ops_golden<double>(); }
TEST_CASE("tensor ops match torch (fp32)", "[layers][ops][golden]") { check_ops_golden<float>(); }

TEST_CASE("activation reprs and special values", "[layers][activation]") {
  CHECK(seqnet::ReLU<float>().repr() == "ReLU()");
  CHECK(seqnet::LeakyReLU<float>().repr() == "LeakyReLU(negative_slope=0.01)");
  CHECK(seqnet::GELU<double>().repr() == "GELU(approximate='none')");
  CHECK(seqnet::Softmax<float>(-1).repr() == "Softmax(dim=-1)");
  CHECK(seqnet::LogSoftmax<float>(0).repr() == "LogSoftmax(dim=0)");
  Tensor<float, 1> x(4);
  x.setValues({-std::numeric_limits<float>::infinity(), 0.0f, std::numeric_limits<float>::quiet_NaN(), 1000.0f});
  const auto r = seqnet::relu(x);
  CHECK(r(0) == 0.0f);
  CHECK(std::isnan(r(2)));
  const auto s = seqnet::sigmoid(x);
  CHECK(s(0) == 0.0f);
  CHECK(s(3) == 1.0f);
  // softmax of large values does not overflow (max-subtracted)
  Tensor<float, 1> big(2);
  big.setValues({1000.0f, 1000.0f});
  const auto p = seqnet::softmax(big, 0);
  CHECK(p(0) == 0.5f);
}

TEST_CASE("activation and tensor op errors are PyTorch's", "[layers][activation][ops][errors]") {
  Tensor<float, 3> x(2, 3, 4);
  x.setZero();
  CHECK(message_of<seqnet::value_error>([] { seqnet::GELU<float>("foo"); }) ==
        "approximate argument must be either none or tanh.");
  CHECK(message_of<seqnet::index_error>([&] { seqnet::softmax(x, 3); }) ==
        "Dimension out of range (expected to be in range of [-3, 2], but got 3)");
  CHECK(message_of<seqnet::index_error>([&] { seqnet::LogSoftmax<float>(-4)(x); }) ==
        "Dimension out of range (expected to be in range of [-3, 2], but got -4)");
  CHECK(message_of<seqnet::shape_error>([&] { seqnet::cat<float, 3>({x, seqnet::zeros<float>(2, 5, 5)}, 2); }) ==
        "Sizes of tensors must match except in dimension 2. Expected size 3 but got size 5 for tensor number 1 in the "
        "list.");
  CHECK(message_of<seqnet::index_error>([&] { seqnet::cat<float, 3>({x, x}, 3); }) ==
        "Dimension out of range (expected to be in range of [-3, 2], but got 3)");
  CHECK(message_of<seqnet::value_error>([] { seqnet::cat(std::vector<Tensor<float, 2>>{}, 0); }) ==
        "torch.cat(): expected a non-empty list of Tensors");
  CHECK(message_of<seqnet::index_error>([&] { seqnet::squeeze(x, 5); }) ==
        "Dimension out of range (expected to be in range of [-3, 2], but got 5)");
  CHECK(message_of<seqnet::shape_error>([&] { seqnet::squeeze(x, 1); }).find("squeeze(1): dimension 1 of a tensor of "
                                                                            "size [2, 3, 4] has size 3, not 1") == 0);
  CHECK(message_of<seqnet::index_error>([&] { seqnet::unsqueeze(x, 5); }) ==
        "Dimension out of range (expected to be in range of [-4, 3], but got 5)");
  CHECK(message_of<seqnet::index_error>([&] { seqnet::unsqueeze(x, -5); }) ==
        "Dimension out of range (expected to be in range of [-4, 3], but got -5)");
  CHECK(message_of<seqnet::value_error>([&] { seqnet::narrow(x, 1, 2, 2); }) ==
        "start (2) + length (2) exceeds dimension size (3).");
  CHECK(message_of<seqnet::index_error>([&] { seqnet::narrow(x, 3, 0, 1); }) ==
        "Dimension out of range (expected to be in range of [-3, 2], but got 3)");
  CHECK(message_of<seqnet::value_error>([&] { seqnet::narrow(x, 1, 0, -1); }) == "narrow(): length must be non-negative.");
  CHECK(message_of<seqnet::index_error>([&] { seqnet::narrow(x, 1, 4, 0); }) ==
        "start out of range (expected to be in range of [-3, 3], but got 4)");
}

namespace {

/// `forward_into` gives `forward`'s bits, into a separate tensor and in place (`out` = `x`).
template <typename Layer, typename T, int R>
void check_into_forms(const Layer& layer, const Tensor<T, R>& x) {
  const Tensor<T, R> expected = layer.forward(x);
  Tensor<T, R> out;
  layer.forward_into(x, out);
  Tensor<T, R> in_place = x;
  layer.forward_into(in_place, in_place);
  REQUIRE(out.dimensions() == expected.dimensions());
  REQUIRE(in_place.dimensions() == expected.dimensions());
  for (Index i = 0; i < expected.size(); ++i) {
    const T e = expected.data()[i];
    CHECK(((out.data()[i] == e) || (e != e && out.data()[i] != out.data()[i])));
    CHECK(((in_place.data()[i] == e) || (e != e && in_place.data()[i] != in_place.data()[i])));
  }
}

}  // namespace

TEMPLATE_TEST_CASE("activation, pooling and BatchNorm1d modules write into caller-owned tensors, in place too",
                   "[layers][realtime]", float, double) {
  using T = TestType;
  Tensor<T, 3> x = seqnet::randn<T>(2, 4, 9);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] *= T(3);
  x(0, 1, 2) = std::numeric_limits<T>::quiet_NaN();
  check_into_forms(seqnet::ReLU<T>(), x);
  check_into_forms(seqnet::LeakyReLU<T>(0.2), x);
  check_into_forms(seqnet::Sigmoid<T>(), x);
  check_into_forms(seqnet::Tanh<T>(), x);
  check_into_forms(seqnet::GELU<T>(), x);
  check_into_forms(seqnet::GELU<T>("tanh"), x);
  check_into_forms(seqnet::SiLU<T>(), x);
  check_into_forms(seqnet::Softmax<T>(1), x);
  check_into_forms(seqnet::LogSoftmax<T>(-1), x);
  seqnet::BatchNorm1d<T> norm(4);
  norm.eval();
  check_into_forms(norm, x);

  // Pooling changes the length, so only into a separate tensor.
  const seqnet::MaxPool1d<T> max_pool(3, 2, 1);
  const seqnet::AvgPool1d<T> avg_pool(3, 2, 1);
  Tensor<T, 3> pooled;
  max_pool.forward_into(x, pooled);
  const Tensor<T, 3> max_expected = max_pool.forward(x);
  REQUIRE(pooled.dimensions() == max_expected.dimensions());
  avg_pool.forward_into(x, pooled);
  const Tensor<T, 3> avg_expected = avg_pool.forward(x);
  REQUIRE(pooled.dimensions() == avg_expected.dimensions());
  for (Index i = 0; i < pooled.size(); ++i) {
    const T e = avg_expected.data()[i];
    CHECK(((pooled.data()[i] == e) || (e != e && pooled.data()[i] != pooled.data()[i])));
  }
}
