// SPDX-License-Identifier: MIT
/// @file normalization.hpp
/// `LayerNorm<T>` (PyTorch's `torch.nn.LayerNorm`, over the trailing `normalized_shape` dimensions) and
/// `BatchNorm1d<T>` (`torch.nn.BatchNorm1d`, per channel of `[N, C]` or `[N, C, L]`, with its running
/// statistics as buffers), with PyTorch's parameters, buffers, reprs and error texts.
#pragma once

#include <cmath>
#include <optional>
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

/// Options of `BatchNorm1d<T>`, mirroring `torch::nn::BatchNormOptions`.
struct BatchNormOptions {
  /*implicit*/ BatchNormOptions(Index num_features) : num_features_(num_features) {}
  /// Channels `C`.
  SEQNET_ARG(Index, num_features);
  /// Added to the variance. Default: 1e-5
  SEQNET_ARG(double, eps) = 1e-5;
  /// Weight of the new batch in the running statistics; none gives the cumulative average. Default: 0.1
  SEQNET_ARG(std::optional<double>, momentum) = 0.1;
  /// Whether the layer has `weight` (ones) and `bias` (zeros). Default: true
  SEQNET_ARG(bool, affine) = true;
  /// Whether the layer keeps `running_mean`, `running_var` and `num_batches_tracked`. Default: true
  SEQNET_ARG(bool, track_running_stats) = true;
};

/// Batch normalisation, `torch.nn.BatchNorm1d(num_features, eps=1e-5, momentum=0.1, affine=True,
/// track_running_stats=True)`: per channel `c` of `[N, C]` or `[N, C, L]`,
/// `y = (x - mean_c) / sqrt(var_c + eps) * weight_c + bias_c`. In evaluation mode (after `eval()`) mean and
/// var are the buffers `running_mean` and `running_var`; in training mode (a module's default, as in
/// PyTorch) or without running statistics they are the batch's (biased variance). Buffers, in PyTorch's
/// state-dict order after `weight`, `bias`: `running_mean` (zeros), `running_var` (ones),
/// `num_batches_tracked` (a scalar).
///
/// Training mode updates the running statistics as PyTorch does (`running = (1 - momentum) * running +
/// momentum * batch`, the unbiased batch variance, `num_batches_tracked += 1`) only through the non-const
/// `forward` / `operator()`; called on a const module it uses the batch statistics and leaves the buffers
/// unchanged.
template <typename T>
class BatchNorm1d : public Module<T> {
 public:
  explicit BatchNorm1d(const BatchNormOptions& options) : Module<T>("BatchNorm1d", parameter_table(options)), options_(options) {
    if (options.track_running_stats()) {
      const Index c = options.num_features();
      this->register_buffer("running_mean", Shape{c}, T(0));
      this->register_buffer("running_var", Shape{c}, T(1));
      this->register_buffer("num_batches_tracked", Shape{}, T(0));
    }
    reset_parameters();
  }
  explicit BatchNorm1d(Index num_features) : BatchNorm1d(BatchNormOptions(num_features)) {}

  const BatchNormOptions& options() const noexcept { return options_; }
  Index num_features() const noexcept { return options_.num_features(); }

  /// Weight ones, bias zeros (the buffers keep their values; PyTorch's `reset_running_stats` is separate).
  void reset_parameters() {
    const Index c = num_features();
    T* p = this->params_.data();
    for (Index i = 0; i < this->params_.size(); ++i) p[i] = i < c ? T(1) : T(0);
  }

  /// `8, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True`.
  std::string extra_repr() const override {
    const auto& o = options_;
    return detail::concat(o.num_features(), ", eps=", detail::python_float_repr(o.eps()), ", momentum=",
                          o.momentum() ? detail::python_float_repr(*o.momentum()) : std::string("None"),
                          ", affine=", o.affine() ? "True" : "False", ", bias=", o.affine() ? "True" : "False",
                          ", track_running_stats=", o.track_running_stats() ? "True" : "False");
  }
  std::string repr() const override { return "BatchNorm1d(" + extra_repr() + ")"; }

  /// Normalises `[N, C]` or `[N, C, L]` (another rank does not compile: PyTorch's `expected 2D or 3D input`).
  /// A channel count other than `num_features` throws `shape_error` with PyTorch's text, `running_mean should
  /// contain 4 elements not 8` (or `weight should ...` without running statistics); a training-mode batch
  /// of one value per channel throws `value_error`: `Expected more than 1 value per channel when training,
  /// got input size torch.Size([1, 8])`.
  template <int R>
  Tensor<T, R> forward(const Tensor<T, R>& x) const {
    return run(x, false);
  }
  template <int R>
  Tensor<T, R> forward(const Tensor<T, R>& x) {
    return run(x, true);
  }
  template <int R, detail::if_unbatched_or_batched_1d<R> = 0>
  Tensor<T, R> operator()(const Tensor<T, R>& x) const {
    return run(x, false);
  }
  template <int R, detail::if_unbatched_or_batched_1d<R> = 0>
  Tensor<T, R> operator()(const Tensor<T, R>& x) {
    return run(x, true);
  }
  /// As `forward`, into the caller's `out` (reallocated only if its element count differs; it may be `x`).
  /// In eval mode with running statistics, a call allocates nothing once `out` has its size.
  template <int R>
  void forward_into(const Tensor<T, R>& x, Tensor<T, R>& out) const {
    run_into(x, out, false);
  }
  template <int R>
  void forward_into(const Tensor<T, R>& x, Tensor<T, R>& out) {
    run_into(x, out, true);
  }

