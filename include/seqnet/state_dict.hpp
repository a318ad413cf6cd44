// SPDX-License-Identifier: MIT
/// @file state_dict.hpp
/// PyTorch's `state_dict()` / `load_state_dict()` for any seqnet module, and for models built from several
/// modules (`prefixed`, `join`), keyed by PyTorch's names (`rnn.weight_ih_l0`, `reg.0.weight`).
///
/// Everything here is written against one duck-typed interface: a "module" is anything with
/// `named_state()` (a `Module<T>`: parameters and persistent buffers, in PyTorch's state_dict order) or
/// else `named_parameters()`, returning `NamedParameters<T>` (or `NamedParameters<const T>` on a const object).
#pragma once

#include <algorithm>
#include <cstddef>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "errors.hpp"
#include "module.hpp"
#include "parameter.hpp"
#include "tensor.hpp"

namespace seqnet {

/// One tensor of a state dict: its shape and its values, row-major (PyTorch's contiguous order).
template <typename T>
struct TensorData {
  Shape shape;
  std::vector<T> values;
};

/// An ordered map from PyTorch parameter name to tensor, like the `OrderedDict` PyTorch's `state_dict()`
/// returns: iteration follows insertion order, names are unique.
template <typename T>
class StateDict {
 public:
  using value_type = std::pair<std::string, TensorData<T>>;
  using const_iterator = typename std::vector<value_type>::const_iterator;
  using iterator = typename std::vector<value_type>::iterator;

  /// Adds a tensor at the end; throws `key_error` if the name is taken and `shape_error` if the number of
  /// values is not the shape's element count.
  void insert(std::string name, Shape shape, std::vector<T> values) {
    detail::check<shape_error>(static_cast<Index>(values.size()) == shape.numel(), "state dict entry '", name,
                               "' has shape ", shape.str(), " (", shape.numel(), " values) but ", values.size(),
                               " values were given");
    detail::check<key_error>(index_.find(name) == index_.end(), "duplicate key '", name, "' in state dict");
    index_.emplace(name, entries_.size());
    entries_.emplace_back(std::move(name), TensorData<T>{std::move(shape), std::move(values)});
  }

  /// Removes a tensor; returns whether it was there.
  bool erase(const std::string& name) {
    auto it = index_.find(name);
    if (it == index_.end()) return false;
    entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(it->second));
    index_.clear();
    for (std::size_t i = 0; i < entries_.size(); ++i) index_.emplace(entries_[i].first, i);
    return true;
  }

  /// The tensor called `name`, or nullptr.
  const TensorData<T>* find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &entries_[it->second].second;
  }
  TensorData<T>* find(const std::string& name) {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &entries_[it->second].second;
  }
  bool contains(const std::string& name) const { return index_.count(name) != 0; }

  /// The tensor called `name`; throws `key_error` if there is none.
  const TensorData<T>& at(const std::string& name) const {
    const TensorData<T>* found = find(name);
    detail::check<key_error>(found != nullptr, "no key '", name, "' in state dict");
    return *found;
  }
  TensorData<T>& at(const std::string& name) {
    TensorData<T>* found = find(name);
    detail::check<key_error>(found != nullptr, "no key '", name, "' in state dict");
    return *found;
  }

  /// Gives the tensor called `name` a new shape with the same number of elements, its values unchanged
  /// (`sd[name] = sd[name].reshape(shape)`): how a weight saved by one layer type loads into another that
  /// holds the same numbers, e.g. a `Conv1d(128, 1, kernel_size=1)` weight `[1, 128, 1]` into a
  /// `Linear(128, 1)` `[1, 128]`. Throws `key_error` if there is no such tensor and `shape_error` (torch's
  /// words) if the element counts differ.
  void reshape(const std::string& name, Shape shape) {
    TensorData<T>& entry = at(name);
    detail::check<shape_error>(shape.numel() == entry.shape.numel(), "shape '", shape.str(),
                               "' is invalid for input of size ", entry.shape.numel());
    entry.shape = std::move(shape);
  }

  /// The names, in order.
  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    out.reserve(entries_.size());
    for (const auto& entry : entries_) out.push_back(entry.first);
    return out;
  }

  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }
  const_iterator begin() const noexcept { return entries_.begin(); }
  const_iterator end() const noexcept { return entries_.end(); }
  /// Iteration with writable values (the names and shapes must not be changed through it).
  iterator begin() noexcept { return entries_.begin(); }
  iterator end() noexcept { return entries_.end(); }

 private:
  std::vector<value_type> entries_;
  std::map<std::string, std::size_t> index_;
};

