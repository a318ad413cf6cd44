// SPDX-License-Identifier: MIT
#pragma once

#include <utility>

#include "tensor.hpp"

#if defined(__clang__)
#define SEQNET_LIFETIMEBOUND [[clang::lifetimebound]]
#else
#define SEQNET_LIFETIMEBOUND
#endif

namespace seqnet {

/// `(h, c)` as LSTM and LSTMCell return it: `auto [h_n, c_n] = hc;`
template <typename T, int R>
using LSTMState = std::pair<Tensor<T, R>, Tensor<T, R>>;

namespace detail {

/// A read-only tensor argument of any rank: its data and its shape, checked at run time.
template <typename T>
struct TensorArg {
  const T* data;
  Shape shape;
};

template <typename T, int R>
TensorArg<T> tensor_arg(const Tensor<T, R>& tensor) {
  return {tensor.data(), seqnet::shape(tensor)};
}

}  // namespace detail

/// `(h, c)` as LSTM and LSTMCell take it, without copying: built from `{h0, c0}` or from a returned
/// `LSTMState`. It records each tensor's own rank, so a state of the wrong rank is reported by the
/// module's shape check instead of being converted. It only points at the tensors: use it as a call
/// argument (`lstm(x, {h0, c0})`), never store one built from temporaries.
template <typename T>
class LSTMStateRef {
 public:
  template <int RH, int RC>
  LSTMStateRef(const Tensor<T, RH>& h SEQNET_LIFETIMEBOUND, const Tensor<T, RC>& c SEQNET_LIFETIMEBOUND)
      : h_(detail::tensor_arg(h)), c_(detail::tensor_arg(c)) {}
  template <int R>
  LSTMStateRef(const LSTMState<T, R>& state SEQNET_LIFETIMEBOUND)  // NOLINT: implicit so a returned state can be passed back
      : LSTMStateRef(state.first, state.second) {}

  const T* h_data() const noexcept { return h_.data; }
  const T* c_data() const noexcept { return c_.data; }
  const Shape& h_shape() const noexcept { return h_.shape; }
  const Shape& c_shape() const noexcept { return c_.shape; }
  /// Both as the modules' internal argument form.
  const detail::TensorArg<T>& h_arg() const noexcept { return h_; }
  const detail::TensorArg<T>& c_arg() const noexcept { return c_; }

 private:
  detail::TensorArg<T> h_;
  detail::TensorArg<T> c_;
};

}  // namespace seqnet
