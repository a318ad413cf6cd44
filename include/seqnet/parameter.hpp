// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "detail/util/parameter_table.hpp"
#include "errors.hpp"
#include "tensor.hpp"

namespace seqnet {

/// A view of one parameter inside a module: writable when `T` is non-const. It stays valid while the
/// module it came from is alive and not moved.
template <typename T>
class Parameter {
 public:
  using Scalar = std::remove_const_t<T>;

  Parameter(T* data, Shape shape) : data_(data), shape_(std::move(shape)) {}

  T* data() const noexcept { return data_; }
  Index size() const noexcept { return shape_.numel(); }
  /// PyTorch's `.shape`, e.g. `[80, 100]`.
  const Shape& dimensions() const noexcept { return shape_; }
  Index rank() const noexcept { return shape_.rank(); }

  /// The values as an Eigen tensor map of rank `R`; throws `shape_error` if the parameter's rank differs.
  template <int R>
  auto tensor() const {
    SEQNET_CHECK(shape_error, rank() == R, "parameter has ", rank(), " dimensions, not ", R);
    using Mapped = std::conditional_t<std::is_const_v<T>, const Tensor<Scalar, R>, Tensor<Scalar, R>>;
    Eigen::array<Index, R> dims;
    for (int i = 0; i < R; ++i) dims[static_cast<std::size_t>(i)] = shape_[i];
    return Eigen::TensorMap<Mapped>(data_, dims);
  }

  /// The values flattened into an Eigen vector map.
  auto flat() const {
    using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
    using Mapped = std::conditional_t<std::is_const_v<T>, const Vector, Vector>;
    return Eigen::Map<Mapped>(data_, size());
  }

  /// Copies `values` in; throws `shape_error` naming both shapes if they differ.
  template <int R>
  void assign(const Tensor<Scalar, R>& values) const {
    static_assert(!std::is_const_v<T>, "cannot assign through a read-only parameter view");
    const Shape given = seqnet::shape(values);
    SEQNET_CHECK(shape_error, given == shape_, "parameter shape mismatch: expected ", shape_.str(), ", got ",
                 given.str());
    std::copy(values.data(), values.data() + values.size(), data_);
  }

 private:
  T* data_;
  Shape shape_;
};

/// Name-ordered list returned by `named_parameters()`.
template <typename T>
using NamedParameters = std::vector<std::pair<std::string, Parameter<T>>>;

namespace detail {

/// Owns all of a module's parameters in one flat buffer laid out as its `ParameterTable` says, so a
/// whole module can be copied to a device, saved or loaded in one piece. Values start at zero; the
/// owning module initialises them.
template <typename T>
class ParameterStore {
 public:
  ParameterStore(std::string owner, ParameterTable table)
      : owner_(std::move(owner)), table_(std::move(table)), values_(static_cast<std::size_t>(table_.total_size)) {}

  // Every writable access counts as a write: it starts a new version (see `version()`).
  NamedParameters<T> named() {
    touch();
    return named_impl<T>(values_.data());
  }
  NamedParameters<const T> named() const { return named_impl<const T>(values_.data()); }

  Parameter<T> get(const std::string& name) {
    Parameter<T> parameter = get_impl<T>(values_.data(), name);
    touch();
    return parameter;
  }
  Parameter<const T> get(const std::string& name) const { return get_impl<const T>(values_.data(), name); }

  const ParameterTable& table() const noexcept { return table_; }
  const T* data() const noexcept { return values_.data(); }
  T* data() noexcept {
    touch();
    return values_.data();
  }
  Index size() const noexcept { return table_.total_size; }

  /// Identifies the current values: it changes at every writable access (`named()`, `get()`, `data()`
  /// on a non-const store) and at `touch()`, and never repeats, in this store or any other (a process-wide
  /// counter), so a cache of something derived from the values (packed weights) is valid exactly while the
  /// version it recorded is still the current one. A copy keeps the version of the values it copied.
  std::uint64_t version() const noexcept { return version_; }
  /// Starts a new version: the values may have been written through a view obtained earlier.
  void touch() noexcept { version_ = next_version(); }

