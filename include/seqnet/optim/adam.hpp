// SPDX-License-Identifier: MIT
/// @file optim/adam.hpp
/// `Adam<T>` and `AdamW<T>`: `torch.optim.Adam` and `torch.optim.AdamW` (single-tensor algorithm).
#pragma once

#include <cmath>
#include <initializer_list>
#include <vector>

#include "../options.hpp"
#include "optimizer.hpp"

namespace seqnet::optim {

namespace detail {

/// The options Adam and AdamW share; `Derived` is the options struct (for the chained setters' type).
template <typename Derived>
struct AdamOptionsBase {
  static void validate_common(const Derived& o) {
    using seqnet::detail::python_float_repr;
    SEQNET_CHECK(value_error, 0.0 <= o.lr(), "Invalid learning rate: ", python_float_repr(o.lr()));
    SEQNET_CHECK(value_error, 0.0 <= o.eps(), "Invalid epsilon value: ", python_float_repr(o.eps()));
    SEQNET_CHECK(value_error, 0.0 <= o.betas().first && o.betas().first < 1.0,
                 "Invalid beta parameter at index 0: ", python_float_repr(o.betas().first));
    SEQNET_CHECK(value_error, 0.0 <= o.betas().second && o.betas().second < 1.0,
                 "Invalid beta parameter at index 1: ", python_float_repr(o.betas().second));
    SEQNET_CHECK(value_error, 0.0 <= o.weight_decay(), "Invalid weight_decay value: ",
                 python_float_repr(o.weight_decay()));
  }

  template <typename T>
  static Derived merged_common(const ParamGroup<T>& group, Derived options, const char* name) {
    if (group.lr()) options.lr(*group.lr());
    if (group.betas()) options.betas(*group.betas());
    if (group.eps()) options.eps(*group.eps());
    if (group.weight_decay()) options.weight_decay(*group.weight_decay());
    if (group.amsgrad()) options.amsgrad(*group.amsgrad());
    if (group.maximize()) options.maximize(*group.maximize());
    reject_override(group.momentum(), name, "momentum");
    reject_override(group.dampening(), name, "dampening");
    reject_override(group.nesterov(), name, "nesterov");
    reject_override(group.alpha(), name, "alpha");
    reject_override(group.centered(), name, "centered");
    reject_override(group.lr_decay(), name, "lr_decay");
    reject_override(group.initial_accumulator_value(), name, "initial_accumulator_value");
    return options;
  }

  static std::vector<Hyperparameter> hyperparameters_common(const Derived& o) {
    return {{"lr", {o.lr()}},
            {"betas", {o.betas().first, o.betas().second}},
            {"eps", {o.eps()}},
            {"weight_decay", {o.weight_decay()}},
            {"amsgrad", {o.amsgrad() ? 1.0 : 0.0}},
            {"maximize", {o.maximize() ? 1.0 : 0.0}}};
  }
  static Derived from_hyperparameters_common(const std::vector<Hyperparameter>& values, Derived options) {
    const std::vector<double>& betas = hyperparameter(values, "betas");
    return options.lr(hyperparameter(values, "lr")[0])
        .betas(Betas(betas[0], betas[1]))
        .eps(hyperparameter(values, "eps")[0])
        .weight_decay(hyperparameter(values, "weight_decay")[0])
        .amsgrad(hyperparameter(values, "amsgrad")[0] != 0.0)
        .maximize(hyperparameter(values, "maximize")[0] != 0.0);
  }
  static std::vector<const char*> state_names_common(const Derived& o) {
    if (o.amsgrad()) return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    return {"exp_avg", "exp_avg_sq"};
  }
};

}  // namespace detail

/// Options of `Adam<T>`, with `torch.optim.Adam`'s defaults.
struct AdamOptions : detail::AdamOptionsBase<AdamOptions> {
  SEQNET_ARG(double, lr) = 1e-3;
  SEQNET_ARG(Betas, betas) = Betas(0.9, 0.999);
  SEQNET_ARG(double, eps) = 1e-8;
  /// L2 penalty added to the gradient (or, with decoupled_weight_decay, AdamW's decay). Default: 0
  SEQNET_ARG(double, weight_decay) = 0.0;
  /// The AMSGrad variant: normalise by the running maximum of the second moment. Default: false
  SEQNET_ARG(bool, amsgrad) = false;
  SEQNET_ARG(bool, maximize) = false;
  /// Decay the parameters directly (what AdamW does) instead of adding to the gradient. Default: false
  SEQNET_ARG(bool, decoupled_weight_decay) = false;

