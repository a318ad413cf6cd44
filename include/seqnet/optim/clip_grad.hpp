// SPDX-License-Identifier: MIT
/// @file optim/clip_grad.hpp
/// `clip_grad_norm_` and `clip_grad_value_`: `torch.nn.utils.clip_grad_norm_` / `clip_grad_value_`.
#pragma once

#include <cmath>
#include <initializer_list>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "optimizer.hpp"

namespace seqnet::optim {

namespace detail {

/// Calls `f(gradient, size)` for each parameter `ref` names that has a gradient (a module that never had a
/// gradient buffer has PyTorch's `p.grad is None`). A whole module's parameters are visited without
/// allocating, so a training step that clips allocates nothing.
template <typename T, typename F>
void for_each_gradient(const ParameterRef<T>& ref, F&& f) {
  SEQNET_CHECK(value_error, ref.module != nullptr, "clip_grad: null module");
  if (ref.name.empty()) {
    ref.module->for_each_gradient(f);
  } else if (std::as_const(*ref.module).has_gradients()) {
    Parameter<T> gradient = ref.module->gradient(ref.name);
    f(gradient.data(), gradient.size());
  }
}

/// `for_each_gradient` over every reference of `refs` (ParameterRefs, or module pointers).
template <typename T, typename Refs, typename F>
void for_each_gradient_of(const Refs& refs, F&& f) {
  for (const auto& ref : refs) {
    if constexpr (std::is_same_v<std::decay_t<decltype(ref)>, ParameterRef<T>>) {
      for_each_gradient(ref, f);
    } else {
      for_each_gradient(ParameterRef<T>(ref), f);  // a module pointer: no name to copy
    }
  }
}

/// torch.linalg.vector_norm of 2 or infinity, fed one value at a time and accumulated as ATen's CPU norm
/// does (in double for float): the norm of one gradient, and the norm of those norms.
template <typename T>
class VectorNorm {
 public:
  explicit VectorNorm(bool infinity) : infinity_(infinity) {}
  void add(T value) {
    if (infinity_) {
      const T magnitude = std::abs(value);
      if (std::isnan(magnitude) || std::isnan(largest_)) {
        largest_ = std::numeric_limits<T>::quiet_NaN();  // NaN wins, as in PyTorch
      } else if (magnitude > largest_) {
        largest_ = magnitude;
      }
    } else {
      sum_ += static_cast<Acc>(value) * static_cast<Acc>(value);
    }
  }
  T value() const { return infinity_ ? largest_ : static_cast<T>(std::sqrt(sum_)); }

 private:
  using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;
  bool infinity_;
  Acc sum_ = 0;
  T largest_ = T(0);
};

template <typename T, typename Refs>
void clip_grad_value_of(const Refs& refs, double clip_value) {
  const T high = static_cast<T>(clip_value), low = static_cast<T>(-clip_value);
  for_each_gradient_of<T>(refs, [high, low](T* values, Index size) {
    for (Index j = 0; j < size; ++j) {
      T v = values[j];
      if (v < low) v = low;
      if (v > high) v = high;
      values[j] = v;
    }
  });
}

template <typename T, typename Refs>
T clip_grad_norm_of(const Refs& refs, double max_norm, double norm_type, bool error_if_nonfinite) {
  const bool infinity = std::isinf(norm_type) && norm_type > 0;
  SEQNET_CHECK(value_error, infinity || norm_type == 2.0, "clip_grad_norm_: seqnet supports norm_type 2.0 and inf, not ",
               seqnet::detail::python_float_repr(norm_type));
  // The norm of the per-parameter norms, as PyTorch stacks them (each rounded to T), folded in as they
  // come instead of stacked.
  VectorNorm<T> total_norm(infinity);
  bool any = false;
  detail::for_each_gradient_of<T>(refs, [&](const T* values, Index size) {
    VectorNorm<T> norm(infinity);
    for (Index j = 0; j < size; ++j) norm.add(values[j]);
    total_norm.add(norm.value());
    any = true;
  });
  if (!any) return T(0);
  const T total = total_norm.value();
  SEQNET_CHECK(value_error, !(error_if_nonfinite && !std::isfinite(total)), "The total norm of order ",
               seqnet::detail::python_float_repr(norm_type),
               " for gradients from `parameters` is non-finite, so it cannot be clipped. To disable this error and "
               "scale the gradients by the non-finite norm anyway, set `error_if_nonfinite=False`");
  const T coefficient = T(1) / (total + static_cast<T>(1e-6)) * static_cast<T>(max_norm);
  const T clamped = std::isnan(coefficient) ? coefficient : (coefficient < T(1) ? coefficient : T(1));
  detail::for_each_gradient_of<T>(refs, [clamped](T* values, Index size) {
    for (Index j = 0; j < size; ++j) values[j] = values[j] * clamped;
  });
  return total;
}

}  // namespace detail

/// Scales the gradients so that their total norm is at most `max_norm`, as
/// `torch.nn.utils.clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite)`, and returns the
/// total norm before clipping. The total is the norm of the per-parameter norms; the gradients are
/// multiplied by `min(1, max_norm / (total + 1e-6))` (PyTorch computes it as `reciprocal(total + 1e-6) *
/// max_norm` and multiplies even when it is 1). `norm_type` is 2 or infinity
/// (`std::numeric_limits<double>::infinity()`); other values throw `value_error`. With error_if_nonfinite,
/// a NaN or infinite total throws `value_error` with PyTorch's message and leaves the gradients alone.
/// Over whole modules (`{&lstm, &head}`) it allocates nothing.
template <typename T>
T clip_grad_norm_(const std::vector<ParameterRef<T>>& params, double max_norm, double norm_type = 2.0,
                  bool error_if_nonfinite = false) {
  return detail::clip_grad_norm_of<T>(params, max_norm, norm_type, error_if_nonfinite);
}

/// `clip_grad_norm_` over all parameters of the given modules: `clip_grad_norm_({&lstm, &head}, 1.0)`.
template <typename T>
T clip_grad_norm_(std::initializer_list<Module<T>*> modules, double max_norm, double norm_type = 2.0,
                  bool error_if_nonfinite = false) {
  return detail::clip_grad_norm_of<T>(modules, max_norm, norm_type, error_if_nonfinite);
}

/// Clamps every gradient to `[-clip_value, clip_value]` (NaN stays NaN), as
/// `torch.nn.utils.clip_grad_value_`.
template <typename T>
void clip_grad_value_(const std::vector<ParameterRef<T>>& params, double clip_value) {
  detail::clip_grad_value_of<T>(params, clip_value);
}

/// `clip_grad_value_` over all parameters of the given modules.
template <typename T>
void clip_grad_value_(std::initializer_list<Module<T>*> modules, double clip_value) {
  detail::clip_grad_value_of<T>(modules, clip_value);
}

}  // namespace seqnet::optim