/// What `load_state_dict` returns: PyTorch's `_IncompatibleKeys`.
struct IncompatibleKeys {
  std::vector<std::string> missing_keys;     ///< the module's names the state dict lacks, in module order
  std::vector<std::string> unexpected_keys;  ///< the state dict's names the module lacks, in state-dict order

  bool empty() const noexcept { return missing_keys.empty() && unexpected_keys.empty(); }

  /// Python's repr: `<All keys matched successfully>` or
  /// `_IncompatibleKeys(missing_keys=['bias_hh_l0'], unexpected_keys=['x'])`.
  std::string str() const {
    if (empty()) return "<All keys matched successfully>";
    return "_IncompatibleKeys(missing_keys=" + list(missing_keys) + ", unexpected_keys=" + list(unexpected_keys) + ")";
  }

  friend std::ostream& operator<<(std::ostream& out, const IncompatibleKeys& keys) { return out << keys.str(); }

 private:
  static std::string list(const std::vector<std::string>& names) {
    std::string out = "[";
    for (std::size_t i = 0; i < names.size(); ++i) out += (i ? ", '" : "'") + names[i] + "'";
    return out + "]";
  }
};

namespace detail {

template <typename P>
struct parameter_scalar;
template <typename U>
struct parameter_scalar<Parameter<U>> {
  using type = U;
};

/// `Parameter<U>` element type of `m.named_parameters()`: `T` or `const T`.
template <typename M>
using named_element_t =
    typename parameter_scalar<typename decltype(std::declval<M&>().named_parameters())::value_type::second_type>::type;

template <typename M, typename = void>
struct has_const_named_parameters : std::false_type {};
template <typename M>
struct has_const_named_parameters<M, std::void_t<decltype(std::declval<const M&>().named_parameters())>>
    : std::true_type {};

/// `module` as const when it can be read that way (a const `named_parameters()` exists), else as it is.
template <typename M>
decltype(auto) readable(M& module) {
  if constexpr (has_const_named_parameters<M>::value) {
    return static_cast<const M&>(module);
  } else {
    return (module);
  }
}

template <typename M, typename = void>
struct has_named_state : std::false_type {};
template <typename M>
struct has_named_state<M, std::void_t<decltype(std::declval<M&>().named_state())>> : std::true_type {};

/// What a state dict holds for `module`: `named_state()` (parameters and persistent buffers) when the
/// module has it, else `named_parameters()`.
template <typename M>
auto named_state_of(M& module) {
  if constexpr (has_named_state<M>::value) {
    return module.named_state();
  } else {
    return module.named_parameters();
  }
}

template <typename P>
auto named_parameters_of(P& part) {
  return part.named_parameters();
}
template <typename U>
NamedParameters<U> named_parameters_of(const NamedParameters<U>& list) {
  return list;
}
template <typename U>
NamedParameters<U> named_parameters_of(NamedParameters<U>& list) {
  return list;
}

template <typename P>
struct part_element {
  using type = named_element_t<P>;
};
template <typename U>
struct part_element<NamedParameters<U>> {
  using type = U;
};
template <typename U>
struct part_element<const NamedParameters<U>> {
  using type = U;
};
template <typename P>
using part_element_t = typename part_element<std::remove_reference_t<P>>::type;

template <typename M, typename = void>
struct has_type_name : std::false_type {};
template <typename M>
struct has_type_name<M, std::void_t<decltype(std::string(std::declval<const M&>().type_name()))>> : std::true_type {};

template <typename M, typename = void>
struct has_repr : std::false_type {};
template <typename M>
struct has_repr<M, std::void_t<decltype(std::string(std::declval<const M&>().repr()))>> : std::true_type {};

/// The Python class name PyTorch prints in "Error(s) in loading state_dict for <name>": `type_name()` if the
/// model has one, else its `repr()` up to the first '(' (`LSTM(10, 20)` -> `LSTM`), else "Module".
template <typename M>
std::string module_type_name(const M& module) {
  if constexpr (has_type_name<M>::value) {
    return std::string(module.type_name());
  } else if constexpr (has_repr<M>::value) {
    const std::string repr = module.repr();
    return repr.substr(0, repr.find('('));
  } else {
    (void)module;
    return "Module";
  }
}

/// Throws `key_error` if two parameters share a name (a model that exposed two children under one prefix).
template <typename U>
void check_unique_names(const NamedParameters<U>& named) {
  std::set<std::string> seen;
  for (const auto& [name, parameter] : named)
    check<key_error>(seen.insert(name).second, "duplicate parameter name '", name, "'");
}

/// "Error(s) in loading state_dict for ..." in PyTorch's exact layout, or an empty string if all is well.
inline std::string load_error_message(const std::string& type_name, const IncompatibleKeys& keys, bool strict,
                                      const std::vector<std::string>& size_errors) {
  std::vector<std::string> messages;
  const auto quoted = [](const std::vector<std::string>& names) {
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i) out += (i ? ", \"" : "\"") + names[i] + "\"";
    return out;
  };
  if (strict && !keys.missing_keys.empty())
    messages.push_back("Missing key(s) in state_dict: " + quoted(keys.missing_keys) + ". ");
  if (strict && !keys.unexpected_keys.empty())
    messages.push_back("Unexpected key(s) in state_dict: " + quoted(keys.unexpected_keys) + ". ");
  messages.insert(messages.end(), size_errors.begin(), size_errors.end());
  if (messages.empty()) return {};
  std::string text = "Error(s) in loading state_dict for " + type_name + ":";
  for (const auto& message : messages) text += "\n\t" + message;
  return text;
}

