// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/util/parameter_table.hpp"
#include "errors.hpp"
#include "parameter.hpp"

namespace seqnet {

/// Common base of every seqnet module (recurrent layers, cells, Linear, Embedding, Sequential, and your
/// own composite models): parameters and buffers with PyTorch's names, order and shapes, named child
/// modules, the training flag, and Python's repr.
///
/// A composite model is a class derived from `Module<T>` that registers its members as children, as a
/// PyTorch `nn.Module` assigns submodules in `__init__`:
///
///     struct VadModel : seqnet::Module<float> {
///       seqnet::Sequential<float> encoder;
///       seqnet::LSTMCell<float> rnn{128, 128};
///       VadModel() : Module("VadModel") {
///         register_module("encoder", &VadModel::encoder);
///         register_module("rnn", &VadModel::rnn);
///       }
///     };
///
/// Its `named_parameters()`, `named_buffers()` and `named_state()` (what `state_dict` saves and loads) then
/// name the children's tensors `encoder.0.weight`, `rnn.weight_ih`, ... in PyTorch's order.
template <typename T>
class Module {
  static_assert(std::is_floating_point_v<T>, "seqnet modules take float or double (or long double)");

 public:
  using Scalar = T;

  virtual ~Module() = default;

  /// Parameters in PyTorch's `named_parameters()` order (the module's own, then each child's under
  /// `child.`, depth first), as writable views: `for (auto& [name, p] : m.named_parameters())`.
  /// `recurse = false`: the module's own only. Like every writable accessor, starts a new
  /// `parameter_version()` (of every module visited), which ends a recurrent module's `prepack()`; read
  /// through a const module (`std::as_const(m).named_parameters()`) to keep it.
  NamedParameters<T> named_parameters(bool recurse = true) { return collect<T>(*this, Part::parameters, recurse); }
  NamedParameters<const T> named_parameters(bool recurse = true) const {
    return collect<const T>(*this, Part::parameters, recurse);
  }

  /// Buffers (persistent or not) in PyTorch's `named_buffers()` order: tensors that are state but not
  /// parameters, such as BatchNorm's `running_mean`. Writable access starts a new `parameter_version()`.
  NamedParameters<T> named_buffers(bool recurse = true) { return collect<T>(*this, Part::buffers, recurse); }
  NamedParameters<const T> named_buffers(bool recurse = true) const {
    return collect<const T>(*this, Part::buffers, recurse);
  }

  /// What PyTorch's `state_dict()` holds, in its order: per module, depth first, its parameters, then its
  /// persistent buffers, then its children's. `state_dict`, `load_state_dict`, `save_safetensors` and
  /// `load_safetensors` read and write exactly these.
  NamedParameters<T> named_state(bool recurse = true) { return collect<T>(*this, Part::state, recurse); }
  NamedParameters<const T> named_state(bool recurse = true) const { return collect<const T>(*this, Part::state, recurse); }

  /// One parameter by PyTorch name (`"weight_ih_l0"`, or through children `"decoder.rnn.weight_ih"`, as
  /// `get_parameter`); an unknown name throws `key_error`.
  Parameter<T> parameter(const std::string& name) { return lookup<T>(*this, name, Part::parameters); }
  Parameter<const T> parameter(const std::string& name) const { return lookup<const T>(*this, name, Part::parameters); }

  /// One buffer by name (`"running_mean"`, `"stft.forward_basis_buffer"`); an unknown name throws `key_error`.
  Parameter<T> buffer(const std::string& name) { return lookup<T>(*this, name, Part::buffers); }
  Parameter<const T> buffer(const std::string& name) const { return lookup<const T>(*this, name, Part::buffers); }

  /// The registered children, in registration order (`named_children()`).
  std::vector<std::pair<std::string, Module<T>*>> named_children() {
    std::vector<std::pair<std::string, Module<T>*>> out;
    for (const auto& child : children_) out.emplace_back(child.name, &child.get(*this));
    return out;
  }
  std::vector<std::pair<std::string, const Module<T>*>> named_children() const {
    std::vector<std::pair<std::string, const Module<T>*>> out;
    for (const auto& child : children_) out.emplace_back(child.name, &child.get(const_cast<Module&>(*this)));
    return out;
  }
  /// This module (named "") and every descendant, depth first, named by its path (`"decoder.rnn"`).
  std::vector<std::pair<std::string, Module<T>*>> named_modules() {
    std::vector<std::pair<std::string, Module<T>*>> out;
    walk<Module<T>>(*this, "", out);
    return out;
  }
  std::vector<std::pair<std::string, const Module<T>*>> named_modules() const {
    std::vector<std::pair<std::string, const Module<T>*>> out;
    walk<const Module<T>>(*this, "", out);
    return out;
  }

