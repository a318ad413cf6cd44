// SPDX-License-Identifier: MIT
// Linear and Embedding backward: parameter and input gradients against torch.autograd
// (tests/golden/training_layers_*.txt), accumulation across calls, zero_grad, padding_idx and frozen
// tables, tape reuse, and the error messages.
#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <seqnet/embedding.hpp>
#include <seqnet/linear.hpp>
#include <seqnet/loss.hpp>

#include "tensor_compare.hpp"
#include "training_golden.hpp"

namespace {

using seqnet::Embedding;
using seqnet::Index;
using seqnet::Linear;
using seqnet::Tensor;
using seqnet_test::message_of;

/// Cases tools/gen_golden_training_layers.py writes per dtype; a shorter file fails, so missing data cannot pass.
constexpr std::size_t TRAINING_LAYERS_MIN_CASES = 16;

template <typename T>
const golden::File& layers_file() {
  return training_golden::file<T>("training_layers", TRAINING_LAYERS_MIN_CASES);
}

template <typename T>
std::vector<const golden::Case*> cases_of(const std::string& module) {
  std::vector<const golden::Case*> found;
  for (const auto& c : layers_file<T>().cases)
    if (c.module == module) found.push_back(&c);
  REQUIRE(found.size() >= 8);
  return found;
}

template <typename T, int R>
void assign(seqnet::Parameter<T> parameter, const golden::Tensor& stored) {
  INFO("parameter " << stored.name);
  parameter.assign(layers_golden::to_tensor<T, R>(stored));
}

/// The module's gradient `name` as a tensor of rank `R`.
template <typename T, int R>
Tensor<T, R> gradient_of(const seqnet::Module<T>& module, const std::string& name) {
  return module.gradient(name).template tensor<R>();
}

template <typename T, int R>
void run_linear(Linear<T>& linear, const golden::Case& c, layers_golden::Stats& stats) {
  const auto x = layers_golden::to_tensor<T, R>(*c.find_input("x"));
  const auto grad_output = layers_golden::to_tensor<T, R>(*c.find_input("grad_output"));
  typename Linear<T>::Tape tape;
  Tensor<T, R> y, grad_input;
  linear.forward_train(x, y, tape);
  CHECK(seqnet_test::identical(y, linear(x)));
  linear.backward(tape, grad_output, grad_input);
  const double rtol = training_golden::gradient_rtol<T>();
  training_golden::compare(y, c, "y", golden::Precision<T>::rtol, stats);
  training_golden::compare(grad_input, c, "grad_input", rtol, stats);
  training_golden::compare(gradient_of<T, 2>(linear, "weight"), c, "grad_weight", rtol, stats);
  if (linear.has_bias()) {
    training_golden::compare(gradient_of<T, 1>(linear, "bias"), c, "grad_bias", rtol, stats);
  } else {
    CHECK(c.find_output("grad_bias") == nullptr);
  }
}

template <typename T>
void check_linear_golden() {
  layers_golden::Stats stats;
  const auto cases = cases_of<T>("Linear");
  for (const golden::Case* c : cases) {
    INFO("case " << c->name);
    Linear<T> linear(c->int_option("in_features"), c->int_option("out_features"), c->bool_option("bias"));
    REQUIRE(c->params.size() == (linear.has_bias() ? 2u : 1u));
    assign<T, 2>(linear.weight(), c->params[0]);
    if (linear.has_bias()) assign<T, 1>(linear.bias(), c->params[1]);
    switch (c->find_input("x")->rank()) {
      case 1: run_linear<T, 1>(linear, *c, stats); break;
      case 2: run_linear<T, 2>(linear, *c, stats); break;
      case 3: run_linear<T, 3>(linear, *c, stats); break;
      case 4: run_linear<T, 4>(linear, *c, stats); break;
      default: FAIL("unexpected input rank");
    }
    ++stats.cases;
  }
  layers_golden::report<T>("Linear backward", stats, cases.size());
}

template <typename T, int R>
void run_embedding(Embedding<T>& embedding, const golden::Case& c, layers_golden::Stats& stats) {
  const auto ids = layers_golden::to_tensor<std::int64_t, R>(*c.find_input("ids"));
  const auto grad_output = layers_golden::to_tensor<T, R + 1>(*c.find_input("grad_output"));
  typename Embedding<T>::Tape tape;
  Tensor<T, R + 1> y;
  embedding.forward_train(ids, y, tape);
  training_golden::compare(y, c, "y", golden::Precision<T>::rtol, stats);
  embedding.backward(tape, grad_output);
  if (c.find_output("grad_weight") == nullptr) {
    // PyTorch leaves a frozen table's .grad None; seqnet adds nothing (and allocates no gradient buffer).
    CHECK(embedding.frozen());
    CHECK_FALSE(embedding.has_gradients());
  } else {
    CHECK_FALSE(embedding.frozen());
    training_golden::compare(gradient_of<T, 2>(embedding, "weight"), c, "grad_weight",
                             training_golden::gradient_rtol<T>(), stats);
  }
}

template <typename T>
void check_embedding_golden() {
  layers_golden::Stats stats;
  const auto cases = cases_of<T>("Embedding");
  std::size_t frozen = 0, padded = 0;
  for (const golden::Case* c : cases) {
    INFO("case " << c->name);
    REQUIRE(c->params.size() == 1);
    const auto weight = layers_golden::to_tensor<T, 2>(c->params[0]);
    std::optional<Index> padding_idx;
    if (c->option("padding_idx") != "none") padding_idx = c->int_option("padding_idx");
    Embedding<T> embedding = c->bool_option("from_pretrained")
                                 ? Embedding<T>::from_pretrained(weight, c->bool_option("freeze"), padding_idx)
                                 : Embedding<T>(c->int_option("num_embeddings"), c->int_option("embedding_dim"), padding_idx);
    if (!c->bool_option("from_pretrained")) embedding.weight().assign(weight);
    CHECK(embedding.repr() == c->repr);
    frozen += embedding.frozen() ? 1 : 0;
    padded += padding_idx ? 1 : 0;
    switch (c->find_input("ids")->rank()) {
      case 0: run_embedding<T, 0>(embedding, *c, stats); break;
      case 1: run_embedding<T, 1>(embedding, *c, stats); break;
      case 2: run_embedding<T, 2>(embedding, *c, stats); break;
      case 3: run_embedding<T, 3>(embedding, *c, stats); break;
      default: FAIL("unexpected ids rank");
    }
    ++stats.cases;
  }
  CHECK(frozen >= 1);
  CHECK(padded >= 3);
  layers_golden::report<T>("Embedding backward", stats, cases.size());
}

}  // namespace

