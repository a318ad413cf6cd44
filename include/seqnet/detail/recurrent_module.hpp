// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <string>
#include <utility>

#include "../module.hpp"
#include "../random.hpp"
#include "spec.hpp"
#include "workspace.hpp"

namespace seqnet::detail {

/// Base of the recurrent modules (RNN, LSTM, GRU and their cells): one `RecurrentSpec` fixes the
/// parameter layout, the checks, the repr and the forward pass.
template <typename T>
class RecurrentModule : public Module<T> {
 public:
  /// Re-draws every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch's `reset_parameters`.
  void reset_parameters(Generator& generator = default_generator()) {
    this->weights_frozen_ = false;
    const double bound = 1.0 / std::sqrt(static_cast<double>(spec_.hidden_size));
    T* values = this->params_.data();
    for (Index i = 0; i < this->params_.size(); ++i) values[i] = static_cast<T>(generator.uniform(-bound, bound));
  }

  /// The generator dropout masks are drawn from; by default `default_generator()`. A training-mode
  /// forward with dropout > 0 advances it, so modules running concurrently in training mode need
  /// generators of their own (eval-mode forwards touch no shared state).
  void set_generator(Generator& generator) noexcept { generator_ = &generator; }

  std::string repr() const override { return spec_.repr(); }

  /// Promises that the parameters keep their current values, so forward calls may reuse the weights
  /// they packed for the GEMM instead of packing them on every call (at H=1024 an LSTM's packing is
  /// about 1 ms; a cell step with a small batch spends most of its time on it). Without it, every call
  /// re-reads the parameters, which is always correct. A freeze ends by itself at any writable
  /// accessor call (`named_parameters()`, `parameter()`, `flat_parameters()`, the weight accessors,
  /// `load_state_dict`, `reset_parameters`); writing through a view obtained *before* freezing is the
  /// one thing it cannot see: call `freeze_weights()` again afterwards (it re-reads the parameters).
  void freeze_weights() {
    workspace_.invalidate();
    this->weights_frozen_ = true;
  }
  /// Ends `freeze_weights()`: every forward call reads the parameters again.
  void unfreeze_weights() noexcept { this->weights_frozen_ = false; }
  /// Whether forward calls may reuse packed weights (`freeze_weights()` and no writable access since).
  bool weights_frozen() const noexcept { return this->weights_frozen_; }

  /// The shape description the forward pass, the checks and the parameter layout are derived from.
  const RecurrentSpec& spec() const noexcept { return spec_; }

 protected:
  RecurrentModule(const RecurrentSpec& spec, Generator& generator)
      : Module<T>(spec.name(), ParameterLayout(validated(spec)).table), spec_(spec), layout_(spec_) {
    reset_parameters(generator);
  }

  Generator& generator() const noexcept { return generator_ != nullptr ? *generator_ : default_generator(); }

  /// Calls `f(StackWorkspace<T>&)` with a workspace whose packed weights are reused only while frozen.
  template <typename F>
  decltype(auto) with_workspace(F&& f) const {
    return workspace_.with([&](StackWorkspace<T>& workspace) -> decltype(auto) {
      workspace.keep_weights = this->weights_frozen_;
      if (!workspace.keep_weights) workspace.weights_changed();
      return std::forward<F>(f)(workspace);
    });
  }

  RecurrentSpec spec_;
  ParameterLayout layout_;
  Generator* generator_ = nullptr;
  WorkspaceCache<T> workspace_;

 private:
  static const RecurrentSpec& validated(const RecurrentSpec& spec) {
    spec.validate();
    return spec;
  }
};

}  // namespace seqnet::detail