 public:
  void validate() const { validate_common(*this); }
  template <typename T>
  static AdamOptions merged(const ParamGroup<T>& group, const AdamOptions& options) {
    return merged_common(group, options, "Adam");
  }
  std::vector<Hyperparameter> hyperparameters() const {
    std::vector<Hyperparameter> out = hyperparameters_common(*this);
    out.push_back({"decoupled_weight_decay", {decoupled_weight_decay() ? 1.0 : 0.0}});
    return out;
  }
  static AdamOptions from_hyperparameters(const std::vector<Hyperparameter>& values, const AdamOptions& options) {
    return from_hyperparameters_common(values, options)
        .decoupled_weight_decay(detail::hyperparameter(values, "decoupled_weight_decay")[0] != 0.0);
  }
  std::vector<const char*> state_names() const { return state_names_common(*this); }
};

/// Options of `AdamW<T>`, with `torch.optim.AdamW`'s defaults (weight_decay 0.01).
struct AdamWOptions : detail::AdamOptionsBase<AdamWOptions> {
  SEQNET_ARG(double, lr) = 1e-3;
  SEQNET_ARG(Betas, betas) = Betas(0.9, 0.999);
  SEQNET_ARG(double, eps) = 1e-8;
  /// Decoupled weight decay: `p = p * (1 - lr * weight_decay)` before the Adam step. Default: 0.01
  SEQNET_ARG(double, weight_decay) = 1e-2;
  SEQNET_ARG(bool, amsgrad) = false;
  SEQNET_ARG(bool, maximize) = false;

 public:
  static constexpr bool decoupled_weight_decay() noexcept { return true; }
  void validate() const { validate_common(*this); }
  template <typename T>
  static AdamWOptions merged(const ParamGroup<T>& group, const AdamWOptions& options) {
    return merged_common(group, options, "AdamW");
  }
  std::vector<Hyperparameter> hyperparameters() const { return hyperparameters_common(*this); }
  static AdamWOptions from_hyperparameters(const std::vector<Hyperparameter>& values, const AdamWOptions& options) {
    return from_hyperparameters_common(values, options);
  }
  std::vector<const char*> state_names() const { return state_names_common(*this); }
};

namespace detail {

/// Adam's step (`_single_tensor_adam`, the non-capturable branch), operation for operation: the bias
/// corrections are Python floats (`beta ** step`, `bias_correction2 ** 0.5`), every tensor operation
/// rounds to `T`, and the update is `p + (-step_size * m) / (sqrt(v) / sqrt(bc2) + eps)`, addcdiv's order.
/// Where ATen's CPU kernels fuse a multiply-add (`add(alpha=)`, `addcmul`, `lerp`: Vectorized `fmadd`,
/// and the compiler contracts the scalar tails the same way), seqnet calls std::fma, which reproduces
/// PyTorch's x86 results bit for bit.
template <typename T, typename Options>
class AdamImpl : public OptimizerWithOptions<T, Options> {
 public:
  void step() override {
    for (std::size_t g = 0; g < this->num_param_groups(); ++g) {
      const Options& o = this->group_options_[g];
      const double lr = o.lr(), beta1 = o.betas().first, beta2 = o.betas().second;
      const bool decay = o.weight_decay() != 0, decoupled = o.decoupled_weight_decay();
      const T weight_decay = static_cast<T>(o.weight_decay());
      const T decoupled_factor = static_cast<T>(1 - lr * o.weight_decay());
      const T one_minus_beta1 = static_cast<T>(1 - beta1), one_minus_beta2 = static_cast<T>(1 - beta2);
      const T beta2_t = static_cast<T>(beta2), eps = static_cast<T>(o.eps());
      const bool amsgrad = o.amsgrad(), maximize = o.maximize();
      this->for_each_parameter(g, [&](ParamState<T>& state, T* param, const T* grad, Index size) {
        T* exp_avg = this->state_buffer(state, "exp_avg", size);
        T* exp_avg_sq = this->state_buffer(state, "exp_avg_sq", size);
        T* max_exp_avg_sq = amsgrad ? this->state_buffer(state, "max_exp_avg_sq", size) : nullptr;
        state.step += 1;
        const double bias_correction1 = 1 - std::pow(beta1, state.step);
        const double bias_correction2 = 1 - std::pow(beta2, state.step);
        const T minus_step_size = static_cast<T>(-(lr / bias_correction1));
        const T bias_correction2_sqrt = static_cast<T>(std::pow(bias_correction2, 0.5));
        for (Index j = 0; j < size; ++j) {
          T d = maximize ? -grad[j] : grad[j];
          if (decay) {
            if (decoupled) {
              param[j] = param[j] * decoupled_factor;
            } else {
              d = std::fma(weight_decay, param[j], d);
            }
          }
          exp_avg[j] = lerp(exp_avg[j], d, one_minus_beta1);
          exp_avg_sq[j] = exp_avg_sq[j] * beta2_t;
          exp_avg_sq[j] = std::fma(one_minus_beta2 * d, d, exp_avg_sq[j]);
          T second = exp_avg_sq[j];
          if (amsgrad) second = max_exp_avg_sq[j] = maximum(max_exp_avg_sq[j], exp_avg_sq[j]);
          const T denom = std::sqrt(second) / bias_correction2_sqrt + eps;
          param[j] = param[j] + minus_step_size * exp_avg[j] / denom;
        }
      });
    }
  }

