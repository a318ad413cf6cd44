// SPDX-License-Identifier: MIT
/// @file loss.hpp
/// PyTorch's losses (`torch.nn.MSELoss`, `L1Loss`, `SmoothL1Loss`, `HuberLoss`, `CrossEntropyLoss`,
/// `BCEWithLogitsLoss`) with their reductions, each giving its value and, since seqnet has no autograd,
/// the gradient with respect to its input as PyTorch's backward computes it.
///
/// Every loss has two forms, because PyTorch's `reduction` changes what the call returns:
/// - `'mean'` / `'sum'` (the default is `'mean'`): `T value = loss(input, target)`, or
///   `T value = loss.forward(input, target, grad_input)`, which also writes dL/dinput as
///   `value.backward()` would (grad_output = 1);
/// - `'none'`: `loss.unreduced(input, target)` returns the tensor of per-element (per-sample for cross
///   entropy) losses, and `loss.unreduced_backward(input, target, grad_output, grad_input)` takes the
///   upstream gradient of that tensor, as `losses.backward(grad_output)`.
/// Calling the form that does not match the configured reduction throws `value_error`. `grad_input` and
/// the `_into` outputs are resized only when their shape differs, so a training loop that reuses them
/// allocates nothing; they must not be `input` or `target`.
///
/// Sizes are checked as PyTorch checks them, with PyTorch's messages, except that seqnet never
/// broadcasts a target: where `F.mse_loss` warns and broadcasts, seqnet throws `shape_error`.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "errors.hpp"
#include "options.hpp"
#include "tensor.hpp"

