// SPDX-License-Identifier: MIT
/// @file activation.hpp
/// PyTorch's activations, as functions (`torch.nn.functional`: `relu(x)`, `gelu(x, "tanh")`,
/// `softmax(x, 1)`) and as modules (`torch.nn`: `ReLU<T>`, `GELU<T>("tanh")`, `Softmax<T>(1)`), on tensors
/// of any rank. The modules have no parameters; their reprs are PyTorch's.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "detail/util/format.hpp"
#include "errors.hpp"
#include "module.hpp"
#include "tensor.hpp"
#include "tensor_ops.hpp"

namespace seqnet {

namespace detail {

// One definition per activation, element by element: the functions below and the modules' `forward_into`
// both apply these.
template <typename T>
T relu_value(T v) {
  return v > T(0) || v != v ? v : T(0);  // NaN stays NaN, as in PyTorch
}
template <typename T>
T leaky_relu_value(T v, T slope) {
  return v > T(0) ? v : v * slope;
}
template <typename T>
T sigmoid_value(T v) {
  return T(1) / (T(1) + std::exp(-v));
}
template <typename T>
T silu_value(T v) {
  return v / (T(1) + std::exp(-v));
}
template <typename T>
T gelu_value(T v, bool tanh_approximation) {
  if (tanh_approximation) {
    const T k = static_cast<T>(0.79788456080286535587989211986876);  // sqrt(2 / pi)
    return T(0.5) * v * (T(1) + std::tanh(k * (v + T(0.044715) * v * v * v)));
  }
  const T r = static_cast<T>(0.70710678118654752440084436210485);  // 1 / sqrt(2)
  return T(0.5) * v * (T(1) + std::erf(v * r));
}

}  // namespace detail

/// `F.relu(x)`: max(x, 0) element-wise (NaN stays NaN, as in PyTorch).
template <typename T, int R>
Tensor<T, R> relu(const Tensor<T, R>& x) {
  return detail::map_elements(x, [](T v) { return detail::relu_value(v); });
}
/// `F.leaky_relu(x, negative_slope)`: x for x > 0, negative_slope * x otherwise.
template <typename T, int R>
Tensor<T, R> leaky_relu(const Tensor<T, R>& x, double negative_slope = 0.01) {
  const T slope = static_cast<T>(negative_slope);
  return detail::map_elements(x, [slope](T v) { return detail::leaky_relu_value(v, slope); });
}
/// `torch.sigmoid(x)`: 1 / (1 + exp(-x)).
template <typename T, int R>
Tensor<T, R> sigmoid(const Tensor<T, R>& x) {
  return detail::map_elements(x, [](T v) { return detail::sigmoid_value(v); });
}
/// `torch.tanh(x)`.
template <typename T, int R>
Tensor<T, R> tanh(const Tensor<T, R>& x) {
  return detail::map_elements(x, [](T v) { return std::tanh(v); });
}
/// `F.silu(x)`: x * sigmoid(x).
template <typename T, int R>
Tensor<T, R> silu(const Tensor<T, R>& x) {
  return detail::map_elements(x, [](T v) { return detail::silu_value(v); });
}

namespace detail {

/// GELU's `approximate` argument, checked with PyTorch's text.
inline bool gelu_uses_tanh(const std::string& approximate) {
  SEQNET_CHECK(value_error, approximate == "none" || approximate == "tanh",
               "approximate argument must be either none or tanh.");
  return approximate == "tanh";
}

}  // namespace detail

/// `F.gelu(x, approximate)`: `"none"` (default) is x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)); `"tanh"` is
/// 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))). Another string throws `value_error` with PyTorch's
/// text, `approximate argument must be either none or tanh.`
template <typename T, int R>
Tensor<T, R> gelu(const Tensor<T, R>& x, const std::string& approximate = "none") {
  const bool tanh_approximation = detail::gelu_uses_tanh(approximate);
  return detail::map_elements(x, [tanh_approximation](T v) { return detail::gelu_value(v, tanh_approximation); });
}

namespace detail {

/// Softmax (or log-softmax) over dimension `dim` of `x`, max-subtracted as PyTorch computes it.
/// `y` may be `x` itself: each element is read before it is written.
template <typename T, int R>
void softmax_over_into(const Tensor<T, R>& x, Tensor<T, R>& y, Index dim, bool log) {
  dim = wrap_dim(dim, R);
  if (&y != &x) y.resize(x.dimensions());
  if (x.size() == 0) return;
  const Index size = R == 0 ? 1 : x.dimension(R == 0 ? 0 : dim);
  Index outer = 1, inner = 1;
  if constexpr (R > 0) split_at(x.dimensions(), R, dim, outer, inner);
  for (Index o = 0; o < outer; ++o) {
    for (Index i = 0; i < inner; ++i) {
      const T* in = x.data() + o * size * inner + i;
      T* out = y.data() + o * size * inner + i;
      T max = -std::numeric_limits<T>::infinity();
      for (Index k = 0; k < size; ++k) max = std::max(max, in[k * inner]);
      T sum = 0;
      for (Index k = 0; k < size; ++k) {
        const T e = std::exp(in[k * inner] - max);
        if (!log) out[k * inner] = e;
        sum += e;
      }
      if (log) {
        const T shift = max + std::log(sum);
        for (Index k = 0; k < size; ++k) out[k * inner] = in[k * inner] - shift;
      } else {
        for (Index k = 0; k < size; ++k) out[k * inner] /= sum;
      }
    }
  }
}

}  // namespace detail

/// `F.softmax(x, dim)`: exp(x) / sum(exp(x)) along `dim` (negative counts from the end). `dim` is required:
/// PyTorch's implicit choice for `dim=None` is deprecated. Out of range: PyTorch's `index_error`.
template <typename T, int R>
Tensor<T, R> softmax(const Tensor<T, R>& x, Index dim) {
  Tensor<T, R> y;
  detail::softmax_over_into(x, y, dim, false);
  return y;
}
/// `F.log_softmax(x, dim)`: x - log(sum(exp(x))) along `dim`, without forming the softmax.
template <typename T, int R>
Tensor<T, R> log_softmax(const Tensor<T, R>& x, Index dim) {
  Tensor<T, R> y;
  detail::softmax_over_into(x, y, dim, true);
  return y;
}

namespace detail {

/// Base of the parameterless element-wise modules: `operator()` on any rank calls `Derived::apply_into`.
template <typename T, typename Derived>
class ActivationModule : public Module<T> {
 public:
  /// Applies the activation; the input may have any rank and shape.
  template <int R>
  Tensor<T, R> forward(const Tensor<T, R>& x) const {
    Tensor<T, R> y;
    forward_into(x, y);
    return y;
  }
  /// As `forward`, into the caller's `out` (reallocated only if its element count differs). `out` may be
  /// `x`, which then changes in place (PyTorch's `inplace=True`). Allocates nothing once `out` has its size.
  template <int R>
  void forward_into(const Tensor<T, R>& x, Tensor<T, R>& out) const {
    static_cast<const Derived&>(*this).apply_into(x, out);
  }
  template <int R>
  Tensor<T, R> operator()(const Tensor<T, R>& x) const {
    return forward(x);
  }