  /// Total number of scalars over all parameters, children's included.
  Index num_parameters() const noexcept {
    Index total = params_.size();
    for (const auto& child : children_) total += child.get(const_cast<Module&>(*this)).num_parameters();
    return total;
  }
  /// This module's own parameters back to back in `named_parameters(false)` order (the layout a device
  /// copy or a file uses). A composite's parameters live in its children.
  T* flat_parameters() noexcept { return params_.data(); }
  const T* flat_parameters() const noexcept { return params_.data(); }

  /// Gradients with respect to the parameters (PyTorch's `p.grad`), under the same names and shapes and
  /// in the same flat layout as the parameters. Backward passes add to them (they accumulate across
  /// calls, as in PyTorch) until `zero_grad()`. The buffer is allocated, zero, at the first non-const
  /// access; the const accessors throw `value_error` before that. Gradients are not parameters: writing
  /// them keeps `parameter_version()` and a `prepack()`.
  NamedParameters<T> named_gradients() { return collect<T>(*this, Part::gradients, true); }
  NamedParameters<const T> named_gradients() const { return collect<const T>(*this, Part::gradients, true); }
  /// One gradient by parameter name; an unknown name throws `key_error`.
  Parameter<T> gradient(const std::string& name) { return lookup<T>(*this, name, Part::gradients); }
  Parameter<const T> gradient(const std::string& name) const { return lookup<const T>(*this, name, Part::gradients); }
  /// This module's own gradients back to back, in `flat_parameters()` order.
  T* flat_gradients() { return params_.gradients(); }
  const T* flat_gradients() const { return params_.gradients(); }
  bool has_gradients() const noexcept { return params_.has_gradients(); }
  /// Calls `f(T* gradient, Index size)` for every parameter's gradient, this module's and then its
  /// children's (depth first, `named_gradients()` order), skipping modules whose gradients were never
  /// allocated (PyTorch's `p.grad is None`). Unlike `named_gradients()`, it allocates nothing.
  template <typename F>
  void for_each_gradient(F&& f) {
    if (params_.has_gradients()) {
      T* gradients = params_.gradients();
      for (const auto& entry : params_.table().entries) f(gradients + entry.offset, entry.shape.numel());
    }
    for (const auto& child : children_) child.get(*this).for_each_gradient(f);
  }
  /// Sets every gradient to zero, children's included (PyTorch's `zero_grad()`, whose default
  /// `set_to_none=True` frees them instead; the results of later backward passes are the same, and
  /// keeping the buffer keeps training steps allocation-free).
  void zero_grad() {
    params_.zero_gradients();
    for (const auto& child : children_) child.get(*this).zero_grad();
  }

  /// Changes whenever this module's own parameters or buffers may have been written: at every writable
  /// accessor call (and so at every load) and at `touch_parameters()`. Caches of derived forms (packed
  /// weights) compare it.
  std::uint64_t parameter_version() const noexcept { return params_.version(); }
  /// Declares that the parameters were written through a view obtained earlier (which no accessor saw),
  /// so that every cache derived from them (children's included) is rebuilt before its next use.
  void touch_parameters() noexcept {
    params_.touch();
    for (const auto& child : children_) child.get(*this).touch_parameters();
  }

  /// Training mode (PyTorch's default), for this module and its children: dropout is active.
  void train(bool on = true) noexcept {
    training_ = on;
    for (const auto& child : children_) child.get(*this).train(on);
  }
  /// Evaluation mode: dropout is a no-op.
  void eval() noexcept { train(false); }
  bool is_training() const noexcept { return training_; }

  /// The Python class name (`"LSTM"`, `"Sequential"`, `"VadModel"`), used in messages.
  const std::string& type_name() const noexcept { return type_name_; }

