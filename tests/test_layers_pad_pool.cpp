// SPDX-License-Identifier: MIT
// Padding (F.pad with separate left/right amounts in the four modes, and the padding modules) and pooling
// (MaxPool1d, AvgPool1d) against PyTorch golden data, with reprs and PyTorch's error texts.
#include <catch2/catch.hpp>

#include <optional>
#include <string>

#include <seqnet/seqnet.hpp>

#include "conv_layers_golden.hpp"
#include "tensor_compare.hpp"

namespace {

using seqnet::Index;
using seqnet::PadMode;
using seqnet::Tensor;
using seqnet_test::message_of;

template <typename T>
void check_pad_golden() {
  layers_golden::Stats stats;
  const auto cases = conv_golden::cases_of<T>("pad");
  for (const golden::Case* c : cases) {
    INFO("case " << c->name);
    const auto amounts = conv_golden::pair_option(*c, "pad");
    const std::string mode = c->option("mode");
    conv_golden::with_tensor<T>(*c->find_input("x"), [&](const auto& x) {
      if (mode == "constant") {
        layers_golden::compare(seqnet::pad(x, amounts, mode, c->float_option("value")), c->find_output("y"), stats);
      } else {
        layers_golden::compare(seqnet::pad(x, amounts, seqnet::pad_mode(mode)), c->find_output("y"), stats);
      }
    });
    ++stats.cases;
  }
  layers_golden::report<T>("pad", stats, cases.size());
}

template <typename T, typename Module>
void run_module(const golden::Case& c, const Module& module, layers_golden::Stats& stats) {
  INFO("case " << c.name);
  CHECK(module.repr() == c.repr);
  CHECK(module.num_parameters() == 0);
  conv_golden::with_tensor<T>(*c.find_input("x"), [&](const auto& x) {
    constexpr int R = std::decay_t<decltype(x)>::NumIndices;
    if constexpr (R == 2 || R == 3) {
      layers_golden::compare(module(x), c.find_output("y"), stats);
    } else {
      FAIL("input of rank " << R);
    }
  });
  ++stats.cases;
}

template <typename T>
void check_pad_modules_golden() {
  layers_golden::Stats stats;
  for (const golden::Case* c : conv_golden::cases_of<T>("ConstantPad1d"))
    run_module<T>(*c, seqnet::ConstantPad1d<T>(conv_golden::pair_option(*c, "padding"), c->float_option("value")), stats);
  for (const golden::Case* c : conv_golden::cases_of<T>("ZeroPad1d"))
    run_module<T>(*c, seqnet::ZeroPad1d<T>(conv_golden::pair_option(*c, "padding")), stats);
  for (const golden::Case* c : conv_golden::cases_of<T>("ReflectionPad1d"))
    run_module<T>(*c, seqnet::ReflectionPad1d<T>(conv_golden::pair_option(*c, "padding")), stats);
  for (const golden::Case* c : conv_golden::cases_of<T>("ReplicationPad1d"))
    run_module<T>(*c, seqnet::ReplicationPad1d<T>(conv_golden::pair_option(*c, "padding")), stats);
  for (const golden::Case* c : conv_golden::cases_of<T>("CircularPad1d"))
    run_module<T>(*c, seqnet::CircularPad1d<T>(conv_golden::pair_option(*c, "padding")), stats);
  layers_golden::report<T>("padding modules", stats, stats.cases);
  CHECK(stats.cases == 7);
}

template <typename T>
void check_pool_golden() {
  layers_golden::Stats stats;
  for (const golden::Case* c : conv_golden::cases_of<T>("MaxPool1d"))
    run_module<T>(*c,
                  seqnet::MaxPool1d<T>(c->int_option("kernel_size"), c->int_option("stride"), c->int_option("padding"),
                                       c->int_option("dilation"), c->bool_option("ceil_mode")),
                  stats);
  for (const golden::Case* c : conv_golden::cases_of<T>("AvgPool1d"))
    run_module<T>(*c,
                  seqnet::AvgPool1d<T>(c->int_option("kernel_size"), c->int_option("stride"), c->int_option("padding"),
                                       c->bool_option("ceil_mode"), c->bool_option("count_include_pad")),
                  stats);
  layers_golden::report<T>("pooling", stats, stats.cases);
  CHECK(stats.cases == 9);
}

}  // namespace

TEST_CASE("pad matches F.pad (fp64)", "[layers][padding][golden]") { check_pad_golden<double>(); }
TEST_CASE("pad matches F.pad (fp32)", "[layers][padding][golden]") { check_pad_golden<float>(); }
TEST_CASE("padding modules match torch.nn (fp64)", "[layers][padding][golden]") { check_pad_modules_golden<double>(); }
TEST_CASE("padding modules match torch.nn (fp32)", "[layers][padding][golden]") { check_pad_modules_golden<float>(); }
TEST_CASE("pooling matches torch.nn (fp64)", "[layers][pooling][golden]") { check_pool_golden<double>(); }
TEST_CASE("pooling matches torch.nn (fp32)", "[layers][pooling][golden]") { check_pool_golden<float>(); }

