// SPDX-License-Identifier: MIT
/// @file padding.hpp
/// Padding of the last dimension: the function `pad` (PyTorch's `F.pad(x, (left, right), mode, value)`)
/// and the modules `ConstantPad1d`, `ZeroPad1d`, `ReflectionPad1d`, `ReplicationPad1d` and `CircularPad1d`.
/// Negative amounts crop, as in PyTorch. Conv1d's padding modes use the same index rules.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "detail/util/format.hpp"
#include "errors.hpp"
#include "module.hpp"
#include "tensor.hpp"

namespace seqnet {

/// `F.pad`'s `mode`.
enum class PadMode { constant, reflect, replicate, circular };

/// The name PyTorch uses for a pad mode (`"reflect"`).
inline const char* pad_mode_name(PadMode mode) {
  switch (mode) {
    case PadMode::constant: return "constant";
    case PadMode::reflect: return "reflect";
    case PadMode::replicate: return "replicate";
    case PadMode::circular: return "circular";
  }
  return "?";
}

/// `F.pad`'s mode string; another throws `value_error`: `Unrecognised padding mode foo`.
inline PadMode pad_mode(const std::string& name) {
  for (PadMode m : {PadMode::constant, PadMode::reflect, PadMode::replicate, PadMode::circular})
    if (name == pad_mode_name(m)) return m;
  detail::fail<value_error>("Unrecognised padding mode ", name);
}

namespace detail {

/// Index into an input of length `size` that padded position `j` reads under `mode` with `left` elements
/// added in front and `right` behind (negative: cropped), or -1 for a constant element. ATen's ReflectionPad / ReplicationPad
/// index rules, and circular wrapping.
inline Index padded_source(PadMode mode, Index j, Index size, Index left, Index right) {
  const Index offset = std::max<Index>(0, -left) - std::max<Index>(0, left);
  switch (mode) {
    case PadMode::constant: {
      const Index i = j - left;
      return i >= 0 && i < size ? i : -1;
    }
    case PadMode::reflect: {
      const Index i = j < left ? 2 * left - j : (j < size + left ? j : 2 * (size + left - 1) - j);
      return i + offset;
    }
    case PadMode::replicate: {
      const Index i = j < left ? left : (j < size + left ? j : size + left - 1);
      return i + offset;
    }
    case PadMode::circular: {
      // ATen crops first, then wraps within what is left
      const Index cropped_front = std::max<Index>(0, -left);
      const Index kept = size - cropped_front - std::max<Index>(0, -right);
      const Index i = (j - std::max<Index>(0, left)) % kept;
      return cropped_front + (i < 0 ? i + kept : i);
    }
  }
  return -1;
}

/// Checks a padding of the last dimension of a tensor of shape `dims` (rank `rank`) in PyTorch's order and
/// words; returns the output length.
inline Index check_pad(const Shape& dims, PadMode mode, Index left, Index right, bool value_given) {
  const Index rank = dims.rank();
  if (mode == PadMode::constant) {
    SEQNET_CHECK(shape_error, rank >= 1, "Padding length should be less than or equal to two times the input dimension "
                                         "but got padding length 2 and input of dimension 0");
    const Index size = dims[rank - 1];
    SEQNET_CHECK(value_error, size + left + right >= 0 && -left <= size && -right <= size,
                 "narrow(): length must be non-negative.");
    return size + left + right;
  }
  SEQNET_CHECK(value_error, !value_given, "Padding mode \"", pad_mode_name(mode), "\" doesn't take in value argument");
  SEQNET_CHECK(shape_error, rank == 2 || rank == 3, "Padding size 2 is not supported for ", rank, "D input tensor.");
  const Index size = dims[rank - 1];
  if (mode == PadMode::circular) {
    SEQNET_CHECK(value_error, left <= size && right <= size, "Padding value causes wrapping around more than once.");
    SEQNET_CHECK(value_error, size + left + right >= 0 && (size + std::min<Index>(left, 0) + std::min<Index>(right, 0) > 0 ||
                                                         size + left + right == 0),
                 "Negative padding value is resulting in an empty dimension.");
    return size + left + right;
  }
  bool nonzero = true;
  for (Index i = rank == 3 ? 1 : 0; i < rank; ++i) nonzero = nonzero && dims[i] != 0;
  SEQNET_CHECK(shape_error, nonzero, "Expected 2D or 3D (batch mode) tensor with possibly 0 batch size and other "
                                     "non-zero dimensions for input, but got: ", dims.str());
  if (mode == PadMode::reflect)
    SEQNET_CHECK(value_error, left < size && right < size,
                 "Argument #4: Padding size should be less than the corresponding input dimension, but got: padding (",
                 left, ", ", right, ") at dimension ", rank - 1, " of input ", dims.str());
  SEQNET_CHECK(value_error, size + left + right >= 1, "input (W: ", size, ") is too small. Calculated output W: ",
               size + left + right);
  return size + left + right;
}

/// Pads the rows of `rows` x `size` values from `in` into `rows` x `out_size` values at `out`.
template <typename T>
void pad_rows(const T* in, T* out, Index rows, Index size, Index out_size, PadMode mode, Index left, Index right,
              T value) {
  for (Index r = 0; r < rows; ++r) {
    const T* src = in + r * size;
    T* dst = out + r * out_size;
    for (Index j = 0; j < out_size; ++j) {
      const Index i = padded_source(mode, j, size, left, right);
      dst[j] = i >= 0 ? src[i] : value;
    }
  }
}

}  // namespace detail

/// `F.pad(x, (left, right), mode, value)` on the last dimension: `pad(x, {0, 64}, PadMode::reflect)`.
/// Constant padding takes any rank >= 1; reflect, replicate and circular take `[C, L]` or `[N, C, L]`.
/// Negative amounts crop. Errors are PyTorch's: `Padding size 2 is not supported for 1D input tensor.`,
/// `Argument #4: Padding size should be less than the corresponding input dimension, but got: padding
/// (0, 64) at dimension 2 of input [2, 3, 5]`, `Padding value causes wrapping around more than once.`,
/// `Padding mode "reflect" doesn't take in value argument` (a `value` with a mode other than constant).
template <typename T, int R>
Tensor<T, R> pad(const Tensor<T, R>& x, std::pair<Index, Index> padding, PadMode mode = PadMode::constant,
                 std::optional<double> value = std::nullopt) {
  static_assert(R >= 1, "pad needs a tensor of rank >= 1");
  const Index left = padding.first, right = padding.second;
  const bool value_given = static_cast<bool>(value);
  const T fill = value_given ? static_cast<T>(*value) : T(0);
  const Index out_size = detail::check_pad(shape(x), mode, left, right, value_given);
  auto dims = x.dimensions();
  const Index size = dims[R - 1];
  dims[R - 1] = out_size;
  Tensor<T, R> y(dims);
  if (y.size() == 0) return y;
  detail::pad_rows(x.data(), y.data(), x.size() / std::max<Index>(size, 1), size, out_size, mode, left, right, fill);
  return y;
}
/// As above with PyTorch's mode string: `pad(x, {0, 64}, "reflect")`.
template <typename T, int R>
Tensor<T, R> pad(const Tensor<T, R>& x, std::pair<Index, Index> padding, const std::string& mode,
                 std::optional<double> value = std::nullopt) {
  return pad(x, padding, pad_mode(mode), value);
}

namespace detail {

/// The padding modules: `Mode` on the last dimension by (left, right).
template <typename T, PadMode Mode>
class Pad1d : public Module<T> {
 public:
  /// Pads the last dimension (see `seqnet::pad` for ranks and errors).
  template <int R>
  Tensor<T, R> forward(const Tensor<T, R>& x) const {
    if constexpr (Mode == PadMode::constant) return pad(x, padding_, Mode, value_);
    return pad(x, padding_, Mode);
  }
  template <int R>
  Tensor<T, R> operator()(const Tensor<T, R>& x) const {
    return forward(x);
  }
  /// (left, right).
  std::pair<Index, Index> padding() const noexcept { return padding_; }

