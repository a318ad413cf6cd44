// SPDX-License-Identifier: MIT
/// @file optim/sgd.hpp
/// `SGD<T>`: `torch.optim.SGD` (single-tensor algorithm).
#pragma once

#include <cmath>
#include <initializer_list>
#include <vector>

#include "../options.hpp"
#include "optimizer.hpp"

namespace seqnet::optim {

/// Options of `SGD<T>`, with `torch.optim.SGD`'s defaults.
struct SGDOptions {
  SEQNET_ARG(double, lr) = 1e-3;
  SEQNET_ARG(double, momentum) = 0.0;
  SEQNET_ARG(double, dampening) = 0.0;
  SEQNET_ARG(double, weight_decay) = 0.0;
  SEQNET_ARG(bool, nesterov) = false;
  /// Maximize the objective (step along the gradient). Default: false
  SEQNET_ARG(bool, maximize) = false;

 public:
  /// PyTorch's constructor checks, with its messages.
  void validate() const {
    using seqnet::detail::python_float_repr;
    SEQNET_CHECK(value_error, !(lr() < 0.0), "Invalid learning rate: ", python_float_repr(lr()));
    SEQNET_CHECK(value_error, !(momentum() < 0.0), "Invalid momentum value: ", python_float_repr(momentum()));
    SEQNET_CHECK(value_error, !(weight_decay() < 0.0), "Invalid weight_decay value: ",
                 python_float_repr(weight_decay()));
    SEQNET_CHECK(value_error, !(nesterov() && (momentum() <= 0 || dampening() != 0)),
                 "Nesterov momentum requires a momentum and zero dampening");
  }

  template <typename T>
  static SGDOptions merged(const ParamGroup<T>& group, SGDOptions options) {
    if (group.lr()) options.lr(*group.lr());
    if (group.momentum()) options.momentum(*group.momentum());
    if (group.dampening()) options.dampening(*group.dampening());
    if (group.weight_decay()) options.weight_decay(*group.weight_decay());
    if (group.nesterov()) options.nesterov(*group.nesterov());
    if (group.maximize()) options.maximize(*group.maximize());
    detail::reject_override(group.betas(), "SGD", "betas");
    detail::reject_override(group.eps(), "SGD", "eps");
    detail::reject_override(group.amsgrad(), "SGD", "amsgrad");
    detail::reject_override(group.alpha(), "SGD", "alpha");
    detail::reject_override(group.centered(), "SGD", "centered");
    detail::reject_override(group.lr_decay(), "SGD", "lr_decay");
    detail::reject_override(group.initial_accumulator_value(), "SGD", "initial_accumulator_value");
    return options;
  }

  std::vector<Hyperparameter> hyperparameters() const {
    return {{"lr", {lr()}},
            {"momentum", {momentum()}},
            {"dampening", {dampening()}},
            {"weight_decay", {weight_decay()}},
            {"nesterov", {nesterov() ? 1.0 : 0.0}},
            {"maximize", {maximize() ? 1.0 : 0.0}}};
  }
  static SGDOptions from_hyperparameters(const std::vector<Hyperparameter>& values, SGDOptions options) {
    using detail::hyperparameter;
    return options.lr(hyperparameter(values, "lr")[0])
        .momentum(hyperparameter(values, "momentum")[0])
        .dampening(hyperparameter(values, "dampening")[0])
        .weight_decay(hyperparameter(values, "weight_decay")[0])
        .nesterov(hyperparameter(values, "nesterov")[0] != 0.0)
        .maximize(hyperparameter(values, "maximize")[0] != 0.0);
  }
  /// PyTorch keeps a momentum buffer only when momentum is not 0.
  std::vector<const char*> state_names() const {
    if (momentum() != 0.0) return {"momentum_buffer"};
    return {};
  }
};

/// Stochastic gradient descent, optionally with momentum, `torch.optim.SGD`. Per parameter, with g the
/// gradient (negated when maximizing):
///
///     g = g + weight_decay * p                       (if weight_decay != 0)
///     b = g at the first step, else momentum * b + (1 - dampening) * g   (if momentum != 0)
///     g = g + momentum * b if nesterov, else b       (if momentum != 0)
///     p = p - lr * g
///
/// Example: `SGD<double> sgd({&lstm, &head}, SGDOptions().lr(0.1).momentum(0.9));`
template <typename T>
class SGD : public OptimizerWithOptions<T, SGDOptions> {
 public:
  /// All the given parameters in one group: `SGD<double> opt({&lstm, &head}, options)`.
  SGD(std::initializer_list<ParameterRef<T>> params, const SGDOptions& options = {})
      : SGD(std::vector<ParameterRef<T>>(params), options) {}
  SGD(const std::vector<ParameterRef<T>>& params, const SGDOptions& options = {})
      : SGD(std::vector<ParamGroup<T>>{ParamGroup<T>(params)}, options) {}
  /// PyTorch's list of parameter groups, each with its overrides of `options`.
  SGD(const std::vector<ParamGroup<T>>& groups, const SGDOptions& options)
      : OptimizerWithOptions<T, SGDOptions>((options.validate(), groups), options) {}

  // std::fma where ATen fuses `add(alpha=)` (see AdamImpl): PyTorch's x86 results bit for bit.
  void step() override {
    for (std::size_t g = 0; g < this->num_param_groups(); ++g) {
      const SGDOptions& o = this->group_options_[g];
      const T weight_decay = static_cast<T>(o.weight_decay()), momentum = static_cast<T>(o.momentum());
      const T one_minus_dampening = static_cast<T>(1 - o.dampening()), minus_lr = static_cast<T>(-o.lr());
      const bool decay = o.weight_decay() != 0, with_momentum = o.momentum() != 0;
      const bool nesterov = o.nesterov(), maximize = o.maximize();
      this->for_each_parameter(g, [&](detail::ParamState<T>& state, T* param, const T* grad, Index size) {
        if (with_momentum && state.names.empty()) {
          // Momentum set after the first steps: PyTorch starts the buffer then (its state has none yet).
          state.names = {"momentum_buffer"};
          state.buffers.assign(static_cast<std::size_t>(size), T(0));
          state.fresh = true;
        }
        T* buffer = with_momentum ? this->state_buffer(state, "momentum_buffer", size) : nullptr;
        const bool first = state.fresh;
        for (Index j = 0; j < size; ++j) {
          T d = maximize ? -grad[j] : grad[j];
          if (decay) d = std::fma(weight_decay, param[j], d);
          if (with_momentum) {
            buffer[j] = first ? d : std::fma(one_minus_dampening, d, buffer[j] * momentum);
            d = nesterov ? std::fma(momentum, buffer[j], d) : buffer[j];
          }
          param[j] = std::fma(minus_lr, d, param[j]);
        }
      });
    }
  }

 protected:
  bool has_step_count() const noexcept override { return false; }
};

}  // namespace seqnet::optim
