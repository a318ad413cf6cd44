// SPDX-License-Identifier: MIT
// Conv1d<T>: golden outputs against torch.nn.Conv1d for every option (stride, padding amount / 'same' /
// 'valid', the four padding modes, dilation, groups, bias, batched and unbatched inputs), reprs, parameter
// names and shapes, state_dict keys, a perturbed weight, repacking after a weight update, allocation-free
// reuse of forward_into's output, and PyTorch's error texts.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <seqnet/seqnet.hpp>

#include "conv_layers_golden.hpp"
#include "tensor_compare.hpp"

namespace {

using seqnet::Conv1d;
using seqnet::Conv1dOptions;
using seqnet::Index;
using seqnet::PaddingMode;
using seqnet::Tensor;
using seqnet_test::message_of;

seqnet::ConvPadding padding_of(const golden::Case& c) {
  const std::string& p = c.option("padding");
  if (p == "same" || p == "valid") return seqnet::ConvPadding(p);
  return seqnet::ConvPadding(c.int_option("padding"));
}

Conv1dOptions options_of(const golden::Case& c) {
  return Conv1dOptions(c.int_option("in_channels"), c.int_option("out_channels"), c.int_option("kernel_size"))
      .stride(c.int_option("stride"))
      .padding(padding_of(c))
      .dilation(c.int_option("dilation"))
      .groups(c.int_option("groups"))
      .bias(c.bool_option("bias"))
      .padding_mode(seqnet::padding_mode(c.option("padding_mode")));
}

template <typename T>
void check_conv_golden() {
  layers_golden::Stats stats;
  const auto cases = conv_golden::cases_of<T>("Conv1d");
  for (const golden::Case* c : cases) {
    INFO("case " << c->name);
    Conv1d<T> conv(options_of(*c));
    CHECK(conv.repr() == c->repr);
    conv_golden::load_parameters(conv, *c);
    conv_golden::with_tensor<T>(*c->find_input("x"), [&](const auto& x) {
      constexpr int R = std::decay_t<decltype(x)>::NumIndices;
      if constexpr (R == 2 || R == 3) {
        layers_golden::compare(conv(x), c->find_output("y"), stats);
        // forward_into on a reused output gives the same values
        Tensor<T, R> out;
        conv.forward_into(x, out);
        const T* data = out.data();
        conv.forward_into(x, out);
        CHECK(out.data() == data);
        layers_golden::compare(out, c->find_output("y"), stats);
        // a perturbed weight changes the output beyond the tolerance
        // (the centre tap of a middle row: it reads the input for every option here)
        const Index k = conv.kernel_size();
        conv.weight().data()[conv.weight().size() / 2 / k * k + k / 2] += T(0.01);
        const auto perturbed = conv(x);
        const auto expected = layers_golden::to_tensor<T, R>(*c->find_output("y"));
        CHECK(seqnet_test::max_abs_diff(perturbed, expected) > 1e-4);
      } else {
        FAIL("conv input of rank " << R);
      }
    });
    ++stats.cases;
  }
  layers_golden::report<T>("Conv1d", stats, cases.size());
}

}  // namespace

TEST_CASE("Conv1d matches torch.nn.Conv1d (fp64)", "[layers][conv][golden]") { check_conv_golden<double>(); }
TEST_CASE("Conv1d matches torch.nn.Conv1d (fp32)", "[layers][conv][golden]") { check_conv_golden<float>(); }

