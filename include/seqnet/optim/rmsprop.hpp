// SPDX-License-Identifier: MIT
/// @file optim/rmsprop.hpp
/// `RMSprop<T>`: `torch.optim.RMSprop` (single-tensor algorithm).
#pragma once

#include <cmath>
#include <initializer_list>
#include <vector>

#include "../options.hpp"
#include "optimizer.hpp"

namespace seqnet::optim {

/// Options of `RMSprop<T>`, with `torch.optim.RMSprop`'s defaults.
struct RMSpropOptions {
  SEQNET_ARG(double, lr) = 1e-2;
  /// Smoothing constant of the squared-gradient average. Default: 0.99
  SEQNET_ARG(double, alpha) = 0.99;
  SEQNET_ARG(double, eps) = 1e-8;
  SEQNET_ARG(double, weight_decay) = 0.0;
  SEQNET_ARG(double, momentum) = 0.0;
  /// Normalise by the estimated variance (subtract the squared mean gradient). Default: false
  SEQNET_ARG(bool, centered) = false;
  SEQNET_ARG(bool, maximize) = false;

 public:
  void validate() const {
    using seqnet::detail::python_float_repr;
    SEQNET_CHECK(value_error, 0.0 <= lr(), "Invalid learning rate: ", python_float_repr(lr()));
    SEQNET_CHECK(value_error, 0.0 <= eps(), "Invalid epsilon value: ", python_float_repr(eps()));
    SEQNET_CHECK(value_error, 0.0 <= momentum(), "Invalid momentum value: ", python_float_repr(momentum()));
    SEQNET_CHECK(value_error, 0.0 <= weight_decay(), "Invalid weight_decay value: ", python_float_repr(weight_decay()));
    SEQNET_CHECK(value_error, 0.0 <= alpha(), "Invalid alpha value: ", python_float_repr(alpha()));
  }

  template <typename T>
  static RMSpropOptions merged(const ParamGroup<T>& group, RMSpropOptions options) {
    if (group.lr()) options.lr(*group.lr());
    if (group.alpha()) options.alpha(*group.alpha());
    if (group.eps()) options.eps(*group.eps());
    if (group.weight_decay()) options.weight_decay(*group.weight_decay());
    if (group.momentum()) options.momentum(*group.momentum());
    if (group.centered()) options.centered(*group.centered());
    if (group.maximize()) options.maximize(*group.maximize());
    detail::reject_override(group.dampening(), "RMSprop", "dampening");
    detail::reject_override(group.nesterov(), "RMSprop", "nesterov");
    detail::reject_override(group.betas(), "RMSprop", "betas");
    detail::reject_override(group.amsgrad(), "RMSprop", "amsgrad");
    detail::reject_override(group.lr_decay(), "RMSprop", "lr_decay");
    detail::reject_override(group.initial_accumulator_value(), "RMSprop", "initial_accumulator_value");
    return options;
  }

