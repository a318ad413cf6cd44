// SPDX-License-Identifier: MIT
// The losses (loss.hpp): values and input gradients against torch.nn / torch.autograd for every loss,
// option and reduction (tests/golden/losses_*.txt), PyTorch's error messages, the reduced / unreduced
// forms, empty inputs and numerically extreme logits.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <seqnet/loss.hpp>

#include "tensor_compare.hpp"
#include "training_golden.hpp"

namespace {

using seqnet::Index;
using seqnet::Reduction;
using seqnet::Tensor;
using seqnet_test::message_of;

/// Cases tools/gen_golden_training_layers.py writes per dtype; a shorter file fails, so missing data cannot pass.
constexpr std::size_t LOSSES_MIN_CASES = 117;

template <typename T>
const golden::File& losses_file() {
  return training_golden::file<T>("losses", LOSSES_MIN_CASES);
}

std::vector<double> values_of(const golden::Case& c, const std::string& name) {
  const golden::Tensor* t = c.find_input(name);
  return t == nullptr ? std::vector<double>{} : t->values;
}

/// Runs one case of an element-wise loss (or BCEWithLogitsLoss) and compares the loss and the input's gradient.
template <typename T, int R, typename Loss>
void run_elementwise(const Loss& loss, const golden::Case& c, layers_golden::Stats& stats) {
  const auto input = layers_golden::to_tensor<T, R>(*c.find_input("input"));
  const auto target = layers_golden::to_tensor<T, R>(*c.find_input("target"));
  Tensor<T, R> grad_input;
  if (loss.reduction() == Reduction::None) {
    const auto grad_output = layers_golden::to_tensor<T, R>(*c.find_input("grad_output"));
    training_golden::compare(loss.unreduced(input, target), c, "loss", golden::Precision<T>::rtol, stats);
    loss.unreduced_backward(input, target, grad_output, grad_input);
  } else {
    const T value = loss.forward(input, target, grad_input);
    CHECK(seqnet_test::identical(Tensor<T, 0>(Tensor<T, 0>().setConstant(value)),
                                 Tensor<T, 0>(Tensor<T, 0>().setConstant(loss(input, target)))));
    training_golden::compare(Tensor<T, 0>(Tensor<T, 0>().setConstant(value)), c, "loss", golden::Precision<T>::rtol,
                             stats);
  }
  training_golden::compare(grad_input, c, "grad_input", training_golden::gradient_rtol<T>(), stats);
}

template <typename T, typename Loss>
void dispatch_elementwise(const Loss& loss, const golden::Case& c, layers_golden::Stats& stats) {
  switch (c.find_input("input")->rank()) {
    case 0: run_elementwise<T, 0>(loss, c, stats); break;
    case 1: run_elementwise<T, 1>(loss, c, stats); break;
    case 2: run_elementwise<T, 2>(loss, c, stats); break;
    case 3: run_elementwise<T, 3>(loss, c, stats); break;
    default: FAIL("unexpected input rank");
  }
}

/// Class indices stored as exact integers in the golden file.
template <int R>
Tensor<std::int64_t, R> indices(const golden::Tensor& g) {
  REQUIRE(g.rank() == static_cast<std::size_t>(R));
  Eigen::array<Index, R> dims;
  for (int i = 0; i < R; ++i) dims[static_cast<std::size_t>(i)] = static_cast<Index>(g.shape[static_cast<std::size_t>(i)]);
  Tensor<std::int64_t, R> t(dims);
  for (std::size_t i = 0; i < g.values.size(); ++i) {
    t.data()[i] = static_cast<std::int64_t>(g.values[i]);
    REQUIRE(static_cast<double>(t.data()[i]) == g.values[i]);
  }
  return t;
}

template <typename T, int R, typename Target>
void run_cross_entropy(const seqnet::CrossEntropyLoss<T>& loss, const Target& target, const golden::Case& c,
                       layers_golden::Stats& stats) {
  const auto input = layers_golden::to_tensor<T, R>(*c.find_input("input"));
  Tensor<T, R> grad_input;
  if (loss.reduction() == Reduction::None) {
    const auto grad_output = layers_golden::to_tensor<T, R - 1>(*c.find_input("grad_output"));
    training_golden::compare(loss.unreduced(input, target), c, "loss", golden::Precision<T>::rtol, stats);
    loss.unreduced_backward(input, target, grad_output, grad_input);
  } else {
    const T value = loss.forward(input, target, grad_input);
    const T plain = loss(input, target);
    CHECK((value == plain || (std::isnan(value) && std::isnan(plain))));
    training_golden::compare(Tensor<T, 0>(Tensor<T, 0>().setConstant(value)), c, "loss", golden::Precision<T>::rtol,
                             stats);
  }
  training_golden::compare(grad_input, c, "grad_input", training_golden::gradient_rtol<T>(), stats);
}

template <typename T>
void check_losses_golden() {
  const golden::File& file = losses_file<T>();
  layers_golden::Stats stats;
  std::map<std::string, std::size_t> per_module;
  for (const golden::Case& c : file.cases) {
    INFO("case " << c.name);
    REQUIRE(c.params.empty());
    const Reduction reduction = seqnet::reduction_from_string(c.option("reduction"));
    const std::string& module = c.module;
    if (module == "MSELoss") {
      dispatch_elementwise<T>(seqnet::MSELoss<T>(seqnet::MSELossOptions().reduction(reduction)), c, stats);
    } else if (module == "L1Loss") {
      dispatch_elementwise<T>(seqnet::L1Loss<T>(seqnet::L1LossOptions().reduction(reduction)), c, stats);
    } else if (module == "SmoothL1Loss") {
      seqnet::SmoothL1LossOptions options;
      options.reduction(reduction);
      if (c.options.count("beta")) options.beta(c.float_option("beta"));
      dispatch_elementwise<T>(seqnet::SmoothL1Loss<T>(options), c, stats);
    } else if (module == "HuberLoss") {
      seqnet::HuberLossOptions options;
      options.reduction(reduction);
      if (c.options.count("delta")) options.delta(c.float_option("delta"));
      dispatch_elementwise<T>(seqnet::HuberLoss<T>(options), c, stats);
    } else if (module == "BCEWithLogitsLoss") {
      seqnet::BCEWithLogitsLoss<T> loss(seqnet::BCEWithLogitsLossOptions()
                                            .reduction(reduction)
                                            .weight(values_of(c, "weight"))
                                            .pos_weight(values_of(c, "pos_weight")));
      dispatch_elementwise<T>(loss, c, stats);
    } else if (module == "CrossEntropyLoss") {
      const seqnet::CrossEntropyLoss<T> loss(seqnet::CrossEntropyLossOptions()
                                                 .reduction(reduction)
                                                 .weight(values_of(c, "weight"))
                                                 .ignore_index(c.int_option("ignore_index"))
                                                 .label_smoothing(c.float_option("label_smoothing")));
      const golden::Tensor& target = *c.find_input("target");
      const bool batched = c.find_input("input")->rank() == 2;
      if (c.option("target") == "index") {
        if (batched) {
          run_cross_entropy<T, 2>(loss, indices<1>(target), c, stats);
        } else {
          run_cross_entropy<T, 1>(loss, indices<0>(target), c, stats);
        }
      } else {
        REQUIRE(c.option("target") == "prob");
        if (batched) {
          run_cross_entropy<T, 2>(loss, layers_golden::to_tensor<T, 2>(target), c, stats);
        } else {
          run_cross_entropy<T, 1>(loss, layers_golden::to_tensor<T, 1>(target), c, stats);
        }
      }
    } else {
      FAIL("unexpected module " << module);
    }
    ++per_module[module];
    ++stats.cases;
  }
  for (const char* module :
       {"MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "CrossEntropyLoss", "BCEWithLogitsLoss"}) {
    INFO(module);
    CHECK(per_module[module] >= 3);
  }
  layers_golden::report<T>("losses", stats, file.cases.size());
}

}  // namespace

TEST_CASE("losses: float64 values and input gradients match torch.nn and autograd", "[loss][golden]") {
  check_losses_golden<double>();
}
TEST_CASE("losses: float32 values and input gradients match torch.nn and autograd", "[loss][golden]") {
  check_losses_golden<float>();
}

TEST_CASE("losses: the golden comparison fails for a gradient off by 1e-8 relative", "[loss][golden]") {
  const golden::File& file = losses_file<double>();
  const golden::Case* found = nullptr;
  for (const auto& c : file.cases)
    if (c.name == "ce_smoothing_weight_ignore_mean") found = &c;
  REQUIRE(found != nullptr);
  const golden::Case& c = *found;
  const seqnet::CrossEntropyLoss<double> loss(seqnet::CrossEntropyLossOptions()
                                                  .weight(values_of(c, "weight"))
                                                  .ignore_index(c.int_option("ignore_index"))
                                                  .label_smoothing(c.float_option("label_smoothing")));
  const auto input = layers_golden::to_tensor<double, 2>(*c.find_input("input"));
  Tensor<double, 2> grad;
  (void)loss.forward(input, indices<1>(*c.find_input("target")), grad);
  layers_golden::Stats stats;
  const golden::Tensor& expected = *c.find_output("grad_input");
  const std::string shape = seqnet::shape(grad).str();
  CHECK(training_golden::mismatches(grad.data(), 20, shape, expected, 1e-9, stats) == 0);
  grad(0, 1) *= 1 + 1e-8;
  CHECK(training_golden::mismatches(grad.data(), 20, shape, expected, 1e-9, stats) == 1);
  CHECK(training_golden::mismatches(grad.data(), 20, "[5, 5]", expected, 1e-9, stats) > 0);
}

TEST_CASE("losses: reductions, functional forms and the reduced / unreduced forms agree", "[loss]") {
  Tensor<double, 2> x(3, 4), y(3, 4), g, g_none;
  x.setValues({{0.5, -1.0, 2.0, 0.0}, {1.5, 0.25, -0.5, 3.0}, {-2.0, 1.0, 0.0, 0.75}});
  y.setValues({{0.0, -1.0, 1.0, 1.0}, {0.0, 1.0, 0.5, 2.0}, {-1.0, -1.0, 0.5, 0.25}});
  Tensor<double, 2> ones(3, 4);
  ones.setConstant(1.0);

  seqnet::MSELoss<double> none(Reduction::None), sum(Reduction::Sum), mean;
  const Tensor<double, 2> losses = none.unreduced(x, y);
  double total = 0;
  for (Index i = 0; i < losses.size(); ++i) total += losses.data()[i];
  CHECK(sum(x, y) == Approx(total));
  CHECK(mean(x, y) == Approx(total / 12));
  CHECK(seqnet::mse_loss(x, y) == mean(x, y));
  CHECK(seqnet::mse_loss(x, y, Reduction::Sum) == sum(x, y));
  // The unreduced backward with grad_output = 1 is the 'sum' gradient.
  (void)sum.forward(x, y, g);
  none.unreduced_backward(x, y, ones, g_none);
  CHECK(seqnet_test::identical(g, g_none));
  CHECK(seqnet::l1_loss(x, y) == Approx(seqnet::L1Loss<double>()(x, y)));
  CHECK(seqnet::smooth_l1_loss(x, y, Reduction::Sum, 0.5) ==
        seqnet::SmoothL1Loss<double>(seqnet::SmoothL1LossOptions().reduction(Reduction::Sum).beta(0.5))(x, y));
  CHECK(seqnet::huber_loss(x, y, Reduction::Mean, 2.0) ==
        seqnet::HuberLoss<double>(seqnet::HuberLossOptions().delta(2.0))(x, y));
  // Huber = delta * SmoothL1(beta = delta).
  CHECK(seqnet::huber_loss(x, y, Reduction::Sum, 0.5) ==
        Approx(0.5 * seqnet::smooth_l1_loss(x, y, Reduction::Sum, 0.5)));
  CHECK(seqnet::binary_cross_entropy_with_logits(x, ones) == Approx(seqnet::BCEWithLogitsLoss<double>()(x, ones)));

  seqnet::CrossEntropyLoss<double> ce;
  Tensor<std::int64_t, 1> t(3);
  t.setValues({3, 0, 1});
  Tensor<std::int64_t, 0> t0;
  t0() = 3;
  Tensor<double, 1> row(4);
  for (Index c = 0; c < 4; ++c) row(c) = x(0, c);
  const auto unreduced = seqnet::CrossEntropyLoss<double>(seqnet::CrossEntropyLossOptions().reduction(Reduction::None))
                             .unreduced(x, t);
  CHECK(ce(row, t0) == Approx(unreduced(0)));
  CHECK(seqnet::cross_entropy(x, t) == Approx((unreduced(0) + unreduced(1) + unreduced(2)) / 3));
  // A one-hot probability target is the index target.
  Tensor<double, 2> one_hot(3, 4);
  one_hot.setZero();
  for (Index n = 0; n < 3; ++n) one_hot(n, t(n)) = 1.0;
  Tensor<double, 2> g_index, g_prob;
  CHECK(ce.forward(x, one_hot, g_prob) == Approx(ce.forward(x, t, g_index)));
  CHECK(seqnet_test::max_abs_diff(g_index, g_prob) < 1e-15);
  // The gradient of each row sums to 0 (softmax minus a distribution).
  for (Index n = 0; n < 3; ++n) CHECK(g_index(n, 0) + g_index(n, 1) + g_index(n, 2) + g_index(n, 3) == Approx(0).margin(1e-15));
}

TEST_CASE("losses: the reduced form of a 'none' loss and the unreduced form of a reduced one throw", "[loss][errors]") {
  Tensor<float, 1> x(3), y(3), g;
  x.setZero();
  y.setZero();
  seqnet::MSELoss<float> none(Reduction::None), mean;
  CHECK(message_of<seqnet::value_error>([&] { (void)none(x, y); }) ==
        "MSELoss(reduction='none') gives one loss per element: call unreduced() / unreduced_backward()");
  CHECK(message_of<seqnet::value_error>([&] { (void)none.forward(x, y, g); }) != "");
  CHECK(message_of<seqnet::value_error>([&] { (void)mean.unreduced(x, y); }) ==
        "MSELoss(reduction='mean') gives one number: call operator() / forward(), or build it with "
        "reduction(Reduction::None)");
  seqnet::CrossEntropyLoss<float> ce(seqnet::CrossEntropyLossOptions().reduction(Reduction::Sum));
  Tensor<std::int64_t, 0> t;
  t() = 0;
  CHECK(message_of<seqnet::value_error>([&] { (void)ce.unreduced(x, t); }) ==
        "CrossEntropyLoss(reduction='sum') gives one number: call operator() / forward(), or build it with "
        "reduction(Reduction::None)");
}

TEST_CASE("losses: PyTorch's messages for bad options, sizes and targets", "[loss][errors]") {
  using seqnet::index_error;
  using seqnet::shape_error;
  using seqnet::value_error;
  CHECK(message_of<value_error>([] { (void)seqnet::reduction_from_string("avg"); }) ==
        "avg is not a valid value for reduction");
  CHECK(seqnet::reduction_from_string("sum") == Reduction::Sum);
  CHECK(std::string(seqnet::to_string(Reduction::None)) == "none");
  CHECK(message_of<value_error>([] { seqnet::SmoothL1Loss<double>(seqnet::SmoothL1LossOptions().beta(-1)); }) ==
        "smooth_l1_loss does not support negative values for beta.");
  CHECK(message_of<value_error>([] { seqnet::HuberLoss<double>(seqnet::HuberLossOptions().delta(0)); }) ==
        "huber_loss does not support non-positive values for delta.");
  CHECK(message_of<value_error>([] {
          seqnet::CrossEntropyLoss<double>(seqnet::CrossEntropyLossOptions().label_smoothing(1.5));
        }) == "label_smoothing must be between 0.0 and 1.0. Got: 1.5");

  // Where PyTorch warns and broadcasts, seqnet refuses.
  Tensor<double, 2> a(3, 1), b(1, 3), c(3, 2), d(3, 4);
  a.setZero();
  b.setZero();
  c.setZero();
  d.setZero();
  CHECK(message_of<shape_error>([&] { (void)seqnet::mse_loss(a, b); }) ==
        "MSELoss: target size [1, 3] is different to the input size [3, 1]; seqnet does not broadcast the target "
        "(PyTorch warns and broadcasts): pass tensors of the same size");
  CHECK(message_of<shape_error>([&] { (void)seqnet::l1_loss(c, d); }).rfind("L1Loss: target size [3, 4]", 0) == 0);
  CHECK(message_of<shape_error>([&] { (void)seqnet::huber_loss(c, d); }).rfind("HuberLoss: ", 0) == 0);
  CHECK(message_of<shape_error>([&] { (void)seqnet::binary_cross_entropy_with_logits(c, d); })
            .rfind("BCEWithLogitsLoss: ", 0) == 0);
  CHECK(message_of<shape_error>([&] {
          (void)seqnet::binary_cross_entropy_with_logits(c, c, seqnet::BCEWithLogitsLossOptions().weight({1, 2, 3}));
        }) == "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 1");
  CHECK(message_of<shape_error>([&] {
          (void)seqnet::binary_cross_entropy_with_logits(c, c, seqnet::BCEWithLogitsLossOptions().pos_weight({1, 2, 3}));
        }) == "The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 1");
  seqnet::MSELoss<double> none(Reduction::None);
  Tensor<double, 2> g;
  CHECK(message_of<shape_error>([&] { none.unreduced_backward(c, c, d, g); }) ==
        "Mismatch in shape: grad_output has a shape of torch.Size([3, 4]) and output has a shape of torch.Size([3, 2])");

  seqnet::CrossEntropyLoss<double> ce;
  Tensor<double, 2> logits(3, 5);
  logits.setZero();
  Tensor<std::int64_t, 1> t(3), t2(2);
  t.setValues({0, 5, 1});
  t2.setValues({0, 1});
  CHECK(message_of<index_error>([&] { (void)ce(logits, t); }) == "Target 5 is out of bounds.");
  t(1) = -1;
  CHECK(message_of<index_error>([&] { (void)ce(logits, t); }) == "Target -1 is out of bounds.");
  Tensor<std::uint8_t, 0> big;
  big() = 7;
  Tensor<double, 1> one(5);
  one.setZero();
  CHECK(message_of<index_error>([&] { (void)ce(one, big); }) == "Target 7 is out of bounds.");
  CHECK(message_of<shape_error>([&] { (void)ce(logits, t2); }) ==
        "Expected input batch_size (3) to match target batch_size (2).");
  t(1) = 2;
  CHECK(message_of<shape_error>([&] {
          (void)seqnet::cross_entropy(logits, t, seqnet::CrossEntropyLossOptions().weight({1, 1, 1, 1}));
        }) == "weight tensor should be defined either for all 5 classes or no classes but got weight tensor of shape: [4]");
  Tensor<double, 2> probs(3, 4);
  probs.setZero();
  CHECK(message_of<shape_error>([&] { (void)ce(logits, probs); }) ==
        "0D or 1D target tensor expected, multi-target not supported: class-probability targets must have the input's "
        "size [3, 5], got [3, 4]");
  seqnet::CrossEntropyLoss<double> ce_none(seqnet::CrossEntropyLossOptions().reduction(Reduction::None));
  Tensor<double, 1> go(2);
  go.setZero();
  Tensor<double, 2> grad;
  CHECK(message_of<shape_error>([&] { ce_none.unreduced_backward(logits, t, go, grad); }) ==
        "Mismatch in shape: grad_output has a shape of torch.Size([2]) and output has a shape of torch.Size([3])");
}

TEST_CASE("losses: empty inputs, ignored targets and extreme logits", "[loss]") {
  // The mean over no elements is 0/0, as in PyTorch.
  Tensor<float, 2> empty(0, 3), grad;
  CHECK(std::isnan(seqnet::mse_loss(empty, empty)));
  CHECK(seqnet::mse_loss(empty, empty, Reduction::Sum) == 0.0f);
  CHECK(std::isnan(seqnet::MSELoss<float>().forward(empty, empty, grad)));
  CHECK(seqnet::shape(grad) == seqnet::Shape{0, 3});
  Tensor<float, 2> logits(0, 4);
  Tensor<std::int64_t, 1> none(0);
  CHECK(std::isnan(seqnet::cross_entropy(logits, none)));
  CHECK(seqnet::cross_entropy(logits, none, seqnet::CrossEntropyLossOptions().reduction(Reduction::Sum)) == 0.0f);

  // Every target ignored: the mean is NaN, the gradient zero, the sum zero.
  Tensor<double, 2> x(2, 3), g;
  x.setValues({{1.0, 2.0, 3.0}, {-1.0, 0.0, 1.0}});
  Tensor<std::int64_t, 1> ignored(2);
  ignored.setConstant(-100);
  seqnet::CrossEntropyLoss<double> ce;
  CHECK(std::isnan(ce.forward(x, ignored, g)));
  for (Index i = 0; i < g.size(); ++i) CHECK(g.data()[i] == 0.0);

  // Logits far beyond exp's range stay finite (log-sum-exp, PyTorch's BCE form).
  Tensor<float, 2> huge(1, 3);
  huge.setValues({{1000.0f, -1000.0f, 0.0f}});
  Tensor<std::int64_t, 1> cls(1);
  cls(0) = 1;
  Tensor<float, 2> grad_huge;
  CHECK(seqnet::CrossEntropyLoss<float>().forward(huge, cls, grad_huge) == Approx(2000.0f));
  CHECK(grad_huge(0, 0) == Approx(1.0f));
  CHECK(grad_huge(0, 1) == Approx(-1.0f));
  Tensor<float, 2> targets(1, 3);
  targets.setValues({{0.0f, 1.0f, 0.5f}});
  const float bce = seqnet::BCEWithLogitsLoss<float>(seqnet::BCEWithLogitsLossOptions().reduction(Reduction::Sum))
                        .forward(huge, targets, grad_huge);
  CHECK(bce == Approx(2000.0f + std::log(2.0f)));
  CHECK(grad_huge(0, 0) == 1.0f);
  CHECK(grad_huge(0, 1) == -1.0f);
  CHECK(grad_huge(0, 2) == 0.0f);
}