namespace seqnet {

/// PyTorch's `reduction=`: `'none'` keeps one loss per element, `'mean'` averages them (cross entropy:
/// a weighted average), `'sum'` adds them.
enum class Reduction { None, Mean, Sum };

/// `"none"`, `"mean"` or `"sum"`, as PyTorch spells them.
inline const char* to_string(Reduction reduction) {
  switch (reduction) {
    case Reduction::None: return "none";
    case Reduction::Sum: return "sum";
    case Reduction::Mean: break;
  }
  return "mean";
}

/// Parses PyTorch's spelling; anything else throws `value_error` with PyTorch's message.
inline Reduction reduction_from_string(const std::string& name) {
  if (name == "none") return Reduction::None;
  if (name == "mean") return Reduction::Mean;
  if (name == "sum") return Reduction::Sum;
  throw value_error(name + " is not a valid value for reduction");
}

/// Options of `MSELoss<T>` and `L1Loss<T>` (`torch::nn::MSELossOptions`, `L1LossOptions`).
struct MSELossOptions {
  /// Default: Mean
  SEQNET_ARG(Reduction, reduction) = Reduction::Mean;
};
using L1LossOptions = MSELossOptions;

/// Options of `SmoothL1Loss<T>` (`torch::nn::SmoothL1LossOptions`).
struct SmoothL1LossOptions {
  /// Default: Mean
  SEQNET_ARG(Reduction, reduction) = Reduction::Mean;
  /// Where the loss turns from quadratic to linear; 0 gives the L1 loss; negative throws. Default: 1
  SEQNET_ARG(double, beta) = 1.0;
};

/// Options of `HuberLoss<T>` (`torch::nn::HuberLossOptions`).
struct HuberLossOptions {
  /// Default: Mean
  SEQNET_ARG(Reduction, reduction) = Reduction::Mean;
  /// Where the loss turns from quadratic to linear; must be > 0. Default: 1
  SEQNET_ARG(double, delta) = 1.0;
};

/// Options of `CrossEntropyLoss<T>` (`torch::nn::CrossEntropyLossOptions`).
/// Example: `CrossEntropyLoss<float> loss(CrossEntropyLossOptions().ignore_index(0).label_smoothing(0.1));`
struct CrossEntropyLossOptions {
  /// Weight of each class (PyTorch's `weight`, a tensor `[C]`); empty: every class weighs 1. Default: empty
  SEQNET_ARG(std::vector<double>, weight);
  /// Targets equal to it contribute neither loss nor gradient nor weight to the mean (class-index
  /// targets only). Default: -100
  SEQNET_ARG(std::int64_t, ignore_index) = -100;
  /// Default: Mean
  SEQNET_ARG(Reduction, reduction) = Reduction::Mean;
  /// Mixes the target with the uniform distribution: `(1 - s) * target + s / C`. In [0, 1]. Default: 0
  SEQNET_ARG(double, label_smoothing) = 0.0;
};

/// Options of `BCEWithLogitsLoss<T>` (`torch::nn::BCEWithLogitsLossOptions`).
struct BCEWithLogitsLossOptions {
  /// Rescales each element's loss, broadcast over the input's last dimension: size 1 or the last
  /// dimension's size (PyTorch broadcasts any shape; seqnet only along the last dimension). Default: empty
  SEQNET_ARG(std::vector<double>, weight);
  /// Weight of the positive term of each class (the last dimension), size 1 or that dimension's
  /// size. Default: empty (1)
  SEQNET_ARG(std::vector<double>, pos_weight);
  /// Default: Mean
  SEQNET_ARG(Reduction, reduction) = Reduction::Mean;
};

namespace detail {

/// Sums run in double for float (PyTorch sums float tensors with cascaded partial sums; a double
/// accumulator is at least as accurate, so the two agree to float's precision).
template <typename T>
using LossAccumulator = std::conditional_t<(sizeof(T) < sizeof(double)), double, T>;

inline void check_reduced_call(Reduction reduction, const char* loss) {
  SEQNET_CHECK(value_error, reduction != Reduction::None, loss,
               "(reduction='none') gives one loss per element: call unreduced() / unreduced_backward()");
}

inline void check_unreduced_call(Reduction reduction, const char* loss) {
  SEQNET_CHECK(value_error, reduction == Reduction::None, loss, "(reduction='", to_string(reduction),
               "') gives one number: call operator() / forward(), or build it with reduction(Reduction::None)");
}

/// `out` gets the extents `dims`; Eigen reallocates only when the element count changes.
template <typename T, int R, typename Dimensions>
void shape_like(Tensor<T, R>& out, const Dimensions& dims) {
  if (shape(out) != Shape::of_dimensions(dims)) out.resize(dims);
}

/// The size of the last dimension (1 for a 0-dimensional tensor).
template <typename T, int R>
Index last_extent(const Tensor<T, R>& tensor) {
  if constexpr (R == 0) {
    (void)tensor;
    return 1;
  } else {
    return tensor.dimension(R - 1);
  }
}

template <typename T>
std::vector<T> converted(const std::vector<double>& values) {
  return std::vector<T>(values.begin(), values.end());
}

/// The base of the losses that compare input and target element by element. `Loss` provides
/// `name` (the class name), `value(x, y, column)` and `derivative(x, y, column)` (dvalue/dx; `column`
/// is the element's index in the last dimension, for per-class weights), and may hide
/// `check_weights(input)` to check the sizes of its weights.
template <typename T, typename Loss>
class ElementwiseLoss {
 public:
  using Scalar = T;

  Reduction reduction() const noexcept { return reduction_; }

  /// The reduced loss ('mean' or 'sum').
  template <int R>
  T operator()(const Tensor<T, R>& input, const Tensor<T, R>& target) const {
    return reduce(input, target, static_cast<Tensor<T, R>*>(nullptr));
  }
  template <int R>
  T forward(const Tensor<T, R>& input, const Tensor<T, R>& target) const {
    return reduce(input, target, static_cast<Tensor<T, R>*>(nullptr));
  }
  /// The reduced loss, and dL/dinput into `grad_input` (resized to the input's shape when it differs).
  template <int R>
  T forward(const Tensor<T, R>& input, const Tensor<T, R>& target, Tensor<T, R>& grad_input) const {
    return reduce(input, target, &grad_input);
  }