  /// What Python's `repr(module)` prints, e.g. `LSTM(100, 20, num_layers=4, bidirectional=True)`. The
  /// default is PyTorch's `nn.Module.__repr__`: the class name, `extra_repr()`, and each child as
  /// `(name): repr` indented by two spaces.
  virtual std::string repr() const {
    std::vector<std::string> lines;
    const std::string extra = extra_repr();
    for (std::size_t begin = 0; !extra.empty() && begin <= extra.size();) {
      const std::size_t end = std::min(extra.find('\n', begin), extra.size());
      lines.push_back(extra.substr(begin, end - begin));
      begin = end + 1;
    }
    const std::size_t extra_lines = lines.size();
    for (const auto& [name, child] : named_children()) {
      std::string text = child->repr();
      for (std::size_t at = text.find('\n'); at != std::string::npos; at = text.find('\n', at + 3)) text.insert(at + 1, "  ");
      lines.push_back("(" + name + "): " + text);
    }
    std::string out = type_name_ + "(";
    if (extra_lines == 1 && lines.size() == 1) {
      out += lines.front();
    } else if (!lines.empty()) {
      for (const auto& line : lines) out += "\n  " + line;
      out += "\n";
    }
    return out + ")";
  }
  /// The part of the repr between the parentheses (PyTorch's `extra_repr()`); empty by default.
  virtual std::string extra_repr() const { return {}; }

 protected:
  /// `type_name` is the Python class name used in messages (`'LSTM' object has no attribute ...`).
  Module(std::string type_name, detail::ParameterTable table)
      : params_(type_name, std::move(table)), type_name_(std::move(type_name)) {}
  /// A module with no parameters of its own: a composite, whose state lives in the children it registers.
  explicit Module(std::string type_name) : Module(std::move(type_name), detail::ParameterTable{}) {}
  Module(const Module&) = default;
  Module(Module&&) noexcept = default;
  Module& operator=(const Module&) = default;
  Module& operator=(Module&&) noexcept = default;

  /// PyTorch's `register_buffer(name, tensor, persistent)`: a tensor of `shape` filled with `fill`, saved
  /// and loaded by the state dict after the parameters when `persistent`. Declare buffers in the
  /// constructor (a declaration moves the earlier ones); read them with `buffer(name)`. Throws `key_error`
  /// for an empty or dotted name or one already taken, with PyTorch's words.
  void register_buffer(std::string name, Shape shape, T fill = T(0), bool persistent = true) {
    SEQNET_CHECK(key_error, name.find('.') == std::string::npos, "buffer name can't contain \".\"");
    SEQNET_CHECK(key_error, !name.empty(), "buffer name can't be empty string \"\"");
    check_free(name);
    buffers_.add(std::move(name), std::move(shape), fill, persistent);
  }

  /// PyTorch's `self.name = child`: registers the member `member` (`&VadModel::encoder`) as the child
  /// `name`. The member is found again from the object at each use, so copies and moves of the composite
  /// stay correct. Register in the order PyTorch's `__init__` assigns, which is the state dict's order.
  template <typename Derived, typename Child>
  void register_module(std::string name, Child Derived::*member) {
    static_assert(std::is_base_of_v<Module<T>, Child>, "register_module: the member must be a seqnet Module of the same scalar type");
    static_assert(std::is_base_of_v<Module<T>, Derived>, "register_module: pass a member of the class that registers it");
    register_child(std::move(name), [member](Module<T>& self) -> Module<T>& { return static_cast<Derived&>(self).*member; });
  }

  /// The general form behind `register_module`: `get` returns the child given this module (for children
  /// that are not plain members, such as `Sequential`'s).
  void register_child(std::string name, std::function<Module<T>&(Module<T>&)> get) {
    SEQNET_CHECK(key_error, name.find('.') == std::string::npos, "module name can't contain \".\", got: ", name);
    SEQNET_CHECK(key_error, !name.empty(), "module name can't be empty string \"\"");
    check_free(name);
    children_.push_back({std::move(name), std::move(get)});
  }

  detail::ParameterStore<T> params_;
  bool training_ = true;

 private:
  enum class Part { parameters, buffers, state, gradients };

