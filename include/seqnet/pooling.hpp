// SPDX-License-Identifier: MIT
/// @file pooling.hpp
/// `MaxPool1d<T>` and `AvgPool1d<T>`: PyTorch's `torch.nn.MaxPool1d` and `torch.nn.AvgPool1d` over the last
/// dimension of `[N, C, L]` or unbatched `[C, L]` inputs, with PyTorch's output sizes (`ceil_mode`),
/// padding rules, reprs and error texts.
#pragma once

#include <algorithm>
#include <limits>
#include <optional>
#include <string>

#include "errors.hpp"
#include "module.hpp"
#include "tensor.hpp"

namespace seqnet {

namespace detail {

/// ATen's `pooling_output_shape`: the number of windows, with `ceil_mode` counting a last partial window
/// that starts inside the input or its left padding.
inline Index pooling_output_size(Index size, Index kernel, Index pad, Index stride, Index dilation, bool ceil_mode) {
  const Index numerator = size + 2 * pad - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  // floor division, as div_rtn: the numerator may be negative
  Index out = (numerator >= 0 ? numerator / stride : -((-numerator + stride - 1) / stride)) + 1;
  if (ceil_mode && (out - 1) * stride >= size + pad) --out;
  return out;
}

}  // namespace detail

/// 1-D max pooling, `torch.nn.MaxPool1d(kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False)`:
/// `out[.., t] = max_j in[.., t * stride - padding + j * dilation]` over the taps inside the input (padding
/// counts as -inf). `stride` defaults to `kernel_size`. (`return_indices` is not supported.)
template <typename T>
class MaxPool1d : public Module<T> {
 public:
  explicit MaxPool1d(Index kernel_size, std::optional<Index> stride = std::nullopt, Index padding = 0,
                     Index dilation = 1, bool ceil_mode = false)
      : Module<T>("MaxPool1d", detail::ParameterTable{}),
        kernel_size_(kernel_size),
        stride_(stride.value_or(kernel_size)),
        padding_(padding),
        dilation_(dilation),
        ceil_mode_(ceil_mode) {}

  Index kernel_size() const noexcept { return kernel_size_; }
  Index stride() const noexcept { return stride_; }
  Index padding() const noexcept { return padding_; }
  Index dilation() const noexcept { return dilation_; }
  bool ceil_mode() const noexcept { return ceil_mode_; }

  /// `MaxPool1d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)`.
  std::string repr() const override {
    return detail::concat("MaxPool1d(kernel_size=", kernel_size_, ", stride=", stride_, ", padding=", padding_,
                          ", dilation=", dilation_, ", ceil_mode=", ceil_mode_ ? "True" : "False", ")");
  }

  /// `[N, C, L]` -> `[N, C, L_out]` or `[C, L]` -> `[C, L_out]`. Errors, PyTorch's texts: `max_pool1d()
  /// kernel_size must be greater than zero, but got 0` (and for stride, padding, dilation), `max_pool1d()
  /// padding should be at most half of kernel size, but got padding=2 and kernel_size=3`, `max_pool1d:
  /// Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for input, but got:[2, 4, 0]`,
  /// `max_pool1d() Invalid computed output size: 0`.
  template <int R>
  Tensor<T, R> forward(const Tensor<T, R>& x) const {
    Tensor<T, R> y;
    forward_into(x, y);
    return y;
  }
  /// As `forward`, into the caller's `out` (reallocated only if its element count differs; it must not be
  /// `x`). Allocates nothing once `out` has its size.
  template <int R>
  void forward_into(const Tensor<T, R>& x, Tensor<T, R>& y) const {
    static_assert(R == 2 || R == 3, "max_pool1d: Expected 2D or 3D (batch mode) tensor");
    SEQNET_CHECK(shape_error, x.dimension(R - 1) > 0 && x.dimension(R - 2) > 0,
                 "max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for input, but got:",
                 shape(x).str());
    SEQNET_CHECK(value_error, kernel_size_ > 0, "max_pool1d() kernel_size must be greater than zero, but got ",
                 kernel_size_);
    SEQNET_CHECK(value_error, stride_ > 0, "max_pool1d() stride must be greater than zero, but got ", stride_);
    SEQNET_CHECK(value_error, padding_ >= 0, "max_pool1d() padding must be non-negative, but got ", padding_);
    SEQNET_CHECK(value_error, padding_ <= kernel_size_ / 2,
                 "max_pool1d() padding should be at most half of kernel size, but got padding=", padding_,
                 " and kernel_size=", kernel_size_);
    SEQNET_CHECK(value_error, dilation_ > 0, "max_pool1d() dilation must be greater than zero, but got ", dilation_);
    const Index size = x.dimension(R - 1);
    const Index out_size = detail::pooling_output_size(size, kernel_size_, padding_, stride_, dilation_, ceil_mode_);
    SEQNET_CHECK(shape_error, out_size > 0, "max_pool1d() Invalid computed output size: ", out_size);
    auto dims = x.dimensions();
    dims[R - 1] = out_size;
    y.resize(dims);
    const Index rows = x.size() / size;
    for (Index r = 0; r < rows; ++r) {
      const T* in = x.data() + r * size;
      T* out = y.data() + r * out_size;
      for (Index t = 0; t < out_size; ++t) {
        T best = -std::numeric_limits<T>::infinity();
        for (Index j = 0; j < kernel_size_; ++j) {
          const Index i = t * stride_ - padding_ + j * dilation_;
          if (i < 0 || i >= size) continue;
          const T v = in[i];
          if (v > best || v != v) best = v;  // NaN propagates, as in PyTorch
          if (best != best) break;
        }
        out[t] = best;
      }
    }
  }
  template <int R, detail::if_unbatched_or_batched_1d<R> = 0>
  Tensor<T, R> operator()(const Tensor<T, R>& x) const {
    return forward(x);
  }