  /// reduction='none': the loss of each element, the input's shape.
  template <int R>
  Tensor<T, R> unreduced(const Tensor<T, R>& input, const Tensor<T, R>& target) const {
    Tensor<T, R> losses;
    unreduced_into(input, target, losses);
    return losses;
  }
  template <int R>
  void unreduced_into(const Tensor<T, R>& input, const Tensor<T, R>& target, Tensor<T, R>& losses) const {
    check_unreduced_call(reduction_, Loss::name);
    check_sizes(input, target);
    shape_like(losses, input.dimensions());
    const Index columns = last_dimension(input);
    for (Index i = 0; i < input.size(); ++i)
      losses.data()[i] = self().value(input.data()[i], target.data()[i], i % columns);
  }
  /// reduction='none': dL/dinput for the upstream gradient `grad_output` of the per-element losses.
  template <int R>
  void unreduced_backward(const Tensor<T, R>& input, const Tensor<T, R>& target, const Tensor<T, R>& grad_output,
                          Tensor<T, R>& grad_input) const {
    check_unreduced_call(reduction_, Loss::name);
    check_sizes(input, target);
    SEQNET_CHECK(shape_error, shape(grad_output) == shape(input), "Mismatch in shape: grad_output has a shape of torch.Size(",
                 shape(grad_output).str(), ") and output has a shape of torch.Size(", shape(input).str(), ")");
    shape_like(grad_input, input.dimensions());
    const Index columns = last_dimension(input);
    for (Index i = 0; i < input.size(); ++i)
      grad_input.data()[i] = grad_output.data()[i] * self().derivative(input.data()[i], target.data()[i], i % columns);
  }

 protected:
  explicit ElementwiseLoss(Reduction reduction) : reduction_(reduction) {}

  template <int R>
  static void check_weights(const Tensor<T, R>&) {}

 private:
  const Loss& self() const { return static_cast<const Loss&>(*this); }

  template <int R>
  static Index last_dimension(const Tensor<T, R>& input) {
    return std::max<Index>(last_extent(input), 1);
  }

  template <int R>
  void check_sizes(const Tensor<T, R>& input, const Tensor<T, R>& target) const {
    // PyTorch warns ("Using a target size ... different to the input size") and broadcasts, which is
    // almost always a bug; seqnet refuses.
    SEQNET_CHECK(shape_error, shape(input) == shape(target), Loss::name, ": target size ", shape(target).str(),
                 " is different to the input size ", shape(input).str(),
                 "; seqnet does not broadcast the target (PyTorch warns and broadcasts): pass tensors of the same size");
    self().check_weights(input);
  }

  template <int R>
  T reduce(const Tensor<T, R>& input, const Tensor<T, R>& target, Tensor<T, R>* grad_input) const {
    check_reduced_call(reduction_, Loss::name);
    check_sizes(input, target);
    const Index count = input.size(), columns = last_dimension(input);
    LossAccumulator<T> total = 0;
    for (Index i = 0; i < count; ++i) total += self().value(input.data()[i], target.data()[i], i % columns);
    // The mean of no elements is 0/0 = NaN, as in PyTorch.
    const bool mean = reduction_ == Reduction::Mean;
    if (grad_input != nullptr) {
      shape_like(*grad_input, input.dimensions());
      const T scale = mean ? static_cast<T>(LossAccumulator<T>(1) / static_cast<LossAccumulator<T>>(count)) : T(1);
      for (Index i = 0; i < count; ++i)
        grad_input->data()[i] = scale * self().derivative(input.data()[i], target.data()[i], i % columns);
    }
    return static_cast<T>(mean ? total / static_cast<LossAccumulator<T>>(count) : total);
  }

