// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>

#include "detail/util/parameter_table.hpp"
#include "parameter.hpp"

namespace seqnet {

/// Common base of every seqnet module (recurrent layers, cells, Linear, Embedding): parameters with
/// PyTorch's names, order and shapes, the training flag, and Python's repr.
template <typename T>
class Module {
  static_assert(std::is_floating_point_v<T>, "seqnet modules take float or double (or long double)");

 public:
  using Scalar = T;

  virtual ~Module() = default;

  /// Parameters in PyTorch's `named_parameters()` order, as writable views:
  /// `for (auto& [name, p] : m.named_parameters())`. Like every writable accessor, starts a new
  /// `parameter_version()`, which ends a recurrent module's `prepack()`; read through a const module
  /// (`std::as_const(m).named_parameters()`) to keep it.
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

  /// Gradients with respect to the parameters (PyTorch's `p.grad`), under the same names and shapes and
  /// in the same flat layout as the parameters. Backward passes add to them (they accumulate across
  /// calls, as in PyTorch) until `zero_grad()`. The buffer is allocated, zero, at the first non-const
  /// access; the const accessors throw `value_error` before that. Gradients are not parameters: writing
  /// them keeps `parameter_version()` and a `prepack()`.
  NamedParameters<T> named_gradients() { return params_.named_gradients(); }
  NamedParameters<const T> named_gradients() const { return params_.named_gradients(); }
  /// One gradient by parameter name; an unknown name throws `key_error`.
  Parameter<T> gradient(const std::string& name) { return params_.gradient(name); }
  Parameter<const T> gradient(const std::string& name) const { return params_.gradient(name); }
  /// All gradients back to back, in `flat_parameters()` order.
  T* flat_gradients() { return params_.gradients(); }
  const T* flat_gradients() const { return params_.gradients(); }
  bool has_gradients() const noexcept { return params_.has_gradients(); }
  /// Sets every gradient to zero (PyTorch's `zero_grad()`, whose default `set_to_none=True` frees them
  /// instead; the results of later backward passes are the same, and keeping the buffer keeps training
  /// steps allocation-free).
  void zero_grad() { params_.zero_gradients(); }

  /// Changes whenever the parameters may have been written: at every writable accessor call (and so at
  /// every load) and at `touch_parameters()`. Caches of derived forms (packed weights) compare it.
  std::uint64_t parameter_version() const noexcept { return params_.version(); }
  /// Declares that the parameters were written through a view obtained earlier (which no accessor saw),
  /// so that every cache derived from them is rebuilt before its next use.
  void touch_parameters() noexcept { params_.touch(); }

  /// Training mode (PyTorch's default): inter-layer dropout is active.
  void train(bool on = true) noexcept { training_ = on; }
  /// Evaluation mode: dropout is a no-op.
  void eval() noexcept { training_ = false; }
  bool is_training() const noexcept { return training_; }

  /// What Python's `repr(module)` prints, e.g. `LSTM(100, 20, num_layers=4, bidirectional=True)`.
  virtual std::string repr() const = 0;

 protected:
  /// `type_name` is the Python class name used in messages (`'LSTM' object has no attribute ...`).
  Module(std::string type_name, detail::ParameterTable table) : params_(std::move(type_name), std::move(table)) {}
  Module(const Module&) = default;
  Module(Module&&) noexcept = default;
  Module& operator=(const Module&) = default;
  Module& operator=(Module&&) noexcept = default;

  detail::ParameterStore<T> params_;
  bool training_ = true;
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

/// Gives `tensor` the (already validated) shape. Eigen reallocates only when the element count changes,
/// so a caller-owned output reused at one shape is allocated once.
template <typename T, int R>
void resize_to(Tensor<T, R>& tensor, const Shape& shape) {
  Eigen::array<Index, R> dims;
  for (int i = 0; i < R; ++i) dims[static_cast<std::size_t>(i)] = i < shape.rank() ? shape[i] : 1;
  tensor.resize(dims);
}

}  // namespace detail
}  // namespace seqnet
