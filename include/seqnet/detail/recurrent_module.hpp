// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <string>

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
    const double bound = 1.0 / std::sqrt(static_cast<double>(spec_.hidden_size));
    T* values = this->params_.data();
    for (Index i = 0; i < this->params_.size(); ++i) values[i] = static_cast<T>(generator.uniform(-bound, bound));
  }

  /// The generator dropout masks are drawn from; by default `default_generator()`. A training-mode
  /// forward with dropout > 0 advances it, so modules running concurrently in training mode need
  /// generators of their own (eval-mode forwards touch no shared state).
  void set_generator(Generator& generator) noexcept { generator_ = &generator; }

  std::string repr() const override { return spec_.repr(); }

  /// The shape description the forward pass, the checks and the parameter layout are derived from.
  const RecurrentSpec& spec() const noexcept { return spec_; }

 protected:
  RecurrentModule(const RecurrentSpec& spec, Generator& generator)
      : Module<T>(spec.name(), ParameterLayout(validated(spec)).table), spec_(spec), layout_(spec_) {
    reset_parameters(generator);
  }

  Generator& generator() const noexcept { return generator_ != nullptr ? *generator_ : default_generator(); }

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