  Reduction reduction_;
};

}  // namespace detail

/// `torch.nn.MSELoss`: `(x - y)^2`; gradient `2 (x - y)`.
template <typename T>
class MSELoss : public detail::ElementwiseLoss<T, MSELoss<T>> {
 public:
  static constexpr const char* name = "MSELoss";
  explicit MSELoss(const MSELossOptions& options = {}) : detail::ElementwiseLoss<T, MSELoss>(options.reduction()) {}
  explicit MSELoss(Reduction reduction) : MSELoss(MSELossOptions().reduction(reduction)) {}

  T value(T x, T y, Index) const { return (x - y) * (x - y); }
  T derivative(T x, T y, Index) const { return T(2) * (x - y); }
};

/// `torch.nn.L1Loss`: `|x - y|`; gradient `sign(x - y)`, 0 where x == y (PyTorch's `sgn`).
template <typename T>
class L1Loss : public detail::ElementwiseLoss<T, L1Loss<T>> {
 public:
  static constexpr const char* name = "L1Loss";
  explicit L1Loss(const L1LossOptions& options = {}) : detail::ElementwiseLoss<T, L1Loss>(options.reduction()) {}
  explicit L1Loss(Reduction reduction) : L1Loss(L1LossOptions().reduction(reduction)) {}

  T value(T x, T y, Index) const { return std::abs(x - y); }
  T derivative(T x, T y, Index) const { return sign(x - y); }

  static T sign(T d) { return d > T(0) ? T(1) : d < T(0) ? T(-1) : T(0); }
};

/// `torch.nn.SmoothL1Loss`: with `d = x - y`, `0.5 d^2 / beta` where `|d| < beta`, else `|d| - 0.5 beta`;
/// beta = 0 is the L1 loss (PyTorch switches to `l1_loss` there, gradient 0 at d = 0).
template <typename T>
class SmoothL1Loss : public detail::ElementwiseLoss<T, SmoothL1Loss<T>> {
 public:
  static constexpr const char* name = "SmoothL1Loss";
  explicit SmoothL1Loss(const SmoothL1LossOptions& options = {})
      : detail::ElementwiseLoss<T, SmoothL1Loss>(options.reduction()), beta_(static_cast<T>(options.beta())) {
    SEQNET_CHECK(value_error, options.beta() >= 0, "smooth_l1_loss does not support negative values for beta.");
  }

  T beta() const noexcept { return beta_; }

  T value(T x, T y, Index) const {
    const T d = std::abs(x - y);
    if (beta_ == T(0)) return d;
    return d < beta_ ? T(0.5) * d * d / beta_ : d - T(0.5) * beta_;
  }
  T derivative(T x, T y, Index) const {
    const T d = x - y;
    if (beta_ == T(0)) return L1Loss<T>::sign(d);
    return d <= -beta_ ? T(-1) : d >= beta_ ? T(1) : d / beta_;
  }

 private:
  T beta_;
};

/// `torch.nn.HuberLoss`: with `d = x - y`, `0.5 d^2` where `|d| < delta`, else `delta (|d| - 0.5 delta)`
/// (SmoothL1Loss with beta = delta, times delta).
template <typename T>
class HuberLoss : public detail::ElementwiseLoss<T, HuberLoss<T>> {
 public:
  static constexpr const char* name = "HuberLoss";
  explicit HuberLoss(const HuberLossOptions& options = {})
      : detail::ElementwiseLoss<T, HuberLoss>(options.reduction()), delta_(static_cast<T>(options.delta())) {
    SEQNET_CHECK(value_error, options.delta() > 0, "huber_loss does not support non-positive values for delta.");
  }

  T delta() const noexcept { return delta_; }

  T value(T x, T y, Index) const {
    const T d = std::abs(x - y);
    return d < delta_ ? T(0.5) * d * d : delta_ * (d - T(0.5) * delta_);
  }
  T derivative(T x, T y, Index) const {
    const T d = x - y;
    return d < -delta_ ? -delta_ : d > delta_ ? delta_ : d;
  }