 protected:
  AdamImpl(const std::vector<ParamGroup<T>>& groups, const Options& options)
      : OptimizerWithOptions<T, Options>((options.validate(), groups), options) {}
};

}  // namespace detail

/// Adam, `torch.optim.Adam`. Per parameter, with g the gradient (negated when maximizing) and t the step:
///
///     g = g + weight_decay * p            (or p = p * (1 - lr * weight_decay) if decoupled_weight_decay)
///     m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
///     v_max = max(v_max, v)               (if amsgrad; v_max replaces v below)
///     p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
///
/// Example: `Adam<double> adam({&lstm, &head}, AdamOptions().lr(1e-3));`
template <typename T>
class Adam : public detail::AdamImpl<T, AdamOptions> {
 public:
  /// All the given parameters in one group: `Adam<double> opt({&lstm, &head}, options)`.
  Adam(std::initializer_list<ParameterRef<T>> params, const AdamOptions& options = {})
      : Adam(std::vector<ParameterRef<T>>(params), options) {}
  Adam(const std::vector<ParameterRef<T>>& params, const AdamOptions& options = {})
      : Adam(std::vector<ParamGroup<T>>{ParamGroup<T>(params)}, options) {}
  /// PyTorch's list of parameter groups, each with its overrides of `options`.
  Adam(const std::vector<ParamGroup<T>>& groups, const AdamOptions& options)
      : detail::AdamImpl<T, AdamOptions>(groups, options) {}
};

/// AdamW, `torch.optim.AdamW`: Adam with decoupled weight decay (`p = p * (1 - lr * weight_decay)` before
/// the Adam update), weight_decay 0.01 by default.
template <typename T>
class AdamW : public detail::AdamImpl<T, AdamWOptions> {
 public:
  /// All the given parameters in one group: `AdamW<double> opt({&lstm, &head}, options)`.
  AdamW(std::initializer_list<ParameterRef<T>> params, const AdamWOptions& options = {})
      : AdamW(std::vector<ParameterRef<T>>(params), options) {}
  AdamW(const std::vector<ParameterRef<T>>& params, const AdamWOptions& options = {})
      : AdamW(std::vector<ParamGroup<T>>{ParamGroup<T>(params)}, options) {}
  /// PyTorch's list of parameter groups, each with its overrides of `options`.
  AdamW(const std::vector<ParamGroup<T>>& groups, const AdamWOptions& options)
      : detail::AdamImpl<T, AdamWOptions>(groups, options) {}
};

}  // namespace seqnet::optim