TEST_CASE("padding and pooling reprs and defaults", "[layers][padding][pooling]") {
  CHECK(seqnet::ConstantPad1d<float>(2, 3.5).repr() == "ConstantPad1d(padding=(2, 2), value=3.5)");
  CHECK(seqnet::ReflectionPad1d<float>(2).repr() == "ReflectionPad1d((2, 2))");
  CHECK(seqnet::MaxPool1d<float>(3).repr() == "MaxPool1d(kernel_size=3, stride=3, padding=0, dilation=1, ceil_mode=False)");
  CHECK(seqnet::AvgPool1d<float>(3).repr() == "AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))");
  CHECK(seqnet::AvgPool1d<float>(3).stride() == 3);
  Tensor<float, 2> x(1, 3);
  x.setValues({{1, 2, 3}});
  const auto y = seqnet::pad(x, {2, 0}, PadMode::reflect);
  CHECK(y(0, 0) == 3.0f);
  CHECK(y(0, 1) == 2.0f);
  CHECK(y(0, 2) == 1.0f);
}

TEST_CASE("padding and pooling errors are PyTorch's", "[layers][padding][pooling][errors]") {
  Tensor<float, 3> x(2, 3, 5);
  x.setZero();
  CHECK(message_of<seqnet::shape_error>([] { seqnet::pad(seqnet::zeros<float>(5), {0, 2}, "reflect"); }) ==
        "Padding size 2 is not supported for 1D input tensor.");
  CHECK(message_of<seqnet::shape_error>([] { seqnet::ReplicationPad1d<float>(2)(seqnet::zeros<float>(1, 2, 3, 5)); }) ==
        "Padding size 2 is not supported for 4D input tensor.");
  CHECK(message_of<seqnet::value_error>([&] { seqnet::pad(x, {0, 64}, "reflect"); }) ==
        "Argument #4: Padding size should be less than the corresponding input dimension, but got: padding (0, 64) at "
        "dimension 2 of input [2, 3, 5]");
  CHECK(message_of<seqnet::value_error>([] { seqnet::ReflectionPad1d<float>({1, 5})(seqnet::zeros<float>(3, 5)); }) ==
        "Argument #4: Padding size should be less than the corresponding input dimension, but got: padding (1, 5) at "
        "dimension 1 of input [3, 5]");
  CHECK(message_of<seqnet::shape_error>([] { seqnet::ReflectionPad1d<float>(0)(seqnet::zeros<float>(2, 3, 0)); }) ==
        "Expected 2D or 3D (batch mode) tensor with possibly 0 batch size and other non-zero dimensions for input, but "
        "got: [2, 3, 0]");
  CHECK(message_of<seqnet::value_error>([&] { seqnet::pad(x, {0, 6}, "circular"); }) ==
        "Padding value causes wrapping around more than once.");
  CHECK(message_of<seqnet::value_error>([&] { seqnet::pad(x, {1, 2}, "foo"); }) == "Unrecognised padding mode foo");
  CHECK(message_of<seqnet::value_error>([&] { seqnet::pad(x, {1, 2}, "reflect", 1.0); }) ==
        "Padding mode \"reflect\" doesn't take in value argument");
  CHECK(message_of<seqnet::value_error>([&] { seqnet::pad(x, {-6, 0}, "constant"); }) ==
        "narrow(): length must be non-negative.");

  CHECK(message_of<seqnet::shape_error>([] { seqnet::MaxPool1d<float>(1)(seqnet::zeros<float>(2, 4, 0)); }) ==
        "max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for input, but got:[2, 4, 0]");
  CHECK(message_of<seqnet::value_error>([&] { seqnet::MaxPool1d<float>(0)(x); }) ==
        "max_pool1d() kernel_size must be greater than zero, but got 0");
  CHECK(message_of<seqnet::value_error>([&] { seqnet::MaxPool1d<float>(3, 0)(x); }) ==
        "max_pool1d() stride must be greater than zero, but got 0");
  CHECK(message_of<seqnet::value_error>([&] { seqnet::MaxPool1d<float>(3, 1, 2)(x); }) ==
        "max_pool1d() padding should be at most half of kernel size, but got padding=2 and kernel_size=3");
  CHECK(message_of<seqnet::value_error>([&] { seqnet::MaxPool1d<float>(3, 1, -1)(x); }) ==
        "max_pool1d() padding must be non-negative, but got -1");
  CHECK(message_of<seqnet::value_error>([&] { seqnet::MaxPool1d<float>(3, 1, 0, 0)(x); }) ==
        "max_pool1d() dilation must be greater than zero, but got 0");
  CHECK(message_of<seqnet::shape_error>([] { seqnet::MaxPool1d<float>(5)(seqnet::zeros<float>(2, 4, 3)); }) ==
        "max_pool1d() Invalid computed output size: 0");
  CHECK(message_of<seqnet::value_error>([&] { seqnet::AvgPool1d<float>(3, 0)(x); }) == "stride should not be zero");
  CHECK(message_of<seqnet::value_error>([&] { seqnet::AvgPool1d<float>(0)(x); }) == "stride should not be zero");
  CHECK(message_of<seqnet::value_error>([&] { seqnet::AvgPool1d<float>(3, 1, 2)(x); }) ==
        "pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and dilation=1");
  CHECK(message_of<seqnet::value_error>([&] { seqnet::AvgPool1d<float>(3, 1, -1)(x); }) ==
        "pad must be non-negative, but got pad: -1");
  CHECK(message_of<seqnet::shape_error>([] { seqnet::AvgPool1d<float>(5)(seqnet::zeros<float>(2, 4, 3)); }) ==
        "Given input size: (4x1x3). Calculated output size: (4x1x0). Output size is too small");
  CHECK(message_of<seqnet::shape_error>([] { seqnet::AvgPool1d<float>(1)(seqnet::zeros<float>(2, 4, 0)); }) ==
        "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:[2, 4, 1, 0]");
}