 private:
  T delta_;
};

/// `torch.nn.BCEWithLogitsLoss`: binary cross entropy on logits `x` with targets `y`, in PyTorch's stable
/// form `w ((1 - y) x - (1 + (pw - 1) y) log_sigmoid(x))`, `log_sigmoid(x) = min(x, 0) - log1p(exp(-|x|))`;
/// gradient `w ((1 + (pw - 1) y) sigmoid(x) - pw y)`. `weight` (w) and `pos_weight` (pw) apply along
/// the last dimension.
template <typename T>
class BCEWithLogitsLoss : public detail::ElementwiseLoss<T, BCEWithLogitsLoss<T>> {
 public:
  static constexpr const char* name = "BCEWithLogitsLoss";
  explicit BCEWithLogitsLoss(const BCEWithLogitsLossOptions& options = {})
      : detail::ElementwiseLoss<T, BCEWithLogitsLoss>(options.reduction()),
        weight_(detail::converted<T>(options.weight())),
        pos_weight_(detail::converted<T>(options.pos_weight())) {}

  const std::vector<T>& weight() const noexcept { return weight_; }
  const std::vector<T>& pos_weight() const noexcept { return pos_weight_; }

  T value(T x, T y, Index column) const {
    const T log_sigmoid = std::min(x, T(0)) - std::log1p(std::exp(-std::abs(x)));
    const T positive = pos_weight_.empty() ? T(1) : T(1) + (at(pos_weight_, column) - T(1)) * y;
    const T loss = (T(1) - y) * x - positive * log_sigmoid;
    return weight_.empty() ? loss : loss * at(weight_, column);
  }
  T derivative(T x, T y, Index column) const {
    const T sigmoid = x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
    T gradient;
    if (pos_weight_.empty()) {
      gradient = sigmoid - y;
    } else {
      const T py = at(pos_weight_, column) * y;
      gradient = (py + T(1) - y) * sigmoid - py;
    }
    return weight_.empty() ? gradient : gradient * at(weight_, column);
  }

 private:
  friend class detail::ElementwiseLoss<T, BCEWithLogitsLoss<T>>;

  /// PyTorch's broadcasting messages: the weight multiplies the loss (tensor a), the pos_weight the
  /// target (tensor b).
  template <int R>
  void check_weights(const Tensor<T, R>& input) const {
    const Index columns = detail::last_extent(input);
    const Index weights = static_cast<Index>(weight_.size()), pos_weights = static_cast<Index>(pos_weight_.size());
    SEQNET_CHECK(shape_error, weight_.empty() || weights == 1 || (R > 0 && weights == columns), "The size of tensor a (",
                 columns, ") must match the size of tensor b (", weights, ") at non-singleton dimension ",
                 R > 0 ? R - 1 : 0);
    SEQNET_CHECK(shape_error, pos_weight_.empty() || pos_weights == 1 || (R > 0 && pos_weights == columns),
                 "The size of tensor a (", pos_weights, ") must match the size of tensor b (", columns,
                 ") at non-singleton dimension ", R > 0 ? R - 1 : 0);
  }

  static T at(const std::vector<T>& per_class, Index column) {
    return per_class.size() == 1 ? per_class[0] : per_class[static_cast<std::size_t>(column)];
  }

  std::vector<T> weight_;
  std::vector<T> pos_weight_;
};

/// `torch.nn.CrossEntropyLoss` on logits: input `[N, C]` (or `[C]` for one unbatched sample) with
/// - class-index targets `[N]` (or a 0-dimensional tensor), any integer type, honouring `weight`,
///   `ignore_index` and `label_smoothing`; 'mean' divides by the summed weight of the non-ignored
///   targets, so it is NaN when every target is ignored, as in PyTorch;
/// - class-probability targets `[N, C]` (or `[C]`), honouring `weight` and `label_smoothing`; 'mean'
///   divides by N.
/// The log-probabilities use log-sum-exp with the row maximum subtracted. For one sample with class
/// weights `w`, smoothing `s` and `a_c = (1 - s) w_t [c == t] + (s / C) w_c` (index target t) or
/// `a_c = w_c ((1 - s) y_c + s / C)` (probabilities y), the loss is `-sum_c a_c log p_c` and its gradient
/// `(sum_c a_c) p - a`. PyTorch's `[N, C, d1, ...]` inputs are not supported.
template <typename T>
class CrossEntropyLoss {
 public:
  using Scalar = T;
  static constexpr const char* name = "CrossEntropyLoss";