  struct Child {
    std::string name;
    std::function<Module<T>&(Module<T>&)> get;
  };

  void check_free(const std::string& name) const {
    bool taken = params_.table().find(name) != nullptr || buffers_.table().find(name) != nullptr;
    for (const auto& child : children_) taken = taken || child.name == name;
    SEQNET_CHECK(key_error, !taken, "attribute '", name, "' already exists");
  }

  /// `U` is `T` (writable views: every module visited starts a new version) or `const T`.
  template <typename U, typename Self>
  static NamedParameters<U> collect(Self& self, Part part, bool recurse) {
    NamedParameters<U> out;
    collect_into<U>(self, std::string(), part, recurse, out);
    return out;
  }

  template <typename U, typename Self>
  static void collect_into(Self& self, const std::string& prefix, Part part, bool recurse, NamedParameters<U>& out) {
    const auto append = [&](NamedParameters<U> own) {
      for (auto& [name, view] : own) out.emplace_back(prefix + name, view);
    };
    if (part == Part::gradients) {
      append(self.params_.named_gradients());
    } else if (part != Part::buffers) {
      append(self.params_.named());
    }
    if (part == Part::buffers || part == Part::state) {
      if constexpr (!std::is_const_v<U>) {
        if (!self.buffers_.empty()) self.params_.touch();
      }
      self.buffers_.append_to(out, prefix, part == Part::state);
    }
    if (!recurse) return;
    for (const auto& child : self.children_) {
      Module<T>& module = child.get(const_cast<Module<T>&>(static_cast<const Module<T>&>(self)));
      if constexpr (std::is_const_v<U>) {
        collect_into<U>(std::as_const(module), prefix + child.name + ".", part, true, out);
      } else {
        collect_into<U>(module, prefix + child.name + ".", part, true, out);
      }
    }
  }

  /// `via_path`: reached through a dotted name, so an unknown last part gets `get_parameter`'s words.
  template <typename U, typename Self>
  static Parameter<U> lookup(Self& self, const std::string& name, Part part, bool via_path = false) {
    const std::size_t dot = name.find('.');
    if (dot != std::string::npos) {
      const std::string head = name.substr(0, dot);
      for (const auto& child : self.children_) {
        if (child.name != head) continue;
        Module<T>& module = child.get(const_cast<Module<T>&>(static_cast<const Module<T>&>(self)));
        if constexpr (std::is_const_v<U>) {
          return lookup<U>(std::as_const(module), name.substr(dot + 1), part, true);
        } else {
          return lookup<U>(module, name.substr(dot + 1), part, true);
        }
      }
      detail::fail<key_error>(self.type_name_, " has no attribute `", head, "`");
    }
    if (via_path) {
      const bool found = part == Part::buffers ? self.buffers_.table().find(name) != nullptr
                                               : self.params_.table().find(name) != nullptr;
      SEQNET_CHECK(key_error, found, self.type_name_, " has no attribute `", name, "`");
    }
    if (part == Part::buffers) {
      const Parameter<U> found = self.buffers_.template find<U>(name);
      SEQNET_CHECK(key_error, found.data() != nullptr, "'", self.type_name_, "' object has no attribute '", name, "'");
      if constexpr (!std::is_const_v<U>) self.params_.touch();
      return found;
    }
    if (part == Part::gradients) return self.params_.gradient(name);
    return self.params_.get(name);
  }

  template <typename M>
  static void walk(M& self, const std::string& path, std::vector<std::pair<std::string, M*>>& out) {
    out.emplace_back(path, &self);
    for (const auto& child : self.children_) {
      M& module = child.get(const_cast<Module<T>&>(static_cast<const Module<T>&>(self)));
      walk<M>(module, path.empty() ? child.name : path + "." + child.name, out);
    }
  }

  std::string type_name_;
  detail::BufferStore<T> buffers_;
  std::vector<Child> children_;
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

/// Restricts a layer's `operator()` to the ranks it takes (a 1-D layer: 2 unbatched, 3 batched), so that
/// `Sequential` sees which ranks it can pass; `forward` keeps a static_assert with PyTorch's words.
template <int R>
using if_unbatched_or_batched_1d = std::enable_if_t<R == 2 || R == 3, int>;

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
