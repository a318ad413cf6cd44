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

/// The gradient of every referenced parameter that has one (a module that never had a gradient buffer
/// has PyTorch's `p.grad is None`), as (pointer, size) pairs.
template <typename T>
std::vector<std::pair<T*, Index>> gradients_of(const std::vector<ParameterRef<T>>& params) {
  std::vector<std::pair<T*, Index>> out;
  for (const auto& ref : params) {
    SEQNET_CHECK(value_error, ref.module != nullptr, "clip_grad: null module");
    if (!std::as_const(*ref.module).has_gradients()) continue;
    if (ref.name.empty()) {
      for (auto& [name, gradient] : ref.module->named_gradients()) out.emplace_back(gradient.data(), gradient.size());
    } else {
      Parameter<T> gradient = ref.module->gradient(ref.name);
      out.emplace_back(gradient.data(), gradient.size());
    }
  }
  return out;
}

/// torch.linalg.vector_norm of one tensor, accumulated as ATen's CPU norm does (in double for float).
template <typename T>
T vector_norm(const T* values, Index size, bool infinity) {
  using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;
  if (infinity) {
    T largest = T(0);
    for (Index j = 0; j < size; ++j) {
      const T magnitude = std::abs(values[j]);
      if (std::isnan(magnitude)) return magnitude;
      if (magnitude > largest) largest = magnitude;
    }
    return largest;
  }
  Acc sum = 0;
  for (Index j = 0; j < size; ++j) sum += static_cast<Acc>(values[j]) * static_cast<Acc>(values[j]);
  return static_cast<T>(std::sqrt(sum));
}

}  // namespace detail

/// Scales the gradients so that their total norm is at most `max_norm`, as
/// `torch.nn.utils.clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite)`, and returns the
/// total norm before clipping. The total is the norm of the per-parameter norms; the gradients are
/// multiplied by `min(1, max_norm / (total + 1e-6))` (PyTorch computes it as `reciprocal(total + 1e-6) *
/// max_norm` and multiplies even when it is 1). `norm_type` is 2 or infinity
/// (`std::numeric_limits<double>::infinity()`); other values throw `value_error`. With error_if_nonfinite,
/// a NaN or infinite total throws `value_error` with PyTorch's message and leaves the gradients alone.
template <typename T>
T clip_grad_norm_(const std::vector<ParameterRef<T>>& params, double max_norm, double norm_type = 2.0,
                  bool error_if_nonfinite = false) {
  const bool infinity = std::isinf(norm_type) && norm_type > 0;
  SEQNET_CHECK(value_error, infinity || norm_type == 2.0, "clip_grad_norm_: seqnet supports norm_type 2.0 and inf, not ",
               seqnet::detail::python_float_repr(norm_type));
  const auto gradients = detail::gradients_of(params);
  if (gradients.empty()) return T(0);
  std::vector<T> norms;
  norms.reserve(gradients.size());
  for (const auto& [values, size] : gradients) norms.push_back(detail::vector_norm(values, size, infinity));
  const T total = detail::vector_norm(norms.data(), static_cast<Index>(norms.size()), infinity);
  SEQNET_CHECK(value_error, !(error_if_nonfinite && !std::isfinite(total)), "The total norm of order ",
               seqnet::detail::python_float_repr(norm_type),
               " for gradients from `parameters` is non-finite, so it cannot be clipped. To disable this error and "
               "scale the gradients by the non-finite norm anyway, set `error_if_nonfinite=False`");
  const T coefficient = T(1) / (total + static_cast<T>(1e-6)) * static_cast<T>(max_norm);
  const T clamped = std::isnan(coefficient) ? coefficient : (coefficient < T(1) ? coefficient : T(1));
  for (const auto& [values, size] : gradients)
    for (Index j = 0; j < size; ++j) values[j] = values[j] * clamped;
  return total;
}

/// `clip_grad_norm_` over all parameters of the given modules: `clip_grad_norm_({&lstm, &head}, 1.0)`.
template <typename T>
T clip_grad_norm_(std::initializer_list<Module<T>*> modules, double max_norm, double norm_type = 2.0,
                  bool error_if_nonfinite = false) {
  return clip_grad_norm_(std::vector<ParameterRef<T>>(modules.begin(), modules.end()), max_norm, norm_type,
                         error_if_nonfinite);
}

/// Clamps every gradient to `[-clip_value, clip_value]` (NaN stays NaN), as
/// `torch.nn.utils.clip_grad_value_`.
template <typename T>
void clip_grad_value_(const std::vector<ParameterRef<T>>& params, double clip_value) {
  const T high = static_cast<T>(clip_value), low = static_cast<T>(-clip_value);
  for (const auto& [values, size] : detail::gradients_of(params))
    for (Index j = 0; j < size; ++j) {
      T v = values[j];
      if (v < low) v = low;
      if (v > high) v = high;
      values[j] = v;
    }
}

/// `clip_grad_value_` over all parameters of the given modules.
template <typename T>
void clip_grad_value_(std::initializer_list<Module<T>*> modules, double clip_value) {
  clip_grad_value_(std::vector<ParameterRef<T>>(modules.begin(), modules.end()), clip_value);
}

}  // namespace seqnet::optim