  explicit CrossEntropyLoss(const CrossEntropyLossOptions& options = {})
      : options_(options), weight_(detail::converted<T>(options.weight())) {
    SEQNET_CHECK(value_error, options.label_smoothing() >= 0.0 && options.label_smoothing() <= 1.0,
                 "label_smoothing must be between 0.0 and 1.0. Got: ", options.label_smoothing());
  }

  const CrossEntropyLossOptions& options() const noexcept { return options_; }
  Reduction reduction() const noexcept { return options_.reduction(); }

  // ---- 'mean' / 'sum'
  /// Input `[N, C]`, class indices `[N]` or probabilities `[N, C]`.
  template <typename Target, int TR>
  T operator()(const Tensor<T, 2>& input, const Tensor<Target, TR>& target) const {
    return forward(input, target);
  }
  /// Unbatched: input `[C]`, a class index `[]` or probabilities `[C]`.
  template <typename Target, int TR>
  T operator()(const Tensor<T, 1>& input, const Tensor<Target, TR>& target) const {
    return forward(input, target);
  }
  template <int R, typename Target, int TR>
  T forward(const Tensor<T, R>& input, const Tensor<Target, TR>& target) const {
    detail::check_reduced_call(reduction(), name);
    return run<R>(input, target, nullptr, nullptr, nullptr);
  }
  /// The reduced loss, and dL/dinput into `grad_input` (resized to the input's shape when it differs).
  template <int R, typename Target, int TR>
  T forward(const Tensor<T, R>& input, const Tensor<Target, TR>& target, Tensor<T, R>& grad_input) const {
    detail::check_reduced_call(reduction(), name);
    return run<R>(input, target, nullptr, nullptr, &grad_input);
  }

  // ---- 'none': one loss per sample, `[N]` (or `[]` unbatched); 0 for an ignored target
  template <int R, typename Target, int TR>
  Tensor<T, R - 1> unreduced(const Tensor<T, R>& input, const Tensor<Target, TR>& target) const {
    Tensor<T, R - 1> losses;
    unreduced_into(input, target, losses);
    return losses;
  }
  template <int R, typename Target, int TR>
  void unreduced_into(const Tensor<T, R>& input, const Tensor<Target, TR>& target, Tensor<T, R - 1>& losses) const {
    detail::check_unreduced_call(reduction(), name);
    run<R>(input, target, &losses, nullptr, nullptr);
  }
  /// dL/dinput for the upstream gradient `grad_output` (`[N]`, or `[]` unbatched) of the per-sample losses.
  template <int R, typename Target, int TR>
  void unreduced_backward(const Tensor<T, R>& input, const Tensor<Target, TR>& target,
                          const Tensor<T, R - 1>& grad_output, Tensor<T, R>& grad_input) const {
    detail::check_unreduced_call(reduction(), name);
    run<R>(input, target, nullptr, &grad_output, &grad_input);
  }

 private:
  using Accumulator = detail::LossAccumulator<T>;