 private:
  template <int R>
  Tensor<T, R> run(const Tensor<T, R>& x, bool update) const {
    Tensor<T, R> y;
    run_into(x, y, update);
    return y;
  }

  template <int R>
  void run_into(const Tensor<T, R>& x, Tensor<T, R>& y, bool update) const {
    static_assert(R == 2 || R == 3, "BatchNorm1d: expected 2D or 3D input");
    const Index n = x.dimension(0), c = x.dimension(1), l = R == 3 ? x.dimension(2) : 1;
    const bool tracking = options_.track_running_stats(), affine = options_.affine();
    const bool batch_stats = this->is_training() || !tracking;
    if (batch_stats && this->is_training())
      SEQNET_CHECK(value_error, n * l > 1, "Expected more than 1 value per channel when training, got input size torch.Size(",
                   shape(x).str(), ")");
    if (tracking) {
      SEQNET_CHECK(shape_error, c == num_features(), "running_mean should contain ", c, " elements not ", num_features());
    } else if (affine) {
      SEQNET_CHECK(shape_error, c == num_features(), "weight should contain ", c, " elements not ", num_features());
    }
    if (&y != &x) y.resize(x.dimensions());
    const T* w = affine ? this->params_.data() : nullptr;
    const T* b = affine ? w + c : nullptr;
    const T* running_mean = tracking ? this->buffer("running_mean").data() : nullptr;
    const T* running_var = tracking ? this->buffer("running_var").data() : nullptr;
    std::vector<double> batch_mean, batch_var;
    if (batch_stats) {
      batch_mean.assign(static_cast<std::size_t>(c), 0.0);
      batch_var.assign(static_cast<std::size_t>(c), 0.0);
      const double count = static_cast<double>(n * l);
      for (Index ch = 0; ch < c; ++ch) {
        double sum = 0;
        for (Index i = 0; i < n; ++i)
          for (Index t = 0; t < l; ++t) sum += x.data()[(i * c + ch) * l + t];
        const double mean = sum / count;
        double squares = 0;
        for (Index i = 0; i < n; ++i)
          for (Index t = 0; t < l; ++t) {
            const double d = x.data()[(i * c + ch) * l + t] - mean;
            squares += d * d;
          }
        batch_mean[static_cast<std::size_t>(ch)] = mean;
        batch_var[static_cast<std::size_t>(ch)] = squares / count;
      }
    }
    for (Index ch = 0; ch < c; ++ch) {
      const std::size_t k = static_cast<std::size_t>(ch);
      const double mean = batch_stats ? batch_mean[k] : static_cast<double>(running_mean[ch]);
      const double var = batch_stats ? batch_var[k] : static_cast<double>(running_var[ch]);
      double scale = 1.0 / std::sqrt(var + options_.eps()), shift = -mean * scale;
      if (affine) {
        scale *= w[ch];
        shift = shift * w[ch] + b[ch];
      }
      for (Index i = 0; i < n; ++i)
        for (Index t = 0; t < l; ++t) {
          const Index at = (i * c + ch) * l + t;
          y.data()[at] = static_cast<T>(x.data()[at] * scale + shift);
        }
    }
    if (update && tracking && this->is_training()) {
      // Only reached from the non-const overloads, so the module itself is not const.
      auto& self = const_cast<BatchNorm1d&>(*this);
      T* mean_out = self.buffer("running_mean").data();
      T* var_out = self.buffer("running_var").data();
      T* tracked = self.buffer("num_batches_tracked").data();
      tracked[0] += T(1);
      const double momentum = options_.momentum() ? *options_.momentum() : 1.0 / static_cast<double>(tracked[0]);
      const double count = static_cast<double>(n * l);
      for (Index ch = 0; ch < c; ++ch) {
        const std::size_t k = static_cast<std::size_t>(ch);
        const double unbiased = batch_var[k] * count / (count - 1.0);
        mean_out[ch] = static_cast<T>((1.0 - momentum) * mean_out[ch] + momentum * batch_mean[k]);
        var_out[ch] = static_cast<T>((1.0 - momentum) * var_out[ch] + momentum * unbiased);
      }
    }
  }

  static detail::ParameterTable parameter_table(const BatchNormOptions& o) {
    SEQNET_CHECK(value_error, o.num_features() >= 0, "Trying to create tensor with negative dimension ",
                 o.num_features(), ": [", o.num_features(), "]");
    detail::ParameterTable table;
    if (o.affine()) {
      table.add("weight", Shape{o.num_features()});
      table.add("bias", Shape{o.num_features()});
    }
    return table;
  }

  BatchNormOptions options_;
};

}  // namespace seqnet