 protected:
  Pad1d(const char* name, std::pair<Index, Index> padding, double value = 0.0)
      : Module<T>(name, ParameterTable{}), padding_(padding), value_(value) {}
  std::string padding_str() const { return concat("(", padding_.first, ", ", padding_.second, ")"); }

  std::pair<Index, Index> padding_;
  double value_;
};

}  // namespace detail

/// `torch.nn.ConstantPad1d(padding, value)`: `padding` on both sides, or (left, right).
template <typename T>
class ConstantPad1d : public detail::Pad1d<T, PadMode::constant> {
 public:
  ConstantPad1d(Index padding, double value) : ConstantPad1d(std::make_pair(padding, padding), value) {}
  ConstantPad1d(std::pair<Index, Index> padding, double value)
      : detail::Pad1d<T, PadMode::constant>("ConstantPad1d", padding, value) {}
  double value() const noexcept { return this->value_; }
  /// `ConstantPad1d(padding=(1, 2), value=3.5)`.
  std::string repr() const override {
    return "ConstantPad1d(padding=" + this->padding_str() + ", value=" + detail::python_float_repr(this->value_) + ")";
  }
};

/// `torch.nn.ZeroPad1d(padding)`.
template <typename T>
class ZeroPad1d : public detail::Pad1d<T, PadMode::constant> {
 public:
  explicit ZeroPad1d(Index padding) : ZeroPad1d(std::make_pair(padding, padding)) {}
  explicit ZeroPad1d(std::pair<Index, Index> padding) : detail::Pad1d<T, PadMode::constant>("ZeroPad1d", padding) {}
  /// `ZeroPad1d((1, 2))`.
  std::string repr() const override { return "ZeroPad1d(" + this->padding_str() + ")"; }
};

/// `torch.nn.ReflectionPad1d(padding)`: `[C, L]` or `[N, C, L]`, each amount less than L.
template <typename T>
class ReflectionPad1d : public detail::Pad1d<T, PadMode::reflect> {
 public:
  explicit ReflectionPad1d(Index padding) : ReflectionPad1d(std::make_pair(padding, padding)) {}
  explicit ReflectionPad1d(std::pair<Index, Index> padding)
      : detail::Pad1d<T, PadMode::reflect>("ReflectionPad1d", padding) {}
  /// `ReflectionPad1d((1, 3))`.
  std::string repr() const override { return "ReflectionPad1d(" + this->padding_str() + ")"; }
};

/// `torch.nn.ReplicationPad1d(padding)`: `[C, L]` or `[N, C, L]`.
template <typename T>
class ReplicationPad1d : public detail::Pad1d<T, PadMode::replicate> {
 public:
  explicit ReplicationPad1d(Index padding) : ReplicationPad1d(std::make_pair(padding, padding)) {}
  explicit ReplicationPad1d(std::pair<Index, Index> padding)
      : detail::Pad1d<T, PadMode::replicate>("ReplicationPad1d", padding) {}
  std::string repr() const override { return "ReplicationPad1d(" + this->padding_str() + ")"; }
};

/// `torch.nn.CircularPad1d(padding)`: `[C, L]` or `[N, C, L]`, each amount at most L.
template <typename T>
class CircularPad1d : public detail::Pad1d<T, PadMode::circular> {
 public:
  explicit CircularPad1d(Index padding) : CircularPad1d(std::make_pair(padding, padding)) {}
  explicit CircularPad1d(std::pair<Index, Index> padding)
      : detail::Pad1d<T, PadMode::circular>("CircularPad1d", padding) {}
  std::string repr() const override { return "CircularPad1d(" + this->padding_str() + ")"; }
};

}  // namespace seqnet
