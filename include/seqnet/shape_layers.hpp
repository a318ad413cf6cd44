// SPDX-License-Identifier: MIT
/// @file shape_layers.hpp
/// The layers that pass values through unchanged: `Identity<T>` (`torch.nn.Identity`) and `Flatten<T>`
/// (`torch.nn.Flatten`), which merges a range of dimensions into one.
#pragma once

#include <string>

#include "detail/util/format.hpp"
#include "errors.hpp"
#include "module.hpp"
#include "tensor.hpp"
#include "tensor_ops.hpp"

namespace seqnet {

/// `torch.nn.Identity()`: returns its input.
template <typename T>
class Identity : public Module<T> {
 public:
  Identity() : Module<T>("Identity", detail::ParameterTable{}) {}
  std::string repr() const override { return "Identity()"; }
  template <int R>
  Tensor<T, R> forward(const Tensor<T, R>& x) const {
    return x;
  }
  template <int R>
  Tensor<T, R> operator()(const Tensor<T, R>& x) const {
    return x;
  }
};

/// `torch.nn.Flatten(start_dim=1, end_dim=-1)`: dimensions `start_dim .. end_dim` merged into one. seqnet's
/// ranks are static, so the result rank is a template argument of `forward`, 2 by default (what the default
/// options give): `flatten(x)` for `[N, C, L]` -> `[N, C * L]`, `flatten.forward<3>(x4)` for other options.
/// A result rank that the options do not give throws `shape_error`; dimensions out of range or
/// `start_dim` after `end_dim` throw PyTorch's errors (`index_error`, `value_error`: `flatten() has invalid
/// args: start_dim cannot come after end_dim`).
template <typename T>
class Flatten : public Module<T> {
 public:
  explicit Flatten(Index start_dim = 1, Index end_dim = -1)
      : Module<T>("Flatten", detail::ParameterTable{}), start_dim_(start_dim), end_dim_(end_dim) {}
  Index start_dim() const noexcept { return start_dim_; }
  Index end_dim() const noexcept { return end_dim_; }

  /// `Flatten(start_dim=1, end_dim=-1)`.
  std::string repr() const override {
    return detail::concat("Flatten(start_dim=", start_dim_, ", end_dim=", end_dim_, ")");
  }

  template <int OutRank = 2, int R>
  Tensor<T, OutRank> forward(const Tensor<T, R>& x) const {
    const Index start = detail::wrap_dim(start_dim_, R), end = detail::wrap_dim(end_dim_, R);
    SEQNET_CHECK(value_error, start <= end, "flatten() has invalid args: start_dim cannot come after end_dim");
    const Index rank = R == 0 ? 1 : R - (end - start);
    SEQNET_CHECK(shape_error, rank == OutRank, "Flatten(start_dim=", start_dim_, ", end_dim=", end_dim_,
                 ") of a rank-", R, " tensor gives rank ", rank, ", not ", OutRank,
                 ": call forward<", rank, ">(x)");
    Eigen::array<Index, OutRank> dims;
    dims.fill(1);  // every element is written below; GCC at -O1 cannot see it
    for (Index i = 0, j = 0; i < R; ++i) {
      if (i > start && i <= end) {
        dims[static_cast<std::size_t>(j - 1)] *= x.dimension(i);
      } else {
        dims[static_cast<std::size_t>(j++)] = x.dimension(i);
      }
    }
    if constexpr (R == 0) dims[0] = 1;
    Tensor<T, OutRank> y(dims);
    std::copy(x.data(), x.data() + x.size(), y.data());
    return y;
  }
  template <int OutRank = 2, int R>
  Tensor<T, OutRank> operator()(const Tensor<T, R>& x) const {
    return forward<OutRank>(x);
  }

 private:
  Index start_dim_, end_dim_;
};

}  // namespace seqnet
