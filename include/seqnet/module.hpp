// SPDX-License-Identifier: MIT
#pragma once

#include <ostream>
#include <string>
#include <type_traits>

#include "detail/spec.hpp"
#include "parameter.hpp"
#include "random.hpp"

namespace seqnet {

/// Common base of every seqnet module: parameters with PyTorch's names, order and shapes, the
/// training flag, and Python's repr.
template <typename T>
class Module {
  static_assert(std::is_floating_point_v<T>, "seqnet modules take float or double (or long double)");

 public:
  using Scalar = T;

  /// Parameters in PyTorch's `named_parameters()` order, as writable views:
  /// `for (auto& [name, p] : m.named_parameters())`.
  NamedParameters<T> named_parameters() { return params_.named(); }
  NamedParameters<const T> named_parameters() const { return params_.named(); }

  /// One parameter by PyTorch name (`"weight_ih_l0"`, `"bias_hh_l1_reverse"`); an unknown name throws `key_error`.
  Parameter<T> parameter(const std::string& name) { return params_.get(name); }
  Parameter<const T> parameter(const std::string& name) const { return params_.get(name); }

  /// Total number of scalars over all parameters.
  Index num_parameters() const noexcept { return params_.size(); }
  /// All parameters back to back in `named_parameters()` order (the layout a device copy or a file uses).
  T* flat_parameters() noexcept { return params_.data(); }
  const T* flat_parameters() const noexcept { return params_.data(); }

  /// Re-draws every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch's `reset_parameters`.
  void reset_parameters(Generator& generator = default_generator()) { params_.reset(spec_, generator); }

  /// Training mode (PyTorch's default): inter-layer dropout is active.
  void train(bool on = true) noexcept { training_ = on; }
  /// Evaluation mode: dropout is a no-op.
  void eval() noexcept { training_ = false; }
  bool is_training() const noexcept { return training_; }

  /// The generator dropout masks are drawn from; by default `default_generator()`. A training-mode
  /// forward with dropout > 0 advances it, so modules running concurrently in training mode need
  /// generators of their own (eval-mode forwards touch no shared state).
  void set_generator(Generator& generator) noexcept { generator_ = &generator; }

  /// What Python's `repr(module)` prints, e.g. `LSTM(100, 20, num_layers=4, bidirectional=True)`.
  std::string repr() const { return spec_.repr(); }

  /// The shape description the forward pass, the checks and the parameter layout are derived from.
  const detail::RecurrentSpec& spec() const noexcept { return spec_; }

 protected:
  Module(const detail::RecurrentSpec& spec, Generator& generator) : spec_(validated(spec)), params_(spec_, generator) {}

  Generator& generator() const noexcept { return generator_ != nullptr ? *generator_ : default_generator(); }

  detail::RecurrentSpec spec_;
  detail::ParameterStore<T> params_;
  bool training_ = true;
  Generator* generator_ = nullptr;

 private:
  static const detail::RecurrentSpec& validated(const detail::RecurrentSpec& spec) {
    spec.validate();
    return spec;
  }
};

/// Prints Python's repr of the module.
template <typename T>
std::ostream& operator<<(std::ostream& out, const Module<T>& module) {
  return out << module.repr();
}

namespace detail {

/// A tensor of rank `R` with the given (already validated) shape.
template <typename T, int R>
Tensor<T, R> make_tensor(const Shape& shape) {
  Eigen::array<Index, R> dims;
  for (int i = 0; i < R; ++i) dims[static_cast<std::size_t>(i)] = i < shape.rank() ? shape[i] : 1;
  return Tensor<T, R>(dims);
}

}  // namespace detail
}  // namespace seqnet