/// Whether `M` is a `Module<T>` (which knows its children), not a struct built with `join`.
template <typename M, typename = void>
struct is_module_tree : std::false_type {};
template <typename M>
struct is_module_tree<M, std::void_t<typename M::Scalar>> : std::is_base_of<Module<typename M::Scalar>, M> {};

/// The keys of a state dict that name nothing in `module`. For a `Module` tree they are listed as
/// PyTorch's `load_state_dict` lists them, module by module, depth first: a module claims the keys under
/// its prefix whose next component is neither one of its own tensors nor one of its children. Otherwise
/// (a struct built with `join`), in the state dict's order.
template <typename M>
std::vector<std::string> unexpected_keys(const M& module, const std::vector<std::string>& keys,
                                         const std::set<std::string>& known) {
  std::vector<std::string> out;
  if constexpr (is_module_tree<M>::value) {
    for (const auto& [path, sub] : module.named_modules()) {
      const std::string prefix = path.empty() ? path : path + ".";
      std::set<std::string> local, children;
      for (const auto& entry : sub->named_state(false)) local.insert(entry.first);
      for (const auto& entry : sub->named_children()) children.insert(entry.first);
      for (const auto& key : keys) {
        if (known.count(key) != 0 || key.compare(0, prefix.size(), prefix) != 0) continue;
        const std::string rest = key.substr(prefix.size());
        if (local.count(rest) == 0 && children.count(rest.substr(0, rest.find('.'))) == 0) out.push_back(key);
      }
    }
  } else {
    (void)module;
    for (const auto& key : keys)
      if (known.count(key) == 0) out.push_back(key);
  }
  return out;
}

/// The one loading algorithm behind `load_state_dict` and `load_safetensors`. `source` is duck-typed:
/// `keys()` (ordered names), `find(name)` (pointer to an entry or nullptr), `shape(entry)` and
/// `copy(entry, T* out)`, which cannot fail (every source's values convert to `T`).
/// Everything is checked before the first value is written, so a failed load leaves the module unchanged.
template <typename M, typename Source>
IncompatibleKeys load_from_source(M& module, const Source& source, bool strict) {
  using T = named_element_t<M>;
  static_assert(!std::is_const_v<T>, "load_state_dict needs a writable module (named_parameters() returning "
                                     "NamedParameters<T>, not NamedParameters<const T>)");
  auto named = named_state_of(module);
  check_unique_names(named);

  IncompatibleKeys keys;
  std::vector<std::string> size_errors;
  std::vector<std::pair<Parameter<T>, decltype(source.find(std::string()))>> plan;
  std::set<std::string> known;
  for (auto& [name, parameter] : named) {
    known.insert(name);
    const auto entry = source.find(name);
    if (entry == nullptr) {
      keys.missing_keys.push_back(name);
      continue;
    }
    const Shape given = source.shape(*entry);
    if (given != parameter.dimensions()) {
      size_errors.push_back(concat("size mismatch for ", name, ": copying a param with shape torch.Size(", given.str(),
                                   ") from checkpoint, the shape in current model is torch.Size(",
                                   parameter.dimensions().str(), ")."));
      continue;
    }
    plan.emplace_back(parameter, entry);
  }
  keys.unexpected_keys = unexpected_keys(module, source.keys(), known);

  const std::string error = load_error_message(module_type_name(module), keys, strict, size_errors);
  if (!error.empty()) throw state_dict_error(error);
  for (auto& [parameter, entry] : plan) source.copy(*entry, parameter.data());
  return keys;
}

