// SPDX-License-Identifier: MIT
/// @file optim/adagrad.hpp
/// `Adagrad<T>`: `torch.optim.Adagrad` (single-tensor algorithm, dense gradients).
#pragma once

#include <cmath>
#include <initializer_list>
#include <vector>

#include "../options.hpp"
#include "optimizer.hpp"

namespace seqnet::optim {

/// Options of `Adagrad<T>`, with `torch.optim.Adagrad`'s defaults.
struct AdagradOptions {
  SEQNET_ARG(double, lr) = 1e-2;
  /// The step-t learning rate is `lr / (1 + (t - 1) * lr_decay)`. Default: 0
  SEQNET_ARG(double, lr_decay) = 0.0;
  SEQNET_ARG(double, weight_decay) = 0.0;
  /// The value the sum of squared gradients starts from. Default: 0
  SEQNET_ARG(double, initial_accumulator_value) = 0.0;
  SEQNET_ARG(double, eps) = 1e-10;
  SEQNET_ARG(bool, maximize) = false;

 public:
  void validate() const {
    using seqnet::detail::python_float_repr;
    SEQNET_CHECK(value_error, 0.0 <= lr(), "Invalid learning rate: ", python_float_repr(lr()));
    SEQNET_CHECK(value_error, 0.0 <= lr_decay(), "Invalid lr_decay value: ", python_float_repr(lr_decay()));
    SEQNET_CHECK(value_error, 0.0 <= weight_decay(), "Invalid weight_decay value: ", python_float_repr(weight_decay()));
    SEQNET_CHECK(value_error, 0.0 <= initial_accumulator_value(), "Invalid initial_accumulator_value value: ",
                 python_float_repr(initial_accumulator_value()));
    SEQNET_CHECK(value_error, 0.0 <= eps(), "Invalid epsilon value: ", python_float_repr(eps()));
  }

  template <typename T>
  static AdagradOptions merged(const ParamGroup<T>& group, AdagradOptions options) {
    if (group.lr()) options.lr(*group.lr());
    if (group.lr_decay()) options.lr_decay(*group.lr_decay());
    if (group.weight_decay()) options.weight_decay(*group.weight_decay());
    if (group.initial_accumulator_value()) options.initial_accumulator_value(*group.initial_accumulator_value());
    if (group.eps()) options.eps(*group.eps());
    if (group.maximize()) options.maximize(*group.maximize());
    detail::reject_override(group.momentum(), "Adagrad", "momentum");
    detail::reject_override(group.dampening(), "Adagrad", "dampening");
    detail::reject_override(group.nesterov(), "Adagrad", "nesterov");
    detail::reject_override(group.betas(), "Adagrad", "betas");
    detail::reject_override(group.amsgrad(), "Adagrad", "amsgrad");
    detail::reject_override(group.alpha(), "Adagrad", "alpha");
    detail::reject_override(group.centered(), "Adagrad", "centered");
    return options;
  }

  std::vector<Hyperparameter> hyperparameters() const {
    return {{"lr", {lr()}},
            {"lr_decay", {lr_decay()}},
            {"eps", {eps()}},
            {"weight_decay", {weight_decay()}},
            {"initial_accumulator_value", {initial_accumulator_value()}},
            {"maximize", {maximize() ? 1.0 : 0.0}}};
  }
  static AdagradOptions from_hyperparameters(const std::vector<Hyperparameter>& values, AdagradOptions options) {
    using detail::hyperparameter;
    return options.lr(hyperparameter(values, "lr")[0])
        .lr_decay(hyperparameter(values, "lr_decay")[0])
        .eps(hyperparameter(values, "eps")[0])
        .weight_decay(hyperparameter(values, "weight_decay")[0])
        .initial_accumulator_value(hyperparameter(values, "initial_accumulator_value")[0])
        .maximize(hyperparameter(values, "maximize")[0] != 0.0);
  }
  std::vector<const char*> state_names() const { return {"sum"}; }
};

/// Adagrad, `torch.optim.Adagrad`. Per parameter, with g the gradient (negated when maximizing) and t the
/// step:
///
///     g = g + weight_decay * p                  (if weight_decay != 0)
///     s = s + g * g                             (s starts at initial_accumulator_value)
///     p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)
///
/// As in PyTorch, the state (`step` 0 and `sum`) exists from construction on, and every `sum` starts at
/// the constructor's `initial_accumulator_value`: PyTorch ignores a group's own value.
template <typename T>
class Adagrad : public OptimizerWithOptions<T, AdagradOptions> {
 public:
  /// All the given parameters in one group: `Adagrad<double> opt({&lstm, &head}, options)`.
  Adagrad(std::initializer_list<ParameterRef<T>> params, const AdagradOptions& options = {})
      : Adagrad(std::vector<ParameterRef<T>>(params), options) {}
  Adagrad(const std::vector<ParameterRef<T>>& params, const AdagradOptions& options = {})
      : Adagrad(std::vector<ParamGroup<T>>{ParamGroup<T>(params)}, options) {}
  /// PyTorch's list of parameter groups, each with its overrides of `options`.
  Adagrad(const std::vector<ParamGroup<T>>& groups, const AdagradOptions& options)
      : OptimizerWithOptions<T, AdagradOptions>((options.validate(), groups), options) {
    for (std::size_t g = 0; g < this->num_param_groups(); ++g)
      for (std::size_t i = this->group_begin_[g]; i < this->group_begin_[g + 1]; ++i)
        this->initialize_state(i, g, static_cast<T>(options.initial_accumulator_value()));
  }

  // std::fma where ATen fuses `add(alpha=)` and `addcmul` (see AdamImpl): PyTorch's x86 results bit for bit.
  void step() override {
    for (std::size_t g = 0; g < this->num_param_groups(); ++g) {
      const AdagradOptions& o = this->group_options_[g];
      const double lr = o.lr(), lr_decay = o.lr_decay();
      const T eps = static_cast<T>(o.eps()), weight_decay = static_cast<T>(o.weight_decay());
      const bool decay = o.weight_decay() != 0, maximize = o.maximize();
      this->for_each_parameter(g, [&](detail::ParamState<T>& state, T* param, const T* grad, Index size) {
        T* sum = this->state_buffer(state, "sum", size);
        state.step += 1;
        const T minus_clr = static_cast<T>(-(lr / (1 + (state.step - 1) * lr_decay)));
        for (Index j = 0; j < size; ++j) {
          T d = maximize ? -grad[j] : grad[j];
          if (decay) d = std::fma(weight_decay, param[j], d);
          sum[j] = std::fma(d, d, sum[j]);
          const T std_dev = std::sqrt(sum[j]) + eps;
          param[j] = param[j] + minus_clr * d / std_dev;
        }
      });
    }
  }
};

}  // namespace seqnet::optim
