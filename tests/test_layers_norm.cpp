// SPDX-License-Identifier: MIT
// LayerNorm and BatchNorm1d against PyTorch golden data (random weights and running statistics, so a perturbed
// value fails; BatchNorm1d in eval mode and in training mode with the running statistics' update), Dropout
// (eval: identity; train: inverted dropout), Identity and Flatten, with reprs, state_dict keys and PyTorch's
// error texts.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <seqnet/seqnet.hpp>

#include "conv_layers_golden.hpp"
#include "tensor_compare.hpp"

namespace {

using seqnet::Index;
using seqnet::Tensor;
using seqnet_test::message_of;

template <typename T>
void check_layer_norm_golden() {
  layers_golden::Stats stats;
  const auto cases = conv_golden::cases_of<T>("LayerNorm");
  for (const golden::Case* c : cases) {
    INFO("case " << c->name);
    std::vector<Index> shape;
    for (const auto& part : {c->option("normalized_shape")}) {
      std::size_t start = 0;
      while (start <= part.size()) {
        const auto comma = part.find(',', start);
        shape.push_back(std::stoll(part.substr(start, comma - start)));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
    seqnet::LayerNorm<T> norm(seqnet::LayerNormOptions(shape)
                                  .eps(c->float_option("eps"))
                                  .elementwise_affine(c->bool_option("elementwise_affine"))
                                  .bias(c->bool_option("bias")));
    CHECK(norm.repr() == c->repr);
    conv_golden::load_parameters(norm, *c);
    conv_golden::with_tensor<T>(*c->find_input("x"), [&](const auto& x) {
      layers_golden::compare(norm(x), c->find_output("y"), stats);
      if (norm.num_parameters() > 0) {
        norm.flat_parameters()[0] += T(0.01);
        CHECK(seqnet_test::max_abs_diff(norm(x), decltype(norm(x))(layers_golden::to_tensor<T, std::decay_t<decltype(x)>::NumIndices>(*c->find_output("y")))) > 1e-4);
      }
    });
    ++stats.cases;
  }
  layers_golden::report<T>("LayerNorm", stats, cases.size());
}

template <typename T>
void check_batch_norm_golden() {
  layers_golden::Stats stats;
  const auto cases = conv_golden::cases_of<T>("BatchNorm1d");
  for (const golden::Case* c : cases) {
    INFO("case " << c->name);
    const bool affine = c->bool_option("affine"), train = c->bool_option("train");
    seqnet::BatchNormOptions options(c->int_option("num_features"));
    options.eps(c->float_option("eps")).affine(affine);
    if (c->option("momentum") == "none") {
      options.momentum(std::nullopt);
    } else {
      options.momentum(c->float_option("momentum"));
    }
    seqnet::BatchNorm1d<T> norm(options);
    CHECK(norm.repr() == c->repr);
    conv_golden::load_parameters(norm, *c, affine ? 2 : 0);
    REQUIRE(c->params.size() == (affine ? 4u : 2u));
    for (std::size_t i = c->params.size() - 2; i < c->params.size(); ++i) {
      auto buffer = norm.buffer(c->params[i].name);
      REQUIRE(static_cast<std::size_t>(buffer.size()) == c->params[i].values.size());
      for (std::size_t k = 0; k < c->params[i].values.size(); ++k) buffer.data()[k] = static_cast<T>(c->params[i].values[k]);
    }
    if (!train) norm.eval();
    CHECK(norm.is_training() == train);
    conv_golden::with_tensor<T>(*c->find_input("x"), [&](const auto& x) {
      constexpr int R = std::decay_t<decltype(x)>::NumIndices;
      if constexpr (R == 2 || R == 3) {
        const auto& const_norm = norm;
        layers_golden::compare(const_norm(x), c->find_output("y"), stats);  // const: no update
        layers_golden::compare(norm(x), c->find_output("y"), stats);        // non-const: updates in training
        if (train) {
          for (const char* name : {"running_mean", "running_var"}) {
            INFO(name);
            const auto buffer = std::as_const(norm).buffer(name);
            Tensor<T, 1> after(buffer.size());
            std::copy(buffer.data(), buffer.data() + buffer.size(), after.data());
            layers_golden::compare(after, c->find_output(name), stats);
          }
          CHECK(std::as_const(norm).buffer("num_batches_tracked").data()[0] == T(1));
        } else {
          norm.buffer("running_mean").data()[0] += T(0.01);
          const auto expected = layers_golden::to_tensor<T, R>(*c->find_output("y"));
          CHECK(seqnet_test::max_abs_diff(norm(x), expected) > 1e-4);
        }
      } else {
        FAIL("rank " << R);
      }
    });
    ++stats.cases;
  }
  layers_golden::report<T>("BatchNorm1d", stats, cases.size());
}

}  // namespace

TEST_CASE("BatchNorm1d matches torch.nn.BatchNorm1d (fp64)", "[layers][norm][golden]") { check_batch_norm_golden<double>(); }
TEST_CASE("BatchNorm1d matches torch.nn.BatchNorm1d (fp32)", "[layers][norm][golden]") { check_batch_norm_golden<float>(); }

TEST_CASE("BatchNorm1d parameters, buffers, state_dict keys and errors", "[layers][norm]") {
  seqnet::BatchNorm1d<float> norm(8);
  CHECK(norm.repr() == "BatchNorm1d(8, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)");
  std::vector<std::string> keys;
  for (const auto& entry : seqnet::state_dict(norm)) keys.push_back(entry.first);
  CHECK(keys == std::vector<std::string>{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"});
  CHECK(seqnet::BatchNorm1d<float>(seqnet::BatchNormOptions(8).eps(1e-3).momentum(0.01).affine(false).track_running_stats(false))
            .repr() == "BatchNorm1d(8, eps=0.001, momentum=0.01, affine=False, bias=False, track_running_stats=False)");
  CHECK(seqnet::BatchNorm1d<float>(seqnet::BatchNormOptions(8).momentum(std::nullopt)).repr() ==
        "BatchNorm1d(8, eps=1e-05, momentum=None, affine=True, bias=True, track_running_stats=True)");
  CHECK(message_of<seqnet::value_error>([&] { norm(seqnet::zeros<float>(1, 8)); }) ==
        "Expected more than 1 value per channel when training, got input size torch.Size([1, 8])");
  norm.eval();
  CHECK(message_of<seqnet::shape_error>([&] { norm(seqnet::zeros<float>(2, 4, 10)); }) ==
        "running_mean should contain 4 elements not 8");
  CHECK(message_of<seqnet::shape_error>([&] { norm(seqnet::zeros<float>(3, 5)); }) ==
        "running_mean should contain 5 elements not 8");
  // eval with the initial statistics (mean 0, var 1): y = x / sqrt(1 + eps)
  Tensor<float, 2> x(2, 8);
  x.setConstant(3.0f);
  CHECK(norm(x)(1, 7) == Approx(3.0 / std::sqrt(1.0 + 1e-5)));
}

TEST_CASE("LayerNorm matches torch.nn.LayerNorm (fp64)", "[layers][norm][golden]") { check_layer_norm_golden<double>(); }
TEST_CASE("LayerNorm matches torch.nn.LayerNorm (fp32)", "[layers][norm][golden]") { check_layer_norm_golden<float>(); }

TEST_CASE("LayerNorm parameters, defaults and errors", "[layers][norm]") {
  seqnet::LayerNorm<float> norm(8);
  CHECK(norm.repr() == "LayerNorm((8,), eps=1e-05, elementwise_affine=True, bias=True)");
  const auto named = std::as_const(norm).named_parameters();
  REQUIRE(named.size() == 2);
  CHECK(named[0].first == "weight");
  CHECK(named[1].first == "bias");
  CHECK(named[0].second.flat().sum() == 8.0f);
  CHECK(named[1].second.flat().sum() == 0.0f);
  CHECK(seqnet::LayerNorm<float>(seqnet::LayerNormOptions({4, 8}).bias(false)).repr() ==
        "LayerNorm((4, 8), eps=1e-05, elementwise_affine=True, bias=False)");
  CHECK(message_of<seqnet::shape_error>([&] { norm(seqnet::zeros<float>(2, 4, 10)); }) ==
        "Given normalized_shape=[8], expected input with shape [*, 8], but got input of size[2, 4, 10]");
  seqnet::LayerNorm<float> two(seqnet::LayerNormOptions({3, 10}));
  CHECK(message_of<seqnet::shape_error>([&] { two(seqnet::zeros<float>(2, 4, 10)); }) ==
        "Given normalized_shape=[3, 10], expected input with shape [*, 3, 10], but got input of size[2, 4, 10]");
}

TEST_CASE("Dropout: identity in eval mode, inverted dropout in training", "[layers][dropout]") {
  seqnet::Generator generator(7);
  seqnet::Dropout<double> drop(0.25, generator);
  CHECK(drop.repr() == "Dropout(p=0.25, inplace=False)");
  CHECK(seqnet::Dropout<float>().repr() == "Dropout(p=0.5, inplace=False)");
  Tensor<double, 2> x(100, 100);
  x.setConstant(2.0);
  CHECK(drop.is_training());
  const auto y = drop(x);
  Index zeros = 0;
  for (Index i = 0; i < y.size(); ++i) {
    if (y.data()[i] == 0.0) {
      ++zeros;
    } else {
      CHECK(y.data()[i] == Approx(2.0 / 0.75));
    }
  }
  CHECK(zeros > 2300);
  CHECK(zeros < 2700);
  drop.eval();
  CHECK(seqnet_test::identical(drop(x), x));
  CHECK(seqnet_test::identical(seqnet::dropout(x, 1.0, false), x));
  const auto all = seqnet::dropout(x, 1.0, true, generator);
  CHECK(Eigen::Map<const Eigen::ArrayXd>(all.data(), all.size()).abs().maxCoeff() == 0.0);
  CHECK(message_of<seqnet::value_error>([] { seqnet::Dropout<float>(1.5); }) ==
        "dropout probability has to be between 0 and 1, but got 1.5");
  CHECK(message_of<seqnet::value_error>([] { seqnet::Dropout<float>(-0.1); }) ==
        "dropout probability has to be between 0 and 1, but got -0.1");
}

TEST_CASE("Identity and Flatten", "[layers][flatten]") {
  Tensor<float, 3> x(2, 3, 4);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(i);
  seqnet::Identity<float> identity;
  CHECK(identity.repr() == "Identity()");
  CHECK(seqnet_test::identical(identity(x), x));
  seqnet::Flatten<float> flatten;
  CHECK(flatten.repr() == "Flatten(start_dim=1, end_dim=-1)");
  const auto y = flatten(x);
  CHECK(seqnet::shape(y).str() == "[2, 12]");
  CHECK(y(1, 5) == 17.0f);
  seqnet::Flatten<float> all(0, -1);
  CHECK(seqnet::shape(all.forward<1>(x)).str() == "[24]");
  seqnet::Flatten<float> middle(0, 1);
  CHECK(seqnet::shape(middle(x)).str() == "[6, 4]");
  CHECK(message_of<seqnet::shape_error>([&] { all(x); }) ==
        "Flatten(start_dim=0, end_dim=-1) of a rank-3 tensor gives rank 1, not 2: call forward<1>(x)");
  CHECK(message_of<seqnet::value_error>([&] { seqnet::Flatten<float>(2, 1)(x); }) ==
        "flatten() has invalid args: start_dim cannot come after end_dim");
  CHECK(message_of<seqnet::index_error>([&] { seqnet::Flatten<float>(3)(x); }) ==
        "Dimension out of range (expected to be in range of [-3, 2], but got 3)");
}