  /// Gradients: a second buffer with the parameters' layout, names and shapes (PyTorch's `.grad`),
  /// allocated at the first writable access and zero until a backward pass adds to it. Writing
  /// gradients never changes `version()`.
  bool has_gradients() const noexcept { return !grads_.empty() || table_.total_size == 0; }
  NamedParameters<T> named_gradients() { return named_impl<T>(gradients()); }
  NamedParameters<const T> named_gradients() const { return named_impl<const T>(gradients()); }
  Parameter<T> gradient(const std::string& name) { return get_impl<T>(gradients(), name); }
  Parameter<const T> gradient(const std::string& name) const { return get_impl<const T>(gradients(), name); }
  T* gradients() {
    if (grads_.empty()) grads_.assign(values_.size(), T(0));
    return grads_.data();
  }
  const T* gradients() const {
    SEQNET_CHECK(value_error, has_gradients(), "'", owner_,
                 "' has no gradients yet: call backward, zero_grad() or a non-const gradient accessor first");
    return grads_.data();
  }
  /// Sets every gradient to zero (PyTorch's `zero_grad()`; the buffer is kept, so this never allocates
  /// after the first call).
  void zero_gradients() {
    T* g = gradients();
    std::fill(g, g + table_.total_size, T(0));
  }

 private:
  template <typename U>
  NamedParameters<U> named_impl(U* base) const {
    NamedParameters<U> out;
    out.reserve(table_.entries.size());
    for (const auto& entry : table_.entries) out.emplace_back(entry.name, Parameter<U>(base + entry.offset, entry.shape));
    return out;
  }
  template <typename U>
  Parameter<U> get_impl(U* base, const std::string& name) const {
    const ParameterInfo* entry = table_.find(name);
    SEQNET_CHECK(key_error, entry != nullptr, "'", owner_, "' object has no attribute '", name, "'");
    return Parameter<U>(base + entry->offset, entry->shape);
  }

  static std::uint64_t next_version() noexcept {
    static std::atomic<std::uint64_t> counter{0};
    return counter.fetch_add(1, std::memory_order_relaxed) + 1;
  }

  std::string owner_;
  ParameterTable table_;
  std::vector<T> values_;
  std::vector<T> grads_;  ///< empty until first needed
  std::uint64_t version_ = next_version();
};

/// A module's buffers (PyTorch's `register_buffer`): tensors that are state but not parameters, such as
/// BatchNorm's running statistics. Each has a name, a shape and a `persistent` flag (persistent buffers
/// are saved and loaded with the state dict, after the module's parameters). Declared one by one while
/// the module is built, so views taken before the last declaration may dangle.
template <typename T>
class BufferStore {
 public:
  void add(std::string name, Shape shape, T fill, bool persistent) {
    const Index offset = table_.add(std::move(name), std::move(shape));
    values_.resize(static_cast<std::size_t>(table_.total_size), fill);
    std::fill(values_.begin() + static_cast<std::ptrdiff_t>(offset), values_.end(), fill);
    persistent_.push_back(persistent);
  }

  const ParameterTable& table() const noexcept { return table_; }
  bool persistent(std::size_t i) const noexcept { return persistent_[i]; }
  bool empty() const noexcept { return table_.entries.empty(); }

  /// The buffers in declaration order; `persistent_only` keeps those a state dict holds.
  template <typename U>
  void append_to(NamedParameters<U>& out, const std::string& prefix, bool persistent_only) const {
    U* base = const_cast<U*>(values_.data());
    for (std::size_t i = 0; i < table_.entries.size(); ++i) {
      if (persistent_only && !persistent_[i]) continue;
      const ParameterInfo& entry = table_.entries[i];
      out.emplace_back(prefix + entry.name, Parameter<U>(base + entry.offset, entry.shape));
    }
  }
  template <typename U>
  Parameter<U> find(const std::string& name) const {
    const ParameterInfo* entry = table_.find(name);
    if (entry == nullptr) return Parameter<U>(nullptr, Shape());
    return Parameter<U>(const_cast<U*>(values_.data()) + entry->offset, entry->shape);
  }

 private:
  ParameterTable table_;
  std::vector<T> values_;
  std::vector<bool> persistent_;
};

}  // namespace detail
}  // namespace seqnet