 private:
  Index kernel_size_, stride_, padding_, dilation_;
  bool ceil_mode_;
};

/// 1-D average pooling, `torch.nn.AvgPool1d(kernel_size, stride=None, padding=0, ceil_mode=False,
/// count_include_pad=True)`: the mean of each window. With `count_include_pad` the divisor counts the
/// padding inside the window (not the part of a `ceil_mode` window past the right padding); without it,
/// only the input elements.
template <typename T>
class AvgPool1d : public Module<T> {
 public:
  explicit AvgPool1d(Index kernel_size, std::optional<Index> stride = std::nullopt, Index padding = 0,
                     bool ceil_mode = false, bool count_include_pad = true)
      : Module<T>("AvgPool1d", detail::ParameterTable{}),
        kernel_size_(kernel_size),
        stride_(stride.value_or(kernel_size)),
        padding_(padding),
        ceil_mode_(ceil_mode),
        count_include_pad_(count_include_pad) {}

  Index kernel_size() const noexcept { return kernel_size_; }
  Index stride() const noexcept { return stride_; }
  Index padding() const noexcept { return padding_; }
  bool ceil_mode() const noexcept { return ceil_mode_; }
  bool count_include_pad() const noexcept { return count_include_pad_; }

  /// `AvgPool1d(kernel_size=(3,), stride=(2,), padding=(1,))` (PyTorch prints neither ceil_mode nor
  /// count_include_pad).
  std::string repr() const override {
    return detail::concat("AvgPool1d(kernel_size=(", kernel_size_, ",), stride=(", stride_, ",), padding=(", padding_,
                          ",))");
  }

  /// `[N, C, L]` -> `[N, C, L_out]` or `[C, L]` -> `[C, L_out]`. Errors, PyTorch's texts (avg_pool1d runs as a
  /// 2-D pooling of height 1, whose words these are): `stride should not be zero`, `pad must be non-negative,
  /// but got pad: -1`, `pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and
  /// dilation=1`, `Given input size: (4x1x3). Calculated output size: (4x1x0). Output size is too small`,
  /// `Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:[2, 4, 1, 0]`.
  template <int R>
  Tensor<T, R> forward(const Tensor<T, R>& x) const {
    Tensor<T, R> y;
    forward_into(x, y);
    return y;
  }
  /// As `forward`, into the caller's `out` (reallocated only if its element count differs; it must not be
  /// `x`). Allocates nothing once `out` has its size.
  template <int R>
  void forward_into(const Tensor<T, R>& x, Tensor<T, R>& y) const {
    static_assert(R == 2 || R == 3, "Expected 2 to 3 dimensions (while checking arguments for avg_pool1d)");
    SEQNET_CHECK(value_error, stride_ != 0, "stride should not be zero");
    SEQNET_CHECK(value_error, kernel_size_ > 0, "kernel size should be greater than zero, but got kH: 1 kW: ",
                 kernel_size_);
    SEQNET_CHECK(value_error, stride_ > 0, "stride should be greater than zero, but got dH: 1 dW: ", stride_);
    SEQNET_CHECK(value_error, padding_ >= 0, "pad must be non-negative, but got pad: ", padding_);
    SEQNET_CHECK(value_error, padding_ <= kernel_size_ / 2,
                 "pad should be at most half of effective kernel size, but got pad=", padding_, ", kernel_size=",
                 kernel_size_, " and dilation=1");
    const Index size = x.dimension(R - 1), channels = x.dimension(R - 2);
    SEQNET_CHECK(shape_error, size > 0 && channels > 0,
                 "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:",
                 R == 3 ? Shape{x.dimension(0), channels, 1, size}.str() : Shape{channels, 1, size}.str());
    const Index out_size = detail::pooling_output_size(size, kernel_size_, padding_, stride_, 1, ceil_mode_);
    SEQNET_CHECK(shape_error, out_size >= 1, "Given input size: (", channels, "x1x", size,
                 "). Calculated output size: (", channels, "x1x", out_size, "). Output size is too small");
    auto dims = x.dimensions();
    dims[R - 1] = out_size;
    y.resize(dims);
    const Index rows = x.size() / size;
    for (Index r = 0; r < rows; ++r) {
      const T* in = x.data() + r * size;
      T* out = y.data() + r * out_size;
      for (Index t = 0; t < out_size; ++t) {
        Index start = t * stride_ - padding_;
        Index end = std::min(start + kernel_size_, size + padding_);
        const Index pool_size = end - start;
        start = std::max<Index>(start, 0);
        end = std::min(end, size);
        T sum = 0;
        for (Index i = start; i < end; ++i) sum += in[i];
        const Index divisor = count_include_pad_ ? pool_size : end - start;
        out[t] = sum / static_cast<T>(divisor);
      }
    }
  }
  template <int R, detail::if_unbatched_or_batched_1d<R> = 0>
  Tensor<T, R> operator()(const Tensor<T, R>& x) const {
    return forward(x);
  }

 private:
  Index kernel_size_, stride_, padding_;
  bool ceil_mode_, count_include_pad_;
};

}  // namespace seqnet