 protected:
  explicit ActivationModule(const char* name) : Module<T>(name, ParameterTable{}) {}
};

}  // namespace detail

/// `torch.nn.ReLU()`. (`inplace=True` is `relu.forward_into(x, x)`.)
template <typename T>
class ReLU : public detail::ActivationModule<T, ReLU<T>> {
 public:
  ReLU() : detail::ActivationModule<T, ReLU<T>>("ReLU") {}
  template <int R>
  void apply_into(const Tensor<T, R>& x, Tensor<T, R>& out) const {
    detail::map_elements_into(x, out, [](T v) { return detail::relu_value(v); });
  }
  std::string repr() const override { return "ReLU()"; }
};

/// `torch.nn.LeakyReLU(negative_slope=0.01)`.
template <typename T>
class LeakyReLU : public detail::ActivationModule<T, LeakyReLU<T>> {
 public:
  explicit LeakyReLU(double negative_slope = 0.01)
      : detail::ActivationModule<T, LeakyReLU<T>>("LeakyReLU"), negative_slope_(negative_slope) {}
  double negative_slope() const noexcept { return negative_slope_; }
  template <int R>
  void apply_into(const Tensor<T, R>& x, Tensor<T, R>& out) const {
    const T slope = static_cast<T>(negative_slope_);
    detail::map_elements_into(x, out, [slope](T v) { return detail::leaky_relu_value(v, slope); });
  }
  /// `LeakyReLU(negative_slope=0.01)`.
  std::string repr() const override {
    return detail::concat("LeakyReLU(negative_slope=", detail::python_float_repr(negative_slope_), ")");
  }