TEST_CASE("Conv1d parameters, state_dict keys and initialisation", "[layers][conv]") {
  Conv1d<float> conv(Conv1dOptions(4, 8, 3).groups(2));
  const auto named = std::as_const(conv).named_parameters();
  REQUIRE(named.size() == 2);
  CHECK(named[0].first == "weight");
  CHECK(named[0].second.dimensions().str() == "[8, 2, 3]");
  CHECK(named[1].first == "bias");
  CHECK(named[1].second.dimensions().str() == "[8]");
  std::vector<std::string> keys;
  for (const auto& entry : seqnet::state_dict(conv)) keys.push_back(entry.first);
  CHECK(keys == std::vector<std::string>{"weight", "bias"});
  // kaiming_uniform(a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = 2 * 3
  const float bound = 1.0f / std::sqrt(6.0f);
  float largest = 0;
  for (Index i = 0; i < conv.num_parameters(); ++i) largest = std::max(largest, std::abs(conv.flat_parameters()[i]));
  CHECK(largest <= bound);
  CHECK(largest > 0.5f * bound);

  Conv1d<double> no_bias(Conv1dOptions(3, 3, 1).bias(false));
  CHECK(no_bias.num_parameters() == 9);
  CHECK(message_of<seqnet::key_error>([&] { no_bias.bias(); }) == "'Conv1d' was built with bias=False and has no bias");
}

TEST_CASE("Conv1d repacks its weight after a parameter update", "[layers][conv]") {
  Conv1d<float> conv(Conv1dOptions(3, 2, 2).bias(false));
  Tensor<float, 2> x(3, 4);
  x.setConstant(1.0f);
  const auto before = conv(x);
  for (auto& [name, p] : conv.named_parameters()) p.flat().setConstant(0.5f);
  const auto after = conv(x);
  REQUIRE(after.dimension(1) == 3);
  for (Index i = 0; i < after.size(); ++i) CHECK(after.data()[i] == 3.0f);  // 6 taps * 0.5
  CHECK(before.data()[0] != after.data()[0]);
}

TEST_CASE("Conv1d on an empty batch and the shapes of 'same'", "[layers][conv]") {
  Conv1d<float> conv(Conv1dOptions(2, 3, 4).padding("same").dilation(2));
  CHECK(conv.padding_amounts() == std::make_pair(Index{3}, Index{3}));
  Conv1d<float> even(Conv1dOptions(2, 3, 4).padding("same"));
  CHECK(even.padding_amounts() == std::make_pair(Index{1}, Index{2}));
  const auto y = conv(seqnet::zeros<float>(0, 2, 5));
  CHECK(seqnet::shape(y).str() == "[0, 3, 5]");
}

