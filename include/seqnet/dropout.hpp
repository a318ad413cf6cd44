// SPDX-License-Identifier: MIT
/// @file dropout.hpp
/// `Dropout<T>`: PyTorch's `torch.nn.Dropout` (and `F.dropout` as `dropout`): in training mode each element
/// is zeroed with probability p and the others are scaled by 1 / (1 - p) (inverted dropout), drawing from a
/// seqnet `Generator`; in evaluation mode, the identity.
#pragma once

#include <string>

#include "detail/util/format.hpp"
#include "errors.hpp"
#include "module.hpp"
#include "random.hpp"
#include "tensor.hpp"

namespace seqnet {

namespace detail {

inline void check_dropout_probability(double p) {
  SEQNET_CHECK(value_error, p >= 0.0 && p <= 1.0, "dropout probability has to be between 0 and 1, but got ",
               python_float_repr(p));
}

}  // namespace detail

/// `F.dropout(x, p, training)`: inverted dropout with masks from `generator` (element by element, in
/// row-major order; p = 1 gives zeros). The masks differ from PyTorch's, whose generator differs.
template <typename T, int R>
Tensor<T, R> dropout(const Tensor<T, R>& x, double p = 0.5, bool training = true,
                     Generator& generator = default_generator()) {
  detail::check_dropout_probability(p);
  if (!training || p == 0.0) return x;
  Tensor<T, R> y(x.dimensions());
  const T scale = p < 1.0 ? static_cast<T>(1.0 / (1.0 - p)) : T(0);
  for (Index i = 0; i < x.size(); ++i) y.data()[i] = generator.bernoulli(p) ? T(0) : x.data()[i] * scale;
  return y;
}

/// `torch.nn.Dropout(p=0.5)`: `dropout` in training mode (a module's default, as in PyTorch), the identity
/// after `eval()`. A probability outside [0, 1] throws `value_error`: `dropout probability has to be between
/// 0 and 1, but got 1.5`. The masks come from the generator given at construction (by default seqnet's).
template <typename T>
class Dropout : public Module<T> {
 public:
  explicit Dropout(double p = 0.5, Generator& generator = default_generator())
      : Module<T>("Dropout", detail::ParameterTable{}), p_(p), generator_(&generator) {
    detail::check_dropout_probability(p);
  }
  double p() const noexcept { return p_; }

  /// `Dropout(p=0.5, inplace=False)`.
  std::string repr() const override {
    return "Dropout(p=" + detail::python_float_repr(p_) + ", inplace=False)";
  }

  template <int R>
  Tensor<T, R> forward(const Tensor<T, R>& x) const {
    return dropout(x, p_, this->is_training(), *generator_);
  }
  template <int R>
  Tensor<T, R> operator()(const Tensor<T, R>& x) const {
    return forward(x);
  }

 private:
  double p_;
  Generator* generator_;
};

}  // namespace seqnet
