// SPDX-License-Identifier: MIT
/// @file optim/optimizer.hpp
/// What every optimizer shares: parameters named as (module, name) pairs, PyTorch's parameter groups, the
/// per-parameter state and its export to named tensors (`state_dict()` / `load_state_dict()`).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "../errors.hpp"
#include "../module.hpp"
#include "../state_dict.hpp"
#include "../tensor.hpp"
#include "../detail/util/format.hpp"

namespace seqnet::optim {

/// One parameter of a module, or all of them: an optimizer never keeps a pointer into a module's buffer,
/// it writes through `Module::flat_parameters()` at every step so that the module's `parameter_version()`
/// moves on and no packed copy of the weights goes stale.
template <typename T>
struct ParameterRef {
  /// All parameters of `module`, in `named_parameters()` order.
  ParameterRef(Module<T>* module) : module(module) {}  // NOLINT: implicit, so that `{&lstm, &head}` reads as in PyTorch
  /// The parameter called `name` (PyTorch's name, e.g. `"weight_ih_l0"`).
  ParameterRef(Module<T>* module, std::string name) : module(module), name(std::move(name)) {}

  Module<T>* module;
  std::string name;  ///< empty: all parameters of the module
};

/// Adam's `(beta1, beta2)`.
using Betas = std::pair<double, double>;

/// Declares an optional per-group override with a chained setter, `group.lr(1e-4)`, and a getter.
#define SEQNET_GROUP_OVERRIDE(Type, name)                          \
 public:                                                           \
  ParamGroup& name(const Type& value) {                            \
    this->name##_ = value;                                         \
    return *this;                                                  \
  }                                                                \
  const std::optional<Type>& name() const noexcept { return name##_; } \
                                                                   \
 private:                                                          \
  std::optional<Type> name##_

/// A parameter group as PyTorch writes it, `{'params': [...], 'lr': 1e-4}`: parameters plus the options
/// that differ from the optimizer's defaults (every option not set here is the optimizer's default, as in
/// PyTorch's `add_param_group`). An override the optimizer does not have (momentum for Adam) throws
/// `value_error` when the optimizer is built.
/// Example: `ParamGroup<double>({&head}).lr(1e-4).weight_decay(0.0)`.
template <typename T>
class ParamGroup {
 public:
  explicit ParamGroup(std::vector<ParameterRef<T>> params) : params_(std::move(params)) {}
  const std::vector<ParameterRef<T>>& params() const noexcept { return params_; }

  SEQNET_GROUP_OVERRIDE(double, lr);
  SEQNET_GROUP_OVERRIDE(double, weight_decay);
  SEQNET_GROUP_OVERRIDE(bool, maximize);
  SEQNET_GROUP_OVERRIDE(double, eps);
  SEQNET_GROUP_OVERRIDE(double, momentum);
  SEQNET_GROUP_OVERRIDE(double, dampening);
  SEQNET_GROUP_OVERRIDE(bool, nesterov);
  SEQNET_GROUP_OVERRIDE(Betas, betas);
  SEQNET_GROUP_OVERRIDE(bool, amsgrad);
  SEQNET_GROUP_OVERRIDE(double, alpha);
  SEQNET_GROUP_OVERRIDE(bool, centered);
  SEQNET_GROUP_OVERRIDE(double, lr_decay);
  SEQNET_GROUP_OVERRIDE(double, initial_accumulator_value);

 private:
  std::vector<ParameterRef<T>> params_;
};

#undef SEQNET_GROUP_OVERRIDE

namespace detail {

/// Where one optimized parameter lives: its module, its place in the module's flat buffer and its shape.
template <typename T>
struct Slot {
  Module<T>* module;
  std::string name;
  Index offset;
  Shape shape;
  Index size() const noexcept { return shape.numel(); }
};

/// The state PyTorch keeps in `optimizer.state[p]`: the step count (a float tensor in PyTorch, exact as a
/// double) and the state tensors of the parameter, back to back in one buffer in the order of `names`.
/// It exists from the parameter's first step on (or, for Adagrad, from the optimizer's construction).
template <typename T>
struct ParamState {
  bool initialized = false;
  /// Buffers just created, never stepped: SGD starts its momentum buffer as a copy of the first gradient.
  bool fresh = true;
  double step = 0.0;
  std::vector<const char*> names;
  std::vector<T> buffers;

  T* buffer(std::size_t index, Index size) noexcept { return buffers.data() + static_cast<Index>(index) * size; }
};

/// torch.lerp as ATen computes it (Lerp.h, `lerp_vec`): from the nearer end, with one fused multiply-add,
/// `self + weight * (end - self)` for |weight| < 0.5, else `end + (weight - 1) * (end - self)`.
template <typename T>
inline T lerp(T self, T end, T weight) noexcept {
  const bool small = std::abs(weight) < T(0.5);
  return std::fma(small ? weight : weight - T(1), end - self, small ? self : end);
}

/// torch.maximum: NaN if either side is NaN.
template <typename T>
inline T maximum(T a, T b) noexcept {
  if (std::isnan(a) || std::isnan(b)) return a + b;
  return a < b ? b : a;
}

inline std::string index_key(const char* head, std::size_t index, const std::string& tail) {
  return std::string(head) + "." + std::to_string(index) + "." + tail;
}

}  // namespace detail

/// One hyperparameter as `state_dict()` exports it: a scalar (bools as 0/1) or, for `betas`, two values.
struct Hyperparameter {
  std::string name;
  std::vector<double> values;
};

/// The interface the schedulers and `clip_grad_norm_` use, and the parameter bookkeeping all optimizers
/// share: which parameters, in which groups, and their state.
template <typename T>
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// One optimization step over every parameter that has a gradient (a module that has never had a
  /// gradient buffer counts as PyTorch's `p.grad is None`, and its parameters are skipped).
  virtual void step() = 0;

  /// Sets every optimized gradient to zero. PyTorch's default `set_to_none=True` frees them instead; the
  /// only difference is that a step without a backward pass in between then still moves parameters that
  /// have momentum-like state, where PyTorch would skip them.
  void zero_grad() {
    for (const auto& slot : slots_) {
      T* gradient = slot.module->flat_gradients() + slot.offset;
      std::fill(gradient, gradient + slot.size(), T(0));
    }
  }

  /// PyTorch's `len(optimizer.param_groups)`.
  std::size_t num_param_groups() const noexcept { return group_begin_.size() - 1; }
  /// `param_groups[group]['lr']`.
  virtual double lr(std::size_t group) const = 0;
  /// Sets `param_groups[group]['lr']` (what the schedulers do between steps).
  virtual void set_lr(std::size_t group, double lr) = 0;

  /// Every optimized parameter in PyTorch's state order (groups in order, parameters in group order); the
  /// position is the index `state_dict()` uses.
  std::vector<ParameterRef<T>> parameters() const {
    std::vector<ParameterRef<T>> out;
    out.reserve(slots_.size());
    for (const auto& slot : slots_) out.emplace_back(slot.module, slot.name);
    return out;
  }
  /// The parameters of one group, in order.
  std::vector<ParameterRef<T>> group_parameters(std::size_t group) const {
    check_group(group);
    std::vector<ParameterRef<T>> out;
    for (std::size_t i = group_begin_[group]; i < group_begin_[group + 1]; ++i)
      out.emplace_back(slots_[i].module, slots_[i].name);
    return out;
  }

  /// The optimizer's state as named tensors, PyTorch's `optimizer.state_dict()` flattened:
  /// `state.<index>.<buffer>` (e.g. `state.0.exp_avg`, shaped as the parameter) and `state.<index>.step`
  /// (rank 0) for every parameter that has state, then per group `param_groups.<g>.params` (the indices
  /// of its parameters) and its hyperparameters, `param_groups.<g>.lr` (rank 0; `betas` has shape [2],
  /// bools are 0/1). Values are doubles whatever `T` is (floats convert exactly), so that
  /// `save_safetensors(path, optimizer.state_dict())` keeps every bit.
  StateDict<double> state_dict() const {
    StateDict<double> dict;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      const detail::ParamState<T>& state = states_[i];
      if (!state.initialized) continue;
      if (has_step_count()) dict.insert(detail::index_key("state", i, "step"), Shape{}, {state.step});
      const Index size = slots_[i].size();
      for (std::size_t b = 0; b < state.names.size(); ++b) {
        const T* values = state.buffers.data() + static_cast<Index>(b) * size;
        dict.insert(detail::index_key("state", i, state.names[b]), slots_[i].shape,
                    std::vector<double>(values, values + size));
      }
    }
    for (std::size_t g = 0; g < num_param_groups(); ++g) {
      std::vector<double> indices;
      for (std::size_t i = group_begin_[g]; i < group_begin_[g + 1]; ++i) indices.push_back(static_cast<double>(i));
      const Index count = static_cast<Index>(indices.size());
      dict.insert(detail::index_key("param_groups", g, "params"), Shape{count}, std::move(indices));
      for (auto& hyper : hyperparameters(g)) {
        Shape shape = hyper.values.size() == 1 ? Shape{} : Shape{static_cast<Index>(hyper.values.size())};
        dict.insert(detail::index_key("param_groups", g, hyper.name), shape, std::move(hyper.values));
      }
    }
    return dict;
  }