TEST_CASE("linear backward: float64 gradients match torch.autograd", "[linear][backward][golden]") {
  check_linear_golden<double>();
}
TEST_CASE("linear backward: float32 gradients match torch.autograd", "[linear][backward][golden]") {
  check_linear_golden<float>();
}
TEST_CASE("embedding backward: float64 gradients match torch.autograd", "[embedding][backward][golden]") {
  check_embedding_golden<double>();
}
TEST_CASE("embedding backward: float32 gradients match torch.autograd", "[embedding][backward][golden]") {
  check_embedding_golden<float>();
}

TEST_CASE("linear backward: gradients accumulate until zero_grad, the tape is reused", "[linear][backward]") {
  seqnet::Generator generator(3);
  Linear<double> linear(seqnet::LinearOptions(4, 3), generator);
  const auto x = seqnet::randn<double>(5, 4);
  const auto x2 = seqnet::randn<double>(5, 4);
  const auto dy = seqnet::randn<double>(5, 3);
  Linear<double>::Tape tape;
  CHECK_FALSE(tape.recorded());
  Tensor<double, 2> y, dx, dx_again;
  linear.forward_train(x, y, tape);
  CHECK(tape.recorded());
  CHECK(tape.input_shape() == seqnet::Shape{5, 4});
  linear.backward(tape, dy, dx);
  const Tensor<double, 2> dw_once = gradient_of<double, 2>(linear, "weight");
  const Tensor<double, 1> db_once = gradient_of<double, 1>(linear, "bias");
  linear.backward(tape, dy);  // without grad_input
  const Tensor<double, 2> twice = dw_once * 2.0;
  CHECK(seqnet_test::max_abs_diff(gradient_of<double, 2>(linear, "weight"), twice) == 0.0);
  const Tensor<double, 1> db_twice = db_once * 2.0;
  CHECK(seqnet_test::max_abs_diff(gradient_of<double, 1>(linear, "bias"), db_twice) == 0.0);
  linear.zero_grad();
  CHECK(seqnet_test::max_abs_diff(gradient_of<double, 1>(linear, "bias"), Tensor<double, 1>(db_once * 0.0)) == 0.0);
  // A second forward on the same tape replaces the recorded input.
  linear.forward_train(x2, y, tape);
  linear.backward(tape, dy, dx_again);
  CHECK(seqnet_test::identical(dx, dx_again));  // dx = dy W does not depend on x
  CHECK_FALSE(seqnet_test::identical(gradient_of<double, 2>(linear, "weight"), dw_once));
  // dW = dy^T x by hand.
  Tensor<double, 2> expected(3, 4);
  for (Index o = 0; o < 3; ++o)
    for (Index i = 0; i < 4; ++i) {
      double sum = 0;
      for (Index r = 0; r < 5; ++r) sum += dy(r, o) * x2(r, i);
      expected(o, i) = sum;
    }
  CHECK(seqnet_test::max_abs_diff(gradient_of<double, 2>(linear, "weight"), expected) < 1e-14);
  // Reading the gradients through the const module keeps the parameter version (no re-packing, no error).
  CHECK(std::as_const(linear).flat_gradients() == linear.flat_gradients());
}