/// `load_from_source` adaptor for a `StateDict<U>` (values converted with static_cast, as torch's copy_).
template <typename U>
struct StateDictSource {
  const StateDict<U>& dict;

  std::vector<std::string> keys() const { return dict.keys(); }
  const TensorData<U>* find(const std::string& name) const { return dict.find(name); }
  static const Shape& shape(const TensorData<U>& entry) { return entry.shape; }
  template <typename T>
  static void copy(const TensorData<U>& entry, T* out) {
    std::transform(entry.values.begin(), entry.values.end(), out, [](const U& v) { return static_cast<T>(v); });
  }
};

}  // namespace detail

/// A child module seen from its parent: every parameter name gets `prefix + "."` in front, as PyTorch names
/// a submodule's parameters (`rnn.weight_ih_l0`, `reg.0.weight`). Holds a reference to `child`.
template <typename Child>
class Prefixed {
 public:
  Prefixed(std::string prefix, Child& child) : prefix_(std::move(prefix)), child_(&child) {}

  auto named_parameters() const {
    auto named = detail::named_parameters_of(*child_);
    for (auto& entry : named) entry.first = prefix_ + "." + entry.first;
    return named;
  }

 private:
  std::string prefix_;
  Child* child_;
};

/// `child`'s parameters under `prefix` (`prefixed("rnn", rnn)` names them `rnn.weight_ih_l0`, ...). For an
/// `nn.Sequential` child, put the index in the prefix: `prefixed("reg.0", linear)`.
template <typename Child>
Prefixed<Child> prefixed(std::string prefix, Child& child) {
  return Prefixed<Child>(std::move(prefix), child);
}

/// Concatenates the parameters of several parts (modules, `prefixed(...)` children or `NamedParameters`
/// lists) in argument order, as PyTorch orders a model's children by registration. The result is
/// read-only if any part is; a name that occurs twice throws `key_error`. A model then needs only
///
///     auto named_parameters() { return seqnet::join(seqnet::prefixed("rnn", rnn), seqnet::prefixed("reg.0", reg)); }
///     auto named_parameters() const { return seqnet::join(seqnet::prefixed("rnn", rnn), seqnet::prefixed("reg.0", reg)); }
template <typename... Parts>
auto join(Parts&&... parts) {
  static_assert(sizeof...(Parts) > 0, "join needs at least one part");
  using Scalar = std::common_type_t<std::remove_const_t<detail::part_element_t<Parts>>...>;
  constexpr bool read_only = (std::is_const_v<detail::part_element_t<Parts>> || ...);
  using Element = std::conditional_t<read_only, const Scalar, Scalar>;
  static_assert((std::is_same_v<std::remove_const_t<detail::part_element_t<Parts>>, Scalar> && ...),
                "join: all parts must have the same scalar type");
  NamedParameters<Element> out;
  const auto append = [&out](auto& part) {
    for (auto& [name, parameter] : detail::named_parameters_of(part))
      out.emplace_back(name, Parameter<Element>(parameter.data(), parameter.dimensions()));
  };
  (append(parts), ...);
  detail::check_unique_names(out);
  return out;
}

/// PyTorch's `module.state_dict()`: a copy of every parameter, in `named_parameters()` order. Takes a
/// const model if it has a const `named_parameters()`, else a non-const one (it only reads).
template <typename M>
auto state_dict(M&& module) {
  using T = std::remove_const_t<detail::named_element_t<std::remove_reference_t<M>>>;
  StateDict<T> dict;
  // Reading through the const overload keeps the parameters' version, so saving a model does not end
  // its `prepack()`.
  for (const auto& [name, parameter] : detail::named_state_of(detail::readable(module)))
    dict.insert(name, parameter.dimensions(),
                std::vector<T>(parameter.data(), parameter.data() + parameter.size()));
  return dict;
}

/// PyTorch's `module.load_state_dict(dict, strict)`. Copies every entry whose name and shape match a
/// parameter (converting the scalar type). Strict (the default): missing or unexpected keys throw
/// `state_dict_error` with PyTorch's message; a shape mismatch throws even when not strict, as in
/// PyTorch. Nothing is written unless the whole load succeeds. Returns the missing and unexpected keys.
template <typename M, typename U>
IncompatibleKeys load_state_dict(M& module, const StateDict<U>& dict, bool strict = true) {
  return detail::load_from_source(module, detail::StateDictSource<U>{dict}, strict);
}

}  // namespace seqnet