  /// Restores what `state_dict()` exported (e.g. read back with
  /// `Safetensors::read(path).state_dict<double>()`): the hyperparameters of every group and the state of
  /// every parameter, so that training resumes on the identical trajectory. As PyTorch, the groups must
  /// match in number (`value_error` "loaded state dict has a different number of parameter groups") and
  /// size ("loaded state dict contains a parameter group that doesn't match the size of optimizer's
  /// group"); a missing entry throws `key_error`, a state tensor of the wrong shape or a key this optimizer
  /// does not use `state_dict_error`. Nothing changes unless everything fits.
  void load_state_dict(const StateDict<double>& dict) {
    std::size_t saved_groups = 0;
    while (dict.contains(detail::index_key("param_groups", saved_groups, "params"))) ++saved_groups;
    SEQNET_CHECK(value_error, saved_groups == num_param_groups(),
                 "loaded state dict has a different number of parameter groups");
    for (std::size_t g = 0; g < saved_groups; ++g)
      SEQNET_CHECK(value_error,
                   dict.at(detail::index_key("param_groups", g, "params")).shape.numel() ==
                       static_cast<Index>(group_begin_[g + 1] - group_begin_[g]),
                   "loaded state dict contains a parameter group that doesn't match the size of optimizer's group");

    std::set<std::string> used;
    std::vector<std::vector<Hyperparameter>> groups(saved_groups);
    for (std::size_t g = 0; g < saved_groups; ++g) {
      used.insert(detail::index_key("param_groups", g, "params"));
      for (auto hyper : hyperparameters(g)) {
        const std::string key = detail::index_key("param_groups", g, hyper.name);
        const TensorData<double>& entry = dict.at(key);
        SEQNET_CHECK(state_dict_error, entry.values.size() == hyper.values.size(), "size mismatch for ", key,
                     ": copying a param with shape ", entry.shape.str(), " from checkpoint");
        hyper.values = entry.values;
        groups[g].push_back(std::move(hyper));
        used.insert(key);
      }
    }

    std::vector<detail::ParamState<T>> states(slots_.size());
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      const std::size_t group = group_of(i);
      const std::vector<const char*> names = state_names(group, groups[group]);
      const std::string step_key = detail::index_key("state", i, "step");
      bool present = has_step_count() ? dict.contains(step_key) : false;
      for (const char* name : names) present = present || dict.contains(detail::index_key("state", i, name));
      if (!present) continue;
      detail::ParamState<T>& state = states[i];
      state.initialized = true;
      state.fresh = false;
      state.names = names;
      if (has_step_count()) {
        const TensorData<double>& step = dict.at(step_key);
        SEQNET_CHECK(state_dict_error, step.values.size() == 1, "size mismatch for ", step_key,
                     ": copying a param with shape ", step.shape.str(), " from checkpoint, the shape in current optimizer is []");
        state.step = step.values[0];
        used.insert(step_key);
      }
      const Index size = slots_[i].size();
      state.buffers.resize(static_cast<std::size_t>(size) * names.size());
      for (std::size_t b = 0; b < names.size(); ++b) {
        const std::string key = detail::index_key("state", i, names[b]);
        const TensorData<double>& entry = dict.at(key);
        SEQNET_CHECK(state_dict_error, entry.shape == slots_[i].shape, "size mismatch for ", key,
                     ": copying a param with shape ", entry.shape.str(),
                     " from checkpoint, the shape in current optimizer is ", slots_[i].shape.str(), ".");
        for (Index j = 0; j < size; ++j) state.buffer(b, size)[j] = static_cast<T>(entry.values[static_cast<std::size_t>(j)]);
        used.insert(key);
      }
    }
    std::vector<std::string> unexpected;
    for (const auto& entry : dict)
      if (used.count(entry.first) == 0) unexpected.push_back("\"" + entry.first + "\"");
    if (!unexpected.empty()) {
      std::string list;
      for (std::size_t k = 0; k < unexpected.size(); ++k) list += (k ? ", " : "") + unexpected[k];
      throw state_dict_error("Error(s) in loading optimizer state_dict: Unexpected key(s) in state_dict: " + list +
                             ".");
    }

