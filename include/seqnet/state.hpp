// SPDX-License-Identifier: MIT
#pragma once

#include <utility>

#include "tensor.hpp"

namespace seqnet {

/// `(h, c)` as LSTM and LSTMCell return it: `auto [h_n, c_n] = hc;`
template <typename T, int R>
using LSTMState = std::pair<Tensor<T, R>, Tensor<T, R>>;

/// `(h, c)` as LSTM and LSTMCell take it, without copying: built from `{h0, c0}` or from a returned `LSTMState`.
template <typename T, int R>
struct LSTMStateRef {
  const Tensor<T, R>& h;
  const Tensor<T, R>& c;

  LSTMStateRef(const Tensor<T, R>& h_, const Tensor<T, R>& c_) : h(h_), c(c_) {}
  LSTMStateRef(const LSTMState<T, R>& state) : h(state.first), c(state.second) {}  // NOLINT: implicit by design
};

}  // namespace seqnet