  std::vector<Hyperparameter> hyperparameters() const {
    return {{"lr", {lr()}},
            {"momentum", {momentum()}},
            {"alpha", {alpha()}},
            {"eps", {eps()}},
            {"centered", {centered() ? 1.0 : 0.0}},
            {"weight_decay", {weight_decay()}},
            {"maximize", {maximize() ? 1.0 : 0.0}}};
  }
  static RMSpropOptions from_hyperparameters(const std::vector<Hyperparameter>& values, RMSpropOptions options) {
    using detail::hyperparameter;
    return options.lr(hyperparameter(values, "lr")[0])
        .momentum(hyperparameter(values, "momentum")[0])
        .alpha(hyperparameter(values, "alpha")[0])
        .eps(hyperparameter(values, "eps")[0])
        .centered(hyperparameter(values, "centered")[0] != 0.0)
        .weight_decay(hyperparameter(values, "weight_decay")[0])
        .maximize(hyperparameter(values, "maximize")[0] != 0.0);
  }
  /// PyTorch's order: square_avg, then momentum_buffer (momentum > 0), then grad_avg (centered).
  std::vector<const char*> state_names() const {
    std::vector<const char*> names{"square_avg"};
    if (momentum() > 0) names.push_back("momentum_buffer");
    if (centered()) names.push_back("grad_avg");
    return names;
  }
};

/// RMSprop, `torch.optim.RMSprop`. Per parameter, with g the gradient (negated when maximizing):
///
///     g = g + weight_decay * p                        (if weight_decay != 0)
///     v = alpha * v + (1 - alpha) * g * g
///     avg = sqrt(v - mean * mean) + eps, with mean = lerp(mean, g, 1 - alpha)   (centered)
///     avg = sqrt(v) + eps                                                       (otherwise)
///     b = momentum * b + g / avg;  p = p - lr * b     (if momentum > 0)
///     p = p - lr * g / avg                            (otherwise)
template <typename T>
class RMSprop : public OptimizerWithOptions<T, RMSpropOptions> {
 public:
  /// All the given parameters in one group: `RMSprop<double> opt({&lstm, &head}, options)`.
  RMSprop(std::initializer_list<ParameterRef<T>> params, const RMSpropOptions& options = {})
      : RMSprop(std::vector<ParameterRef<T>>(params), options) {}
  RMSprop(const std::vector<ParameterRef<T>>& params, const RMSpropOptions& options = {})
      : RMSprop(std::vector<ParamGroup<T>>{ParamGroup<T>(params)}, options) {}
  /// PyTorch's list of parameter groups, each with its overrides of `options`.
  RMSprop(const std::vector<ParamGroup<T>>& groups, const RMSpropOptions& options)
      : OptimizerWithOptions<T, RMSpropOptions>((options.validate(), groups), options) {}

  // std::fma where ATen fuses `add(alpha=)` and `addcmul` (see AdamImpl): PyTorch's x86 results bit for bit.
  void step() override {
    for (std::size_t g = 0; g < this->num_param_groups(); ++g) {
      const RMSpropOptions& o = this->group_options_[g];
      const T alpha = static_cast<T>(o.alpha()), one_minus_alpha = static_cast<T>(1 - o.alpha());
      const T eps = static_cast<T>(o.eps()), weight_decay = static_cast<T>(o.weight_decay());
      const T momentum = static_cast<T>(o.momentum()), minus_lr = static_cast<T>(-o.lr());
      const bool decay = o.weight_decay() != 0, with_momentum = o.momentum() > 0;
      const bool centered = o.centered(), maximize = o.maximize();
      this->for_each_parameter(g, [&](detail::ParamState<T>& state, T* param, const T* grad, Index size) {
        T* square_avg = this->state_buffer(state, "square_avg", size);
        T* buffer = with_momentum ? this->state_buffer(state, "momentum_buffer", size) : nullptr;
        T* grad_avg = centered ? this->state_buffer(state, "grad_avg", size) : nullptr;
        state.step += 1;
        for (Index j = 0; j < size; ++j) {
          T d = maximize ? -grad[j] : grad[j];
          if (decay) d = std::fma(weight_decay, param[j], d);
          square_avg[j] = square_avg[j] * alpha;
          square_avg[j] = std::fma(one_minus_alpha * d, d, square_avg[j]);
          T avg;
          if (centered) {
            grad_avg[j] = detail::lerp(grad_avg[j], d, one_minus_alpha);
            avg = std::sqrt(std::fma(-grad_avg[j], grad_avg[j], square_avg[j]));
          } else {
            avg = std::sqrt(square_avg[j]);
          }
          avg = avg + eps;
          if (with_momentum) {
            buffer[j] = buffer[j] * momentum;
            buffer[j] = buffer[j] + d / avg;
            param[j] = std::fma(minus_lr, buffer[j], param[j]);
          } else {
            param[j] = param[j] + minus_lr * d / avg;
          }
        }
      });
    }
  }
};

}  // namespace seqnet::optim