 private:
  double negative_slope_;
};

/// `torch.nn.Sigmoid()`.
template <typename T>
class Sigmoid : public detail::ActivationModule<T, Sigmoid<T>> {
 public:
  Sigmoid() : detail::ActivationModule<T, Sigmoid<T>>("Sigmoid") {}
  template <int R>
  void apply_into(const Tensor<T, R>& x, Tensor<T, R>& out) const {
    detail::map_elements_into(x, out, [](T v) { return detail::sigmoid_value(v); });
  }
  std::string repr() const override { return "Sigmoid()"; }
};

/// `torch.nn.Tanh()`.
template <typename T>
class Tanh : public detail::ActivationModule<T, Tanh<T>> {
 public:
  Tanh() : detail::ActivationModule<T, Tanh<T>>("Tanh") {}
  template <int R>
  void apply_into(const Tensor<T, R>& x, Tensor<T, R>& out) const {
    detail::map_elements_into(x, out, [](T v) { return std::tanh(v); });
  }
  std::string repr() const override { return "Tanh()"; }
};

/// `torch.nn.GELU(approximate='none')`; `"tanh"` selects the tanh approximation. Another string throws
/// `value_error` (`approximate argument must be either none or tanh.`) at construction.
template <typename T>
class GELU : public detail::ActivationModule<T, GELU<T>> {
 public:
  explicit GELU(std::string approximate = "none")
      : detail::ActivationModule<T, GELU<T>>("GELU"), approximate_(std::move(approximate)) {
    detail::gelu_uses_tanh(approximate_);
  }
  const std::string& approximate() const noexcept { return approximate_; }
  template <int R>
  void apply_into(const Tensor<T, R>& x, Tensor<T, R>& out) const {
    const bool tanh_approximation = approximate_ == "tanh";
    detail::map_elements_into(x, out, [tanh_approximation](T v) { return detail::gelu_value(v, tanh_approximation); });
  }
  /// `GELU(approximate='none')`.
  std::string repr() const override { return "GELU(approximate='" + approximate_ + "')"; }

 private:
  std::string approximate_;
};

/// `torch.nn.SiLU()`.
template <typename T>
class SiLU : public detail::ActivationModule<T, SiLU<T>> {
 public:
  SiLU() : detail::ActivationModule<T, SiLU<T>>("SiLU") {}
  template <int R>
  void apply_into(const Tensor<T, R>& x, Tensor<T, R>& out) const {
    detail::map_elements_into(x, out, [](T v) { return detail::silu_value(v); });
  }
  std::string repr() const override { return "SiLU()"; }
};

/// `torch.nn.Softmax(dim)`.
template <typename T>
class Softmax : public detail::ActivationModule<T, Softmax<T>> {
 public:
  explicit Softmax(Index dim) : detail::ActivationModule<T, Softmax<T>>("Softmax"), dim_(dim) {}
  Index dim() const noexcept { return dim_; }
  template <int R>
  void apply_into(const Tensor<T, R>& x, Tensor<T, R>& out) const {
    detail::softmax_over_into(x, out, dim_, false);
  }
  /// `Softmax(dim=1)`.
  std::string repr() const override { return detail::concat("Softmax(dim=", dim_, ")"); }

 private:
  Index dim_;
};

/// `torch.nn.LogSoftmax(dim)`.
template <typename T>
class LogSoftmax : public detail::ActivationModule<T, LogSoftmax<T>> {
 public:
  explicit LogSoftmax(Index dim) : detail::ActivationModule<T, LogSoftmax<T>>("LogSoftmax"), dim_(dim) {}
  Index dim() const noexcept { return dim_; }
  template <int R>
  void apply_into(const Tensor<T, R>& x, Tensor<T, R>& out) const {
    detail::softmax_over_into(x, out, dim_, true);
  }
  /// `LogSoftmax(dim=-1)`.
  std::string repr() const override { return detail::concat("LogSoftmax(dim=", dim_, ")"); }

 private:
  Index dim_;
};

}  // namespace seqnet