    for (std::size_t g = 0; g < saved_groups; ++g) set_hyperparameters(g, groups[g]);
    states_ = std::move(states);
  }

 protected:
  Optimizer() = default;

  /// Resolves the groups' parameter references into slots (once: a step then only indexes), rejecting
  /// PyTorch's invalid lists.
  void add_groups(const std::vector<ParamGroup<T>>& groups) {
    SEQNET_CHECK(value_error, !groups.empty(), "optimizer got an empty parameter list");
    std::set<std::pair<const Module<T>*, Index>> seen;
    group_begin_.assign(1, 0);
    for (const auto& group : groups) {
      std::set<std::pair<const Module<T>*, Index>> in_group;
      for (const auto& ref : group.params()) {
        SEQNET_CHECK(value_error, ref.module != nullptr, "optimizer can only optimize parameters of a module, got a null module");
        // A slot is a parameter of the module that owns it (a composite's live in its descendants), at
        // its offset in that module's flat buffer.
        const auto add = [&](Module<T>* owner, const std::string& name, const Parameter<const T>& parameter) {
          const Index offset = static_cast<Index>(parameter.data() - std::as_const(*owner).flat_parameters());
          const std::pair<const Module<T>*, Index> key(owner, offset);
          SEQNET_CHECK(value_error, seen.count(key) == 0 || in_group.count(key) != 0,
                       "some parameters appear in more than one parameter group");
          // PyTorch only warns ("will cause an error in future"): a parameter twice in one group is stepped twice.
          SEQNET_CHECK(value_error, in_group.count(key) == 0,
                       "optimizer contains a parameter group with duplicate parameters");
          seen.insert(key);
          in_group.insert(key);
          slots_.push_back(detail::Slot<T>{owner, name, offset, parameter.dimensions()});
        };
        if (ref.name.empty()) {
          for (const auto& [path, owner] : ref.module->named_modules())
            for (const auto& [name, parameter] : std::as_const(*owner).named_parameters(false))
              add(owner, path.empty() ? name : path + "." + name, parameter);
        } else {
          const auto parameter = std::as_const(*ref.module).parameter(ref.name);  // key_error if unknown
          const std::size_t dot = ref.name.rfind('.');
          Module<T>* owner = ref.module;
          if (dot != std::string::npos)
            for (const auto& [path, sub] : ref.module->named_modules())
              if (path == ref.name.substr(0, dot)) owner = sub;
          add(owner, ref.name, parameter);
        }
      }
      group_begin_.push_back(slots_.size());
    }
    states_.assign(slots_.size(), detail::ParamState<T>{});
  }

  std::size_t group_of(std::size_t slot) const noexcept {
    std::size_t g = 0;
    while (group_begin_[g + 1] <= slot) ++g;
    return g;
  }
  void check_group(std::size_t group) const {
    SEQNET_CHECK(index_error, group < num_param_groups(), "param_groups index ", group, " is out of range for ",
                 num_param_groups(), " groups");
  }

  /// Whether PyTorch keeps `state['step']` for this optimizer (all but SGD).
  virtual bool has_step_count() const noexcept { return true; }
  /// The hyperparameters of a group, as `state_dict()` exports them.
  virtual std::vector<Hyperparameter> hyperparameters(std::size_t group) const = 0;
  /// Sets a group's hyperparameters from the list `hyperparameters()` gave (values replaced).
  virtual void set_hyperparameters(std::size_t group, const std::vector<Hyperparameter>& values) = 0;
  /// The state tensors a parameter of `group` has under the given hyperparameters.
  virtual std::vector<const char*> state_names(std::size_t group, const std::vector<Hyperparameter>& values) const = 0;

  /// Calls `update(slot, state, param, grad, size)` for every parameter of `group` that has a gradient,
  /// creating its state (zeros, from `state_names`) at its first step. Writes go through the module's
  /// non-const `flat_parameters()`, so every step starts a new `parameter_version()`.
  template <typename Update>
  void for_each_parameter(std::size_t group, Update&& update) {
    for (std::size_t i = group_begin_[group]; i < group_begin_[group + 1]; ++i) {
      detail::Slot<T>& slot = slots_[i];
      if (!std::as_const(*slot.module).has_gradients()) continue;
      detail::ParamState<T>& state = states_[i];
      if (!state.initialized) initialize_state(i, group, T(0));
      const T* grad = std::as_const(*slot.module).flat_gradients() + slot.offset;
      T* param = slot.module->flat_parameters() + slot.offset;
      update(state, param, grad, slot.size());
      state.fresh = false;
    }
  }

  /// Creates the state of slot `i` with its buffers filled with `fill`.
  void initialize_state(std::size_t i, std::size_t group, T fill) {
    detail::ParamState<T>& state = states_[i];
    state.initialized = true;
    state.fresh = true;
    state.step = 0.0;
    state.names = state_names(group, hyperparameters(group));
    state.buffers.assign(static_cast<std::size_t>(slots_[i].size()) * state.names.size(), fill);
  }

  /// The buffer called `name` of a state (a step needs it; a state loaded or created under other options
  /// may lack it, which PyTorch reports as a KeyError).
  static T* state_buffer(detail::ParamState<T>& state, const char* name, Index size) {
    for (std::size_t b = 0; b < state.names.size(); ++b)
      if (std::strcmp(state.names[b], name) == 0) return state.buffer(b, size);
    seqnet::detail::fail<key_error>("'", name, "'");
  }

  std::vector<detail::Slot<T>> slots_;
  std::vector<detail::ParamState<T>> states_;
  std::vector<std::size_t> group_begin_{0};
};

