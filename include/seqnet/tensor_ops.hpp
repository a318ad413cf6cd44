// SPDX-License-Identifier: MIT
/// @file tensor_ops.hpp
/// The tensor glue PyTorch models use between layers, with PyTorch's semantics and error texts:
/// `narrow` (slicing along one dimension, e.g. channels), `cat`, `squeeze`/`unsqueeze`, and the
/// element-wise `sqrt`, `abs` and `pow`. Ranks are static (`Tensor<T, R>`), so a rank-changing call names
/// its result rank in its type.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <vector>

#include "errors.hpp"
#include "tensor.hpp"

namespace seqnet {

namespace detail {

/// PyTorch's `maybe_wrap_dim`: `dim` in [-rank, rank) -> [0, rank); otherwise `index_error` with
/// PyTorch's text. A rank-0 tensor accepts -1 and 0 (PyTorch treats it as rank 1 here).
inline Index wrap_dim(Index dim, Index rank) {
  const Index r = rank > 0 ? rank : 1;
  SEQNET_CHECK(index_error, dim >= -r && dim < r, "Dimension out of range (expected to be in range of [", -r, ", ",
               r - 1, "], but got ", dim, ")");
  return dim < 0 ? dim + r : dim;
}

/// Sizes of a tensor seen as [outer, extent of `dim`, inner] in row-major order.
template <typename Dimensions>
void split_at(const Dimensions& dims, Index rank, Index dim, Index& outer, Index& inner) {
  outer = 1;
  inner = 1;
  for (Index i = 0; i < dim; ++i) outer *= dims[static_cast<std::size_t>(i)];
  for (Index i = dim + 1; i < rank; ++i) inner *= dims[static_cast<std::size_t>(i)];
}

/// Applies `f` to every element of `x` into `y`, given x's shape (reallocated only if its element count
/// differs); `y` may be `x` itself.
template <typename T, int R, typename F>
void map_elements_into(const Tensor<T, R>& x, Tensor<T, R>& y, F f) {
  if (&y != &x) y.resize(x.dimensions());
  const T* in = x.data();
  T* out = y.data();
  for (Index i = 0; i < x.size(); ++i) out[i] = f(in[i]);
}

/// Applies `f` to every element of `x` into a new tensor of the same shape.
template <typename T, int R, typename F>
Tensor<T, R> map_elements(const Tensor<T, R>& x, F f) {
  Tensor<T, R> y;
  map_elements_into(x, y, f);
  return y;
}

}  // namespace detail

/// `x.narrow(dim, start, length)`: the elements `start .. start + length - 1` along `dim`, copied (PyTorch
/// returns a view). Slicing channels: `narrow(x, 1, 0, 129)` is `x[:, :129]`. A negative `start` counts from
/// the end. Errors as PyTorch: `index_error` for `dim` or `start` out of range, `value_error` for a
/// negative length or a slice past the end: `start (2) + length (2) exceeds dimension size (3).`
template <typename T, int R>
Tensor<T, R> narrow(const Tensor<T, R>& x, Index dim, Index start, Index length) {
  static_assert(R >= 1, "narrow() cannot be applied to a 0-dim tensor.");
  dim = detail::wrap_dim(dim, R);
  const Index size = x.dimension(dim);
  SEQNET_CHECK(index_error, start >= -size && start <= size, "start out of range (expected to be in range of [", -size,
               ", ", size, "], but got ", start, ")");
  if (start < 0) start += size;
  SEQNET_CHECK(value_error, length >= 0, "narrow(): length must be non-negative.");
  SEQNET_CHECK(value_error, start <= size - length, "start (", start, ") + length (", length,
               ") exceeds dimension size (", size, ").");
  auto dims = x.dimensions();
  dims[dim] = length;
  Tensor<T, R> y(dims);
  Index outer, inner;
  detail::split_at(x.dimensions(), R, dim, outer, inner);
  for (Index o = 0; o < outer; ++o) {
    const T* from = x.data() + (o * size + start) * inner;
    std::copy(from, from + length * inner, y.data() + o * length * inner);
  }
  return y;
}

/// `torch.cat(tensors, dim)`: the tensors joined along `dim`; every other extent must match. Errors as
/// PyTorch: an empty list (`value_error`: `torch.cat(): expected a non-empty list of Tensors`), `dim` out of
/// range (`index_error`), another extent differing (`shape_error`: `Sizes of tensors must match except in
/// dimension 1. Expected size 3 but got size 5 for tensor number 1 in the list.`).
template <typename T, int R>
Tensor<T, R> cat(const std::vector<Tensor<T, R>>& tensors, Index dim = 0) {
  static_assert(R >= 1, "zero-dimensional tensor cannot be concatenated");
  SEQNET_CHECK(value_error, !tensors.empty(), "torch.cat(): expected a non-empty list of Tensors");
  dim = detail::wrap_dim(dim, R);
  auto dims = tensors.front().dimensions();
  Index total = 0;
  for (std::size_t n = 0; n < tensors.size(); ++n) {
    const auto& d = tensors[n].dimensions();
    for (int i = 0; i < R; ++i) {
      SEQNET_CHECK(shape_error, i == dim || d[i] == dims[i], "Sizes of tensors must match except in dimension ", dim,
                   ". Expected size ", dims[i], " but got size ", d[i], " for tensor number ", n, " in the list.");
    }
    total += d[dim];
  }
  dims[dim] = total;
  Tensor<T, R> y(dims);
  Index outer, inner;
  detail::split_at(dims, R, dim, outer, inner);
  T* out = y.data();
  for (Index o = 0; o < outer; ++o) {
    for (const auto& t : tensors) {
      const Index block = t.dimension(dim) * inner;
      std::copy(t.data() + o * block, t.data() + (o + 1) * block, out);
      out += block;
    }
  }
  return y;
}
/// `torch.cat` of a braced list: `cat<float, 3>({a, b}, 1)`.
template <typename T, int R>
Tensor<T, R> cat(std::initializer_list<Tensor<T, R>> tensors, Index dim = 0) {
  return cat(std::vector<Tensor<T, R>>(tensors), dim);
}

/// `x.squeeze(dim)`: the same values without dimension `dim`, which must have size 1. PyTorch returns the
/// tensor unchanged when that size is not 1; a rank-changing seqnet call cannot, so it throws
/// `shape_error` instead. `dim` out of range throws PyTorch's `index_error`.
template <typename T, int R>
Tensor<T, R - 1> squeeze(const Tensor<T, R>& x, Index dim) {
  static_assert(R >= 1, "squeeze needs a tensor of rank >= 1");
  dim = detail::wrap_dim(dim, R);
  SEQNET_CHECK(shape_error, x.dimension(dim) == 1, "squeeze(", dim, "): dimension ", dim, " of a tensor of size ",
               shape(x).str(), " has size ", x.dimension(dim),
               ", not 1 (PyTorch would return the tensor unchanged; seqnet's squeeze changes the rank)");
  Eigen::array<Index, R - 1> dims;
  for (int i = 0, j = 0; i < R; ++i)
    if (i != dim) dims[static_cast<std::size_t>(j++)] = x.dimension(i);
  Tensor<T, R - 1> y(dims);
  std::copy(x.data(), x.data() + x.size(), y.data());
  return y;
}

/// `x.unsqueeze(dim)`: the same values with a new dimension of size 1 at `dim` in [-(R+1), R].
template <typename T, int R>
Tensor<T, R + 1> unsqueeze(const Tensor<T, R>& x, Index dim) {
  dim = detail::wrap_dim(dim, R + 1);
  Eigen::array<Index, R + 1> dims;
  for (int i = 0, j = 0; i <= R; ++i) dims[static_cast<std::size_t>(i)] = i == dim ? 1 : x.dimension(j++);
  Tensor<T, R + 1> y(dims);
  std::copy(x.data(), x.data() + x.size(), y.data());
  return y;
}

/// `torch.sqrt(x)`, element-wise (NaN for negative elements, as in PyTorch).
template <typename T, int R>
Tensor<T, R> sqrt(const Tensor<T, R>& x) {
  return detail::map_elements(x, [](T v) { return std::sqrt(v); });
}
/// `torch.abs(x)`, element-wise.
template <typename T, int R>
Tensor<T, R> abs(const Tensor<T, R>& x) {
  return detail::map_elements(x, [](T v) { return std::abs(v); });
}
/// `torch.pow(x, exponent)` for a scalar exponent, element-wise: `pow(x, 2)` squares exactly (`x * x`), as
/// PyTorch's CPU kernel does for 2 (and 3, -1, 0.5, -0.5, which it computes the same way as here).
template <typename T, int R>
Tensor<T, R> pow(const Tensor<T, R>& x, double exponent) {
  if (exponent == 2.0) return detail::map_elements(x, [](T v) { return v * v; });
  if (exponent == 3.0) return detail::map_elements(x, [](T v) { return v * v * v; });
  if (exponent == 0.5) return detail::map_elements(x, [](T v) { return std::sqrt(v); });
  if (exponent == -0.5) return detail::map_elements(x, [](T v) { return T(1) / std::sqrt(v); });
  if (exponent == -1.0) return detail::map_elements(x, [](T v) { return T(1) / v; });
  const T e = static_cast<T>(exponent);
  return detail::map_elements(x, [e](T v) { return std::pow(v, e); });
}

}  // namespace seqnet
