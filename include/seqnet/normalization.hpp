// SPDX-License-Identifier: MIT
/// @file normalization.hpp
/// `LayerNorm<T>`: PyTorch's `torch.nn.LayerNorm`, normalising over the trailing `normalized_shape`
/// dimensions, with PyTorch's parameters (`weight`, `bias`), repr and error text.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "detail/util/format.hpp"
#include "errors.hpp"
#include "module.hpp"
#include "options.hpp"
#include "tensor.hpp"

namespace seqnet {

/// Options of `LayerNorm<T>`, mirroring `torch::nn::LayerNormOptions`.
/// Example: `LayerNorm<float> norm(LayerNormOptions({64}).eps(1e-6));`
struct LayerNormOptions {
  /*implicit*/ LayerNormOptions(std::vector<Index> normalized_shape) : normalized_shape_(std::move(normalized_shape)) {}
  /// The trailing extents normalised together.
  SEQNET_ARG(std::vector<Index>, normalized_shape);
  /// Added to the variance. Default: 1e-5
  SEQNET_ARG(double, eps) = 1e-5;
  /// Whether the layer has `weight` (and `bias`, see below), initialised to ones and zeros. Default: true
  SEQNET_ARG(bool, elementwise_affine) = true;
  /// Whether the affine layer has `bias`. Default: true
  SEQNET_ARG(bool, bias) = true;
};

/// Layer normalisation, `torch.nn.LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True, bias=True)`:
/// `y = (x - mean) / sqrt(var + eps) * weight + bias` with the mean and the biased variance taken over the
/// last `normalized_shape.size()` dimensions, which must equal `normalized_shape`. Any rank >= that.
template <typename T>
class LayerNorm : public Module<T> {
 public:
  explicit LayerNorm(const LayerNormOptions& options) : Module<T>("LayerNorm", parameter_table(options)), options_(options) {
    reset_parameters();
  }
  /// `LayerNorm(64)`: one normalised dimension.
  explicit LayerNorm(Index normalized_size) : LayerNorm(LayerNormOptions({normalized_size})) {}

  const LayerNormOptions& options() const noexcept { return options_; }
  Parameter<T> weight() { return this->parameter("weight"); }
  Parameter<const T> weight() const { return this->parameter("weight"); }
  Parameter<T> bias() { return this->parameter("bias"); }
  Parameter<const T> bias() const { return this->parameter("bias"); }

  /// Weight ones, bias zeros (PyTorch's `reset_parameters`).
  void reset_parameters() {
    const Index n = normalized_numel();
    T* p = this->params_.data();
    for (Index i = 0; i < this->params_.size(); ++i) p[i] = i < n ? T(1) : T(0);
  }

  /// `LayerNorm((8,), eps=1e-05, elementwise_affine=True, bias=True)`.
  std::string repr() const override {
    const auto& shape = options_.normalized_shape();
    std::string dims = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape[i]);
    dims += shape.size() == 1 ? ",)" : ")";
    const bool affine = options_.elementwise_affine();
    return detail::concat("LayerNorm(", dims, ", eps=", detail::python_float_repr(options_.eps()),
                          ", elementwise_affine=", affine ? "True" : "False", ", bias=",
                          affine && options_.bias() ? "True" : "False", ")");
  }

  /// Normalises `x` `[*, normalized_shape]`. A shape that does not end in `normalized_shape` throws
  /// `shape_error`: `Given normalized_shape=[8], expected input with shape [*, 8], but got input of
  /// size[2, 4, 10]`.
  template <int R>
  Tensor<T, R> forward(const Tensor<T, R>& x) const {
    const auto& normalized = options_.normalized_shape();
    const Index d = static_cast<Index>(normalized.size());
    bool match = d <= R;
    for (Index i = 0; match && i < d; ++i) match = x.dimension(R - d + i) == normalized[static_cast<std::size_t>(i)];
    SEQNET_CHECK(shape_error, match, "Given normalized_shape=", Shape(normalized).str(),
                 ", expected input with shape [*", trailing(normalized), "], but got input of size", shape(x).str());
    Tensor<T, R> y(x.dimensions());
    const Index n = normalized_numel();
    if (y.size() == 0 || n == 0) return y;
    const bool affine = options_.elementwise_affine(), has_bias = affine && options_.bias();
    const T* w = this->params_.data();
    const T* b = has_bias ? w + n : nullptr;
    for (Index r = 0; r < x.size() / n; ++r) {
      const T* in = x.data() + r * n;
      T* out = y.data() + r * n;
      // two passes in double: the mean, then the centred squares
      double mean = 0;
      for (Index i = 0; i < n; ++i) mean += in[i];
      mean /= static_cast<double>(n);
      double var = 0;
      for (Index i = 0; i < n; ++i) var += (in[i] - mean) * (in[i] - mean);
      var /= static_cast<double>(n);
      const double inv = 1.0 / std::sqrt(var + options_.eps());
      for (Index i = 0; i < n; ++i) {
        double v = (in[i] - mean) * inv;
        if (affine) v = v * w[i] + (b ? b[i] : T(0));
        out[i] = static_cast<T>(v);
      }
    }
    return y;
  }
  template <int R>
  Tensor<T, R> operator()(const Tensor<T, R>& x) const {
    return forward(x);
  }

 private:
  Index normalized_numel() const { return Shape(options_.normalized_shape()).numel(); }

  static std::string trailing(const std::vector<Index>& dims) {
    std::string s;
    for (Index d : dims) s += ", " + std::to_string(d);
    return s;
  }

  static detail::ParameterTable parameter_table(const LayerNormOptions& o) {
    for (Index d : o.normalized_shape())
      SEQNET_CHECK(value_error, d >= 0, "Trying to create tensor with negative dimension ", d, ": ",
                   Shape(o.normalized_shape()).str());
    detail::ParameterTable table;
    if (o.elementwise_affine()) {
      table.add("weight", Shape(o.normalized_shape()));
      if (o.bias()) table.add("bias", Shape(o.normalized_shape()));
    }
    return table;
  }

  LayerNormOptions options_;
};

}  // namespace seqnet