/// The parameter groups of an optimizer with options `Options`: each group's options are the defaults
/// with the group's overrides applied, and stay writable (`param_groups()[1].lr(1e-4)` between steps,
/// as PyTorch's `param_groups[1]['lr'] = 1e-4`).
template <typename T, typename Options>
class OptimizerWithOptions : public Optimizer<T> {
 public:
  /// PyTorch's `optimizer.defaults`.
  const Options& defaults() const noexcept { return defaults_; }
  /// PyTorch's `optimizer.param_groups`: the options of each group (its parameters are
  /// `group_parameters(g)`).
  std::vector<Options>& param_groups() noexcept { return group_options_; }
  const std::vector<Options>& param_groups() const noexcept { return group_options_; }

  double lr(std::size_t group) const override {
    this->check_group(group);
    return group_options_[group].lr();
  }
  void set_lr(std::size_t group, double lr) override {
    this->check_group(group);
    group_options_[group].lr(lr);
  }

 protected:
  OptimizerWithOptions(const std::vector<ParamGroup<T>>& groups, const Options& defaults) : defaults_(defaults) {
    this->add_groups(groups);
    for (const auto& group : groups) group_options_.push_back(Options::merged(group, defaults));
  }

  std::vector<Hyperparameter> hyperparameters(std::size_t group) const override {
    return group_options_[group].hyperparameters();
  }
  void set_hyperparameters(std::size_t group, const std::vector<Hyperparameter>& values) override {
    group_options_[group] = Options::from_hyperparameters(values, group_options_[group]);
  }
  std::vector<const char*> state_names(std::size_t, const std::vector<Hyperparameter>& values) const override {
    return Options::from_hyperparameters(values, defaults_).state_names();
  }

  Options defaults_;
  std::vector<Options> group_options_;
};

namespace detail {

/// Throws `value_error` when a group sets an option `optimizer` does not have.
template <typename Override>
void reject_override(const Override& value, const char* optimizer, const char* option) {
  SEQNET_CHECK(value_error, !value.has_value(), optimizer, " has no option '", option,
               "' (set in a parameter group)");
}

/// The value of hyperparameter `name` in a list `hyperparameters()` gave.
inline const std::vector<double>& hyperparameter(const std::vector<Hyperparameter>& values, const char* name) {
  for (const auto& value : values)
    if (value.name == name) return value.values;
  seqnet::detail::fail<key_error>("no hyperparameter '", name, "'");
}

}  // namespace detail
}  // namespace seqnet::optim