  /// One pass over the samples: checks, then per sample the loss (into `losses` for 'none') and, when
  /// `grad_input` is given, its gradient scaled by the reduction or by `grad_output`.
  template <int R, typename Target, int TR>
  T run(const Tensor<T, R>& input, const Tensor<Target, TR>& target, Tensor<T, R - 1>* losses,
        const Tensor<T, R - 1>* grad_output, Tensor<T, R>* grad_input) const {
    static_assert(R == 1 || R == 2, "CrossEntropyLoss takes input [N, C] or, unbatched, [C]");
    constexpr bool indices = std::is_integral_v<Target>;
    static_assert(indices ? TR == R - 1 : (std::is_same_v<Target, T> && TR == R),
                  "CrossEntropyLoss targets: class indices (an integer tensor [N], or [] unbatched) or class "
                  "probabilities of the input's type and shape");
    static_assert(!std::is_same_v<Target, bool>, "CrossEntropyLoss class indices must be integers, not bool");
    const Index samples = R == 2 ? input.dimension(0) : 1, classes = input.dimension(R - 1);
    if constexpr (indices) {
      if constexpr (R == 2)
        SEQNET_CHECK(shape_error, target.dimension(0) == samples, "Expected input batch_size (", samples,
                     ") to match target batch_size (", target.dimension(0), ").");
    } else {
      SEQNET_CHECK(shape_error, shape(target) == shape(input),
                   "0D or 1D target tensor expected, multi-target not supported: class-probability targets must "
                   "have the input's size ", shape(input).str(), ", got ", shape(target).str());
    }
    SEQNET_CHECK(shape_error, weight_.empty() || static_cast<Index>(weight_.size()) == classes,
                 "weight tensor should be defined either for all ", classes,
                 " classes or no classes but got weight tensor of shape: [", weight_.size(), "]");
    if constexpr (indices) {
      for (Index n = 0; n < samples; ++n) {
        const Target t = target.data()[n];
        SEQNET_CHECK(index_error, is_ignored(t) || in_class_range(t, classes), "Target ", +t,
                     " is out of bounds.");
      }
    }
    if (grad_output != nullptr)
      SEQNET_CHECK(shape_error, grad_output->size() == samples, "Mismatch in shape: grad_output has a shape of torch.Size(",
                   shape(*grad_output).str(), ") and output has a shape of torch.Size(",
                   R == 2 ? Shape{samples}.str() : Shape{}.str(), ")");
    if (losses != nullptr) {
      if constexpr (R == 2) {
        detail::shape_like(*losses, Eigen::array<Index, 1>{{samples}});
      }
    }
    if (grad_input != nullptr) detail::shape_like(*grad_input, input.dimensions());

    const Accumulator smoothing = static_cast<Accumulator>(options_.label_smoothing());
    const Accumulator per_class = classes > 0 ? smoothing / static_cast<Accumulator>(classes) : Accumulator(0);
    const bool mean = reduction() == Reduction::Mean;
    // 'mean' divides by the summed weight of the counted samples: index targets count their class's weight
    // (0 when ignored), probability targets count 1 each.
    Accumulator denominator = static_cast<Accumulator>(samples);
    if constexpr (indices) {
      denominator = 0;
      for (Index n = 0; n < samples; ++n) {
        const Target t = target.data()[n];
        if (!is_ignored(t)) denominator += class_weight(static_cast<Index>(t));
      }
    }
    const Accumulator reduced_scale = mean ? Accumulator(1) / denominator : Accumulator(1);

    Accumulator total = 0;
    for (Index n = 0; n < samples; ++n) {
      const T* x = input.data() + n * classes;
      T* grad = grad_input != nullptr ? grad_input->data() + n * classes : nullptr;
      Index t = -1;
      if constexpr (indices) {
        const Target id = target.data()[n];
        if (is_ignored(id)) {
          if (losses != nullptr) losses->data()[n] = T(0);
          if (grad != nullptr) std::fill_n(grad, classes, T(0));
          continue;
        }
        t = static_cast<Index>(id);
      }
      Accumulator max = -std::numeric_limits<Accumulator>::infinity();
      for (Index c = 0; c < classes; ++c) max = std::max<Accumulator>(max, x[c]);
      Accumulator exp_sum = 0;
      for (Index c = 0; c < classes; ++c) exp_sum += std::exp(static_cast<Accumulator>(x[c]) - max);
      const Accumulator log_sum_exp = max + std::log(exp_sum);
      // The coefficient a_c of -log p_c, and their sum.
      auto coefficient = [&](Index c) -> Accumulator {
        if constexpr (indices) {
          return (c == t ? (1 - smoothing) * class_weight(t) : Accumulator(0)) + per_class * class_weight(c);
        } else {
          const Accumulator y = static_cast<Accumulator>(target.data()[n * classes + c]);
          return class_weight(c) * ((1 - smoothing) * y + per_class);
        }
      };
      Accumulator loss = 0, coefficient_sum = 0;
      for (Index c = 0; c < classes; ++c) {
        const Accumulator a = coefficient(c);
        if (a != 0) loss += a * (log_sum_exp - static_cast<Accumulator>(x[c]));
        coefficient_sum += a;
      }
      total += loss;
      if (losses != nullptr) losses->data()[n] = static_cast<T>(loss);
      if (grad != nullptr) {
        const Accumulator scale = grad_output != nullptr ? static_cast<Accumulator>(grad_output->data()[n]) : reduced_scale;
        for (Index c = 0; c < classes; ++c) {
          const Accumulator p = std::exp(static_cast<Accumulator>(x[c]) - log_sum_exp);
          grad[c] = static_cast<T>(scale * (coefficient_sum * p - coefficient(c)));
        }
      }
    }
    return static_cast<T>(total * reduced_scale);
  }

