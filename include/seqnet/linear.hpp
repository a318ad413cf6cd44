// SPDX-License-Identifier: MIT
/// @file linear.hpp
/// `Linear<T>`: PyTorch's `torch.nn.Linear`, `y = x W^T + b` on the last dimension of a tensor of any rank.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

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
    } else if (rows == 1 && out <= 16) {
      // One sample into a few outputs (a real-time model's head): a dot product per output, because
      // the general product's dispatch costs several times this arithmetic.
      for (Index o = 0; o < out; ++o) y(0, o) = x.row(0).dot(w.row(o));
    } else {
      y.noalias() = x * w.transpose();
    }
    if (has_bias()) y.rowwise() += Eigen::Map<const RowVector>(this->params_.data() + out * in, out);
  }
  template <int R>
  Tensor<T, R> operator()(const Tensor<T, R>& input) const {
    return forward(input);
  }

  /// What `backward` needs from a training forward: a copy of the input and the parameter version the
  /// output was computed at. Owned by the caller and reused across steps: recording reallocates only
  /// when an input has more elements than any before.
  class Tape {
   public:
    /// Whether a `forward_train` has been recorded.
    bool recorded() const noexcept { return recorded_; }
    /// The shape of the recorded input.
    const Shape& input_shape() const noexcept { return input_shape_; }

   private:
    friend class Linear;
    std::vector<T> input_;
    Shape input_shape_;
    std::uint64_t parameter_version_ = 0;
    bool recorded_ = false;
  };

  /// `forward_into`, recording the input into `tape` for `backward`.
  template <int R>
  void forward_train(const Tensor<T, R>& input, Tensor<T, R>& output, Tape& tape) const {
    forward_into(input, output);
    tape.input_.resize(static_cast<std::size_t>(input.size()));
    std::copy(input.data(), input.data() + input.size(), tape.input_.data());
    tape.input_shape_ = shape(input);
    tape.parameter_version_ = this->parameter_version();
    tape.recorded_ = true;
  }

  /// Backward of the forward recorded in `tape` for the upstream gradient `grad_output` (the output's
  /// shape): adds `dW = grad_output^T x` and `db = sum of grad_output over the leading dimensions` to the
  /// gradients (`gradient("weight")`, `gradient("bias")`; they accumulate until `zero_grad()`, as in
  /// PyTorch) and writes `grad_input = grad_output W` (resized to the input's shape when it differs).
  /// `grad_input` reads the weight, so the parameters must not have been written since `forward_train`
  /// (PyTorch's in-place modification error); the weight gradient does not read them.
  template <int R>
  void backward(const Tape& tape, const Tensor<T, R>& grad_output, Tensor<T, R>& grad_input) {
    const Index rows = check_backward(tape, grad_output);
    SEQNET_CHECK(value_error, tape.parameter_version_ == this->parameter_version(),
                 "one of the variables needed for gradient computation has been modified by an inplace operation: "
                 "the parameters of this Linear were written (or accessed for writing) after forward_train");
    const Index in = in_features(), out = out_features();
    Eigen::array<Index, R> dims;
    for (int i = 0; i < R; ++i) dims[static_cast<std::size_t>(i)] = tape.input_shape_[i];
    if (shape(grad_input) != tape.input_shape_) grad_input.resize(dims);
    Eigen::Map<Matrix> dx(grad_input.data(), rows, in);
    if (out == 0) {
      dx.setZero();
    } else if (rows > 0 && in > 0) {
      const Eigen::Map<const Matrix> dy(grad_output.data(), rows, out);
      const Eigen::Map<const Matrix> w(std::as_const(this->params_).data(), out, in);
      dx.noalias() = dy * w;
    }
    accumulate_parameter_gradients(tape, grad_output.data(), rows);
  }
  /// As above, without the input's gradient (the first layer of a model).
  template <int R>
  void backward(const Tape& tape, const Tensor<T, R>& grad_output) {
    accumulate_parameter_gradients(tape, grad_output.data(), check_backward(tape, grad_output));
  }

 private:
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

  /// Checks the tape and the gradient's shape (PyTorch's autograd message); returns the rows.
  template <int R>
  Index check_backward(const Tape& tape, const Tensor<T, R>& grad_output) const {
    static_assert(R >= 1, "both arguments to linear need to be at least 1D");
    SEQNET_CHECK(value_error, tape.recorded_, "Linear.backward: the tape holds no forward pass; call forward_train first");
    SEQNET_CHECK(shape_error, tape.input_shape_.rank() == R && tape.input_shape_[R - 1] == in_features(),
                 "Linear.backward: the tape was recorded on an input of shape ", tape.input_shape_.str(),
                 ", not a rank-", R, " input with ", in_features(), " features");
    bool same = grad_output.dimension(R - 1) == out_features();
    Index rows = 1;
    for (int i = 0; i + 1 < R; ++i) {
      same = same && grad_output.dimension(i) == tape.input_shape_[i];
      rows *= tape.input_shape_[i];
    }
    SEQNET_CHECK(shape_error, same, "Mismatch in shape: grad_output[0] has a shape of torch.Size(",
                 shape(grad_output).str(), ") and output[0] has a shape of torch.Size(", output_shape(tape).str(), ").");
    return rows;
  }

  Shape output_shape(const Tape& tape) const {
    std::vector<Index> dims = tape.input_shape_.dims();
    dims.back() = out_features();
    return Shape(dims);
  }

  void accumulate_parameter_gradients(const Tape& tape, const T* grad_output, Index rows) {
    const Index in = in_features(), out = out_features();
    T* grads = this->params_.gradients();
    if (rows == 0 || out == 0) return;
    const Eigen::Map<const Matrix> dy(grad_output, rows, out);
    if (in > 0) {
      Eigen::Map<Matrix> dw(grads, out, in);
      const Eigen::Map<const Matrix> x(tape.input_.data(), rows, in);
      dw.noalias() += dy.transpose() * x;
    }
    if (has_bias()) {
      using RowVector = Eigen::Matrix<T, 1, Eigen::Dynamic>;
      Eigen::Map<RowVector>(grads + out * in, out) += dy.colwise().sum();
    }
  }

  static detail::ParameterTable parameter_table(const LinearOptions& options) {
    const Index in = options.in_features(), out = options.out_features();
    // torch.empty((out, in)) names the first negative extent of the weight's shape.
    SEQNET_CHECK(value_error, out >= 0 && in >= 0, "Trying to create tensor with negative dimension ",
                 out < 0 ? out : in, ": [", out, ", ", in, "]");
    SEQNET_CHECK(value_error, (static_cast<long double>(in) + 1) * static_cast<long double>(out) < 0x1p53L,
                 "sizes too large: the module would need more than 2^53 parameters");
    // As for the recurrent modules: a table that could not fit in memory is refused before allocating,
    // instead of ending in std::bad_alloc (found by tests/fuzz/fuzz_module_forward.cpp).
    SEQNET_CHECK(value_error, (static_cast<long double>(in) + 1) * static_cast<long double>(out) <= 0x1p36L,
                 "sizes too large: the module would need more than 2^36 parameters");
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