TEST_CASE("linear backward: a training step with a loss lowers the loss", "[linear][backward]") {
  seqnet::Generator generator(11);
  Linear<double> linear(seqnet::LinearOptions(3, 2), generator);
  const auto x = seqnet::randn<double>(8, 3);
  const auto target = seqnet::randn<double>(8, 2);
  seqnet::MSELoss<double> mse;
  Linear<double>::Tape tape;
  Tensor<double, 2> y, dy;
  double first = 0, last = 0;
  for (int step = 0; step < 20; ++step) {
    linear.zero_grad();
    linear.forward_train(x, y, tape);
    last = mse.forward(y, target, dy);
    if (step == 0) first = last;
    linear.backward(tape, dy);
    double* w = linear.flat_parameters();
    const double* g = std::as_const(linear).flat_gradients();
    for (Index i = 0; i < linear.num_parameters(); ++i) w[i] -= 0.1 * g[i];
  }
  CHECK(last < 0.8 * first);
}

TEST_CASE("linear backward: zero sizes", "[linear][backward]") {
  Linear<float> linear(3, 2);
  Linear<float>::Tape tape;
  Tensor<float, 2> x(0, 3), y, dy(0, 2), dx;
  linear.forward_train(x, y, tape);
  linear.backward(tape, dy, dx);
  CHECK(seqnet::shape(dx) == seqnet::Shape{0, 3});
  CHECK(linear.has_gradients());
  for (const auto& [name, g] : std::as_const(linear).named_gradients())
    for (Index i = 0; i < g.size(); ++i) CHECK(g.data()[i] == 0.0f);
  Linear<float> no_outputs(3, 0);
  Tensor<float, 2> x3(2, 3), y0, dy0(2, 0), dx3;
  x3.setConstant(1.0f);
  no_outputs.forward_train(x3, y0, tape);
  no_outputs.backward(tape, dy0, dx3);
  CHECK(seqnet::shape(dx3) == seqnet::Shape{2, 3});
  for (Index i = 0; i < dx3.size(); ++i) CHECK(dx3.data()[i] == 0.0f);
}

TEST_CASE("linear backward: errors", "[linear][backward][errors]") {
  Linear<double> linear(4, 3);
  Linear<double>::Tape tape;
  Tensor<double, 2> x(2, 4), y, dx;
  x.setZero();
  Tensor<double, 2> dy(2, 3), bad(2, 4);
  dy.setZero();
  bad.setZero();
  CHECK(message_of<seqnet::value_error>([&] { linear.backward(tape, dy, dx); }) ==
        "Linear.backward: the tape holds no forward pass; call forward_train first");
  linear.forward_train(x, y, tape);
  CHECK(message_of<seqnet::shape_error>([&] { linear.backward(tape, bad, dx); }) ==
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([2, 4]) and output[0] has a shape of "
        "torch.Size([2, 3]).");
  Tensor<double, 3> dy3(1, 2, 3);
  Tensor<double, 3> dx3;
  CHECK(message_of<seqnet::shape_error>([&] { linear.backward(tape, dy3, dx3); }) ==
        "Linear.backward: the tape was recorded on an input of shape [2, 4], not a rank-3 input with 4 features");
  Linear<double> other(5, 3);
  CHECK(message_of<seqnet::shape_error>([&] { other.backward(tape, dy); }) ==
        "Linear.backward: the tape was recorded on an input of shape [2, 4], not a rank-2 input with 5 features");
  // Writing the parameters between forward and backward would give a grad_input from other weights.
  (void)linear.weight();
  CHECK(message_of<seqnet::value_error>([&] { linear.backward(tape, dy, dx); })
            .rfind("one of the variables needed for gradient computation has been modified by an inplace operation", 0) == 0);
  linear.backward(tape, dy);  // the weight's gradient does not read the weight
  linear.forward_train(x, y, tape);
  linear.backward(tape, dy, dx);
}