  template <typename Target>
  bool is_ignored(Target t) const {
    if constexpr (std::is_signed_v<Target>) {
      return static_cast<std::int64_t>(t) == options_.ignore_index();
    } else {
      return options_.ignore_index() >= 0 && static_cast<std::uint64_t>(t) == static_cast<std::uint64_t>(options_.ignore_index());
    }
  }
  template <typename Target>
  static bool in_class_range(Target t, Index classes) {
    if constexpr (std::is_signed_v<Target>) {
      return t >= 0 && static_cast<std::int64_t>(t) < static_cast<std::int64_t>(classes);
    } else {
      return static_cast<std::uint64_t>(t) < static_cast<std::uint64_t>(classes);
    }
  }
  Accumulator class_weight(Index c) const {
    return weight_.empty() ? Accumulator(1) : static_cast<Accumulator>(weight_[static_cast<std::size_t>(c)]);
  }

  CrossEntropyLossOptions options_;
  std::vector<T> weight_;
};

// ---- Functional forms (`torch.nn.functional`), reduced ('mean' or 'sum'); for 'none' use the classes'
// unreduced().

template <typename T, int R>
T mse_loss(const Tensor<T, R>& input, const Tensor<T, R>& target, Reduction reduction = Reduction::Mean) {
  return MSELoss<T>(reduction)(input, target);
}
template <typename T, int R>
T l1_loss(const Tensor<T, R>& input, const Tensor<T, R>& target, Reduction reduction = Reduction::Mean) {
  return L1Loss<T>(reduction)(input, target);
}
template <typename T, int R>
T smooth_l1_loss(const Tensor<T, R>& input, const Tensor<T, R>& target, Reduction reduction = Reduction::Mean,
                 double beta = 1.0) {
  return SmoothL1Loss<T>(SmoothL1LossOptions().reduction(reduction).beta(beta))(input, target);
}
template <typename T, int R>
T huber_loss(const Tensor<T, R>& input, const Tensor<T, R>& target, Reduction reduction = Reduction::Mean,
             double delta = 1.0) {
  return HuberLoss<T>(HuberLossOptions().reduction(reduction).delta(delta))(input, target);
}
template <typename T, int R, typename Target, int TR>
T cross_entropy(const Tensor<T, R>& input, const Tensor<Target, TR>& target,
                const CrossEntropyLossOptions& options = {}) {
  return CrossEntropyLoss<T>(options).forward(input, target);
}
template <typename T, int R>
T binary_cross_entropy_with_logits(const Tensor<T, R>& input, const Tensor<T, R>& target,
                                   const BCEWithLogitsLossOptions& options = {}) {
  return BCEWithLogitsLoss<T>(options)(input, target);
}

}  // namespace seqnet
