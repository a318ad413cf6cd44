// SPDX-License-Identifier: MIT
/// @file linear.hpp
/// `Linear<T>`: PyTorch's `torch.nn.Linear`, `y = x W^T + b` on the last dimension of a tensor of any rank.
#pragma once

#include <cmath>
#include <string>

#include <Eigen/Core>

#include "errors.hpp"
#include "module.hpp"
#include "options.hpp"
#include "random.hpp"
#include "tensor.hpp"

namespace seqnet {

/// Options of `Linear<T>`, mirroring `torch::nn::LinearOptions`.
/// Example: `Linear<float> head(LinearOptions(20, 1).bias(false));`
struct LinearOptions {
  LinearOptions(Index in_features, Index out_features) : in_features_(in_features), out_features_(out_features) {}
  /// Features of each input element (the input's last dimension). May be 0.
  SEQNET_ARG(Index, in_features);
  /// Features of each output element. May be 0.
  SEQNET_ARG(Index, out_features);
  /// Whether the layer has the additive `bias` parameter. Default: true
  SEQNET_ARG(bool, bias) = true;
};

/// Fully connected layer, `torch.nn.Linear`: `y = x W^T + b` applied to the last dimension, so an input
/// `[..., in_features]` of any rank >= 1 gives `[..., out_features]` (the leading dimensions, which may be
/// 0, are kept). Parameters `weight` `[out_features, in_features]` and, unless bias=false, `bias`
/// `[out_features]`, both initialised from U(-1/sqrt(in_features), 1/sqrt(in_features)) as PyTorch does.
template <typename T>
class Linear : public Module<T> {
 public:
  explicit Linear(const LinearOptions& options, Generator& generator = default_generator())
      : Module<T>("Linear", parameter_table(options)), options_(options) {
    reset_parameters(generator);
  }
  Linear(Index in_features, Index out_features, bool bias = true, Generator& generator = default_generator())
      : Linear(LinearOptions(in_features, out_features).bias(bias), generator) {}

  const LinearOptions& options() const noexcept { return options_; }
  Index in_features() const noexcept { return options_.in_features(); }
  Index out_features() const noexcept { return options_.out_features(); }
  bool has_bias() const noexcept { return options_.bias(); }

  /// `[out_features, in_features]`.
  Parameter<T> weight() { return this->parameter("weight"); }
  Parameter<const T> weight() const { return this->parameter("weight"); }
  /// `[out_features]`; throws `key_error` for a layer built with bias=false (PyTorch's `bias` is None).
  Parameter<T> bias() { return this->parameter(bias_name()); }
  Parameter<const T> bias() const { return this->parameter(bias_name()); }

  /// Re-draws the parameters as PyTorch's `reset_parameters`: `kaiming_uniform_(weight, a=sqrt(5))`, which is
  /// U(-1/sqrt(in_features), 1/sqrt(in_features)), then the bias from the same range (0 when in_features is 0).
  /// The weight is drawn first, row by row, then the bias.
  void reset_parameters(Generator& generator = default_generator()) {
    const Index in = in_features();
    const double bound = in > 0 ? 1.0 / std::sqrt(static_cast<double>(in)) : 0.0;
    T* values = this->params_.data();
    for (Index i = 0; i < this->params_.size(); ++i) values[i] = static_cast<T>(generator.uniform(-bound, bound));
  }

  /// `Linear(in_features=16, out_features=1, bias=True)`.
  std::string repr() const override {
    return detail::concat("Linear(in_features=", in_features(), ", out_features=", out_features(),
                          ", bias=", has_bias() ? "True" : "False", ")");
  }

  /// `[..., in_features]` -> `[..., out_features]`. A last dimension other than `in_features` throws
  /// `shape_error` with PyTorch's text, `mat1 and mat2 shapes cannot be multiplied (30x20 and 16x1)`, where
  /// the first matrix is the input flattened to `[rows, last]` (rows = product of the leading dimensions,
  /// 1 for a vector) and the second is `weight^T`.
  template <int R>
  Tensor<T, R> forward(const Tensor<T, R>& input) const {
    Tensor<T, R> result;
    forward_into(input, result);
    return result;
  }
  /// As `forward`, writing into the caller's `out` (resized only if its shape differs; it must not be
  /// `input`), so that repeated calls allocate nothing.
  template <int R>
  void forward_into(const Tensor<T, R>& input, Tensor<T, R>& result) const {
    static_assert(R >= 1, "both arguments to linear need to be at least 1D");
    using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using RowVector = Eigen::Matrix<T, 1, Eigen::Dynamic>;
    const Index in = in_features(), out = out_features();
    Index rows = 1;
    for (int i = 0; i + 1 < R; ++i) rows *= input.dimension(i);
    const Index features = input.dimension(R - 1);
    SEQNET_CHECK(shape_error, features == in, "mat1 and mat2 shapes cannot be multiplied (", rows, "x", features,
                 " and ", in, "x", out, ")");

    auto dims = input.dimensions();
    dims[R - 1] = out;
    result.resize(dims);  // reallocates only when the element count changes
    Eigen::Map<Matrix> y(result.data(), rows, out);
    if (rows == 0 || out == 0) return;
    const Eigen::Map<const Matrix> x(input.data(), rows, in);
    const Eigen::Map<const Matrix> w(this->params_.data(), out, in);
    if (in == 0) {
      y.setZero();
    } else {
      y.noalias() = x * w.transpose();
    }
    if (has_bias()) y.rowwise() += Eigen::Map<const RowVector>(this->params_.data() + out * in, out);
  }
  template <int R>
  Tensor<T, R> operator()(const Tensor<T, R>& input) const {
    return forward(input);
  }

 private:
  static detail::ParameterTable parameter_table(const LinearOptions& options) {
    const Index in = options.in_features(), out = options.out_features();
    // torch.empty((out, in)) names the first negative extent of the weight's shape.
    SEQNET_CHECK(value_error, out >= 0 && in >= 0, "Trying to create tensor with negative dimension ",
                 out < 0 ? out : in, ": [", out, ", ", in, "]");
    SEQNET_CHECK(value_error, (static_cast<long double>(in) + 1) * static_cast<long double>(out) < 0x1p53L,
                 "sizes too large: the module would need more than 2^53 parameters");
    detail::ParameterTable table;
    table.add("weight", Shape{out, in});
    if (options.bias()) table.add("bias", Shape{out});
    return table;
  }

  const char* bias_name() const {
    SEQNET_CHECK(key_error, has_bias(), "'Linear' was built with bias=False and has no bias");
    return "bias";
  }

  LinearOptions options_;
};

}  // namespace seqnet