TEST_CASE("embedding backward: repeated ids add up, padding_idx and frozen rows get nothing", "[embedding][backward]") {
  seqnet::Generator generator(7);
  Embedding<double> embedding(seqnet::EmbeddingOptions(5, 2).padding_idx(-1), generator);
  Tensor<std::int32_t, 2> ids(2, 3);
  ids.setValues({{1, 4, 1}, {0, 4, 1}});
  Tensor<double, 3> y, dy(2, 3, 2);
  dy.setValues({{{1, 2}, {10, 20}, {100, 200}}, {{3, 4}, {30, 40}, {300, 400}}});
  Embedding<double>::Tape tape;
  embedding.forward_train(ids, y, tape);
  CHECK(tape.ids_shape() == seqnet::Shape{2, 3});
  CHECK(seqnet_test::identical(y, embedding(ids)));
  embedding.backward(tape, dy);
  embedding.backward(tape, dy);
  Tensor<double, 2> expected(5, 2);
  expected.setValues({{6, 8}, {2 * 401, 2 * 602}, {0, 0}, {0, 0}, {0, 0}});  // row 4 is padding
  CHECK(seqnet_test::identical(gradient_of<double, 2>(embedding, "weight"), expected));

  Tensor<double, 2> table(5, 2);
  table.setConstant(0.5);
  auto frozen = Embedding<double>::from_pretrained(table);
  frozen.forward_train(ids, y, tape);
  frozen.backward(tape, dy);
  CHECK(frozen.frozen());
  CHECK_FALSE(frozen.has_gradients());
  auto trainable = Embedding<double>::from_pretrained(table, false);
  trainable.forward_train(ids, y, tape);
  trainable.backward(tape, dy);
  CHECK(gradient_of<double, 2>(trainable, "weight")(4, 1) == 60.0);
}

TEST_CASE("embedding backward: errors", "[embedding][backward][errors]") {
  Embedding<float> embedding(6, 3);
  Embedding<float>::Tape tape;
  Tensor<std::int64_t, 1> ids(4);
  ids.setValues({0, 5, 2, 2});
  Tensor<float, 2> y, dy(4, 3), bad(4, 2);
  dy.setZero();
  bad.setZero();
  CHECK(message_of<seqnet::value_error>([&] { embedding.backward(tape, dy); }) ==
        "Embedding.backward: the tape holds no forward pass; call forward_train first");
  embedding.forward_train(ids, y, tape);
  CHECK(message_of<seqnet::shape_error>([&] { embedding.backward(tape, bad); }) ==
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([4, 2]) and output[0] has a shape of "
        "torch.Size([4, 3]).");
  Tensor<float, 3> dy3(1, 4, 3);
  CHECK(message_of<seqnet::shape_error>([&] { embedding.backward(tape, dy3); }) ==
        "Embedding.backward: the tape was recorded on ids of shape [4], which give an output of rank 2, not 3");
  Embedding<float> smaller(3, 3);
  CHECK(message_of<seqnet::value_error>([&] { smaller.backward(tape, dy); }) ==
        "Embedding.backward: the tape was recorded by a table of 6 embeddings, not 3");
  // An id out of range is rejected by the forward pass, before the tape records it.
  ids(1) = 6;
  CHECK(message_of<seqnet::index_error>([&] { embedding.forward_train(ids, y, tape); }) ==
        "index out of range in self: id 6 at position [1] is not in [0, 6)");
}