TEST_CASE("Conv1d errors are PyTorch's", "[layers][conv][errors]") {
  using seqnet::value_error;
  CHECK(message_of<value_error>([] { Conv1d<float>(Conv1dOptions(4, 8, 3).groups(0)); }) ==
        "groups must be a positive integer");
  CHECK(message_of<value_error>([] { Conv1d<float>(Conv1dOptions(4, 8, 3).groups(3)); }) ==
        "in_channels must be divisible by groups");
  CHECK(message_of<value_error>([] { Conv1d<float>(Conv1dOptions(4, 6, 3).groups(4)); }) ==
        "out_channels must be divisible by groups");
  CHECK(message_of<value_error>([] { Conv1d<float>(Conv1dOptions(4, 8, 3).padding(seqnet::ConvPadding("full"))); }) ==
        "Invalid padding string 'full', should be one of {'valid', 'same'}");
  CHECK(message_of<value_error>([] { Conv1d<float>(Conv1dOptions(4, 8, 3).stride(2).padding("same")); }) ==
        "padding='same' is not supported for strided convolutions");
  CHECK(message_of<value_error>([] { seqnet::padding_mode("foo"); }) ==
        "padding_mode must be one of {'zeros', 'reflect', 'replicate', 'circular'}, but got padding_mode='foo'");
  CHECK(message_of<value_error>([] { Conv1d<float>(Conv1dOptions(4, 8, -1)); }) ==
        "Trying to create tensor with negative dimension -1: [8, 4, -1]");
  CHECK(message_of<value_error>([] { Conv1d<float>(Conv1dOptions(-1, 8, 3)); }) ==
        "Trying to create tensor with negative dimension -1: [8, -1, 3]");
  CHECK(message_of<value_error>([] { Conv1d<float>(Conv1dOptions(4, 8, 3).stride(0)); }) ==
        "non-positive stride is not supported");
  CHECK(message_of<value_error>([] { Conv1d<float>(Conv1dOptions(4, 8, 3).dilation(0)); }) ==
        "non-positive dilation is not supported");
  CHECK(message_of<value_error>([] { Conv1d<float>(Conv1dOptions(4, 8, 3).padding(-1)); }) ==
        "negative padding is not supported");
  CHECK(message_of<value_error>([] { Conv1d<float>(Conv1dOptions(4, 8, 0)); }) ==
        "kernel size should be greater than zero, but got kernel_height: 1 kernel_width: 0");

  Conv1d<float> conv(4, 8, 3);
  CHECK(message_of<seqnet::shape_error>([&] { conv(seqnet::zeros<float>(2, 5, 10)); }) ==
        "Given groups=1, weight of size [8, 4, 3], expected input[2, 5, 10] to have 4 channels, but got 5 channels "
        "instead");
  CHECK(message_of<seqnet::shape_error>([&] { conv(seqnet::zeros<float>(5, 10)); }) ==
        "Given groups=1, weight of size [8, 4, 3], expected input[1, 5, 10] to have 4 channels, but got 5 channels "
        "instead");
  Conv1d<float> grouped(Conv1dOptions(4, 8, 3).groups(2));
  CHECK(message_of<seqnet::shape_error>([&] { grouped(seqnet::zeros<float>(2, 6, 10)); }) ==
        "Given groups=2, weight of size [8, 2, 3], expected input[2, 6, 10] to have 4 channels, but got 6 channels "
        "instead");
  Conv1d<float> wide(4, 8, 5);
  CHECK(message_of<seqnet::shape_error>([&] { wide(seqnet::zeros<float>(2, 4, 3)); }) ==
        "Calculated padded input size per channel: (3). Kernel size: (5). Kernel size can't be greater than actual "
        "input size");
  Conv1d<float> dilated(Conv1dOptions(4, 8, 3).dilation(3));
  CHECK(message_of<seqnet::shape_error>([&] { dilated(seqnet::zeros<float>(2, 4, 5)); }) ==
        "Calculated padded input size per channel: (5). Kernel size: (7). Kernel size can't be greater than actual "
        "input size");
  Conv1d<float> padded(Conv1dOptions(4, 8, 5).padding(1));
  CHECK(message_of<seqnet::shape_error>([&] { padded(seqnet::zeros<float>(2, 4, 2)); }) ==
        "Calculated padded input size per channel: (4). Kernel size: (5). Kernel size can't be greater than actual "
        "input size");
  CHECK(message_of<seqnet::shape_error>([&] { conv(seqnet::zeros<float>(2, 4, 0)); }) ==
        "Calculated padded input size per channel: (0). Kernel size: (3). Kernel size can't be greater than actual "
        "input size");
  Conv1d<float> reflect(Conv1dOptions(4, 8, 3).padding(5).padding_mode(PaddingMode::reflect));
  CHECK(message_of<value_error>([&] { reflect(seqnet::zeros<float>(2, 4, 5)); }) ==
        "Argument #4: Padding size should be less than the corresponding input dimension, but got: padding (5, 5) at "
        "dimension 2 of input [2, 4, 5]");
  Conv1d<float> circular(Conv1dOptions(4, 8, 3).padding(6).padding_mode(PaddingMode::circular));
  CHECK(message_of<value_error>([&] { circular(seqnet::zeros<float>(2, 4, 5)); }) ==
        "Padding value causes wrapping around more than once.");
  Conv1d<float> replicate(Conv1dOptions(4, 8, 3).padding(7).padding_mode(PaddingMode::replicate));
  CHECK(message_of<seqnet::shape_error>([&] { replicate(seqnet::zeros<float>(2, 4, 0)); }) ==
        "Expected 2D or 3D (batch mode) tensor with possibly 0 batch size and other non-zero dimensions for input, "
        "but got: [2, 4, 0]");
  Conv1d<float> empty(4, 0, 3);
  CHECK(message_of<seqnet::shape_error>([&] { empty(seqnet::zeros<float>(2, 4, 10)); }) ==
        "Given groups=1, expected weight to be at least 1 at dimension 0, but got weight of size [0, 4, 3] instead");
}
