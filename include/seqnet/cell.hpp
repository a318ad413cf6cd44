// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <type_traits>
#include <utility>

#include "detail/call_shape.hpp"
#include "detail/recurrent.hpp"
#include "detail/recurrent_module.hpp"
#include "module.hpp"
#include "options.hpp"
#include "state.hpp"

namespace seqnet {
namespace detail {

/// Shared part of the cells: parameter accessors and the checked single-step driver.
template <typename T>
class CellModule : public RecurrentModule<T> {
 public:
  /// `[G * hidden_size, input_size]`.
  Parameter<T> weight_ih() { return this->parameter("weight_ih"); }
  /// `[G * hidden_size, hidden_size]`.
  Parameter<T> weight_hh() { return this->parameter("weight_hh"); }
  /// `[G * hidden_size]`; throws `key_error` for a cell built with bias=false.
  Parameter<T> bias_ih() { return this->parameter(bias_name("bias_ih")); }
  /// `[G * hidden_size]`; throws `key_error` for a cell built with bias=false.
  Parameter<T> bias_hh() { return this->parameter(bias_name("bias_hh")); }
  Parameter<const T> weight_ih() const { return this->parameter("weight_ih"); }
  Parameter<const T> weight_hh() const { return this->parameter("weight_hh"); }
  Parameter<const T> bias_ih() const { return this->parameter(bias_name("bias_ih")); }
  Parameter<const T> bias_hh() const { return this->parameter(bias_name("bias_hh")); }

 protected:
  using RecurrentModule<T>::RecurrentModule;

  template <int R>
  struct Result {
    static constexpr int rank = R;
    Tensor<T, R> h, c;
  };

  template <int R>
  Result<R> run(const Tensor<T, R>& input, const TensorArg<T>* h0, const TensorArg<T>* c0) const {
    const RecurrentSpec& spec = this->spec_;
    const CallShape call = cell_call(spec, shape(input), h0 != nullptr ? &h0->shape : nullptr,
                                     c0 != nullptr ? &c0->shape : nullptr);
    const bool lstm = spec.kind == CellKind::LSTM;
    Result<R> result{make_tensor<T, R>(call.h), lstm ? make_tensor<T, R>(call.c) : Tensor<T, R>()};
    this->with_workspace([&](StackWorkspace<T>& workspace) {
      cell_forward<T>(spec, this->layout_, this->params_.data(), call.dims.batch, input.data(),
                      h0 != nullptr ? h0->data : nullptr, c0 != nullptr ? c0->data : nullptr, result.h.data(),
                      lstm ? result.c.data() : nullptr, workspace);
    });
    return result;
  }

 private:
  std::string bias_name(const char* name) const {
    check<key_error>(this->spec_.bias, "'", this->spec_.name(), "' was built with bias=False and has no ", name);
    return name;
  }
};

/// RNNCell and GRUCell: one hidden state in, the next one out.
template <typename T, typename Options>
class HiddenStateCell : public CellModule<T> {
 public:
  const Options& options() const noexcept { return options_; }

  /// One step from a zero hidden state; returns h'.
  template <int R>
  Tensor<T, R> forward(const Tensor<T, R>& input) const {
    return this->run(input, nullptr, nullptr).h;
  }
  /// One step from `hx`; returns h'.
  template <int R, int RH>
  Tensor<T, R> forward(const Tensor<T, R>& input, const Tensor<T, RH>& hx) const {
    const auto h = tensor_arg(hx);
    return this->run(input, &h, nullptr).h;
  }
  template <int R>
  Tensor<T, R> operator()(const Tensor<T, R>& input) const {
    return forward(input);
  }
  template <int R, int RH>
  Tensor<T, R> operator()(const Tensor<T, R>& input, const Tensor<T, RH>& hx) const {
    return forward(input, hx);
  }

 protected:
  HiddenStateCell(const Options& options, Generator& generator)
      : CellModule<T>(RecurrentSpec::from(options), generator), options_(options) {}

 private:
  Options options_;
};

}  // namespace detail

/// Elman RNN cell, `torch.nn.RNNCell`: `h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)` (or ReLU).
/// Input `[batch, input_size]` or `[input_size]`; hidden `[batch, hidden_size]` or `[hidden_size]`.
template <typename T>
class RNNCell : public detail::HiddenStateCell<T, RNNCellOptions> {
 public:
  explicit RNNCell(const RNNCellOptions& options, Generator& generator = default_generator())
      : detail::HiddenStateCell<T, RNNCellOptions>(options, generator) {}
  RNNCell(Index input_size, Index hidden_size, bool bias = true, Nonlinearity nonlinearity = Nonlinearity::Tanh)
      : RNNCell(RNNCellOptions(input_size, hidden_size).bias(bias).nonlinearity(nonlinearity)) {}
};

/// GRU cell, `torch.nn.GRUCell` (gates r, z, n; equations as `GRU`). Shapes as `RNNCell`.
template <typename T>
class GRUCell : public detail::HiddenStateCell<T, GRUCellOptions> {
 public:
  explicit GRUCell(const GRUCellOptions& options, Generator& generator = default_generator())
      : detail::HiddenStateCell<T, GRUCellOptions>(options, generator) {}
  GRUCell(Index input_size, Index hidden_size, bool bias = true)
      : GRUCell(GRUCellOptions(input_size, hidden_size).bias(bias)) {}
};

/// LSTM cell, `torch.nn.LSTMCell` (gates i, f, g, o). Returns `(h', c')`: `auto [h1, c1] = cell(x, {h0, c0});`
template <typename T>
class LSTMCell : public detail::CellModule<T> {
 public:
  explicit LSTMCell(const LSTMCellOptions& options, Generator& generator = default_generator())
      : detail::CellModule<T>(detail::RecurrentSpec::from(options), generator), options_(options) {}
  LSTMCell(Index input_size, Index hidden_size, bool bias = true)
      : LSTMCell(LSTMCellOptions(input_size, hidden_size).bias(bias)) {}

  const LSTMCellOptions& options() const noexcept { return options_; }

  /// One step from zero states.
  template <int R>
  LSTMState<T, R> forward(const Tensor<T, R>& input) const {
    return unpack(this->run(input, nullptr, nullptr));
  }
  /// One step from `{h0, c0}` (or a previous step's result).
  template <int R>
  LSTMState<T, R> forward(const Tensor<T, R>& input, const LSTMStateRef<T>& state) const {
    return unpack(this->run(input, &state.h_arg(), &state.c_arg()));
  }
  /// One step from `h0`, `c0` given separately (ranks checked at run time).
  template <int R, int RH, int RC>
  LSTMState<T, R> forward(const Tensor<T, R>& input, const Tensor<T, RH>& h0, const Tensor<T, RC>& c0) const {
    return forward(input, LSTMStateRef<T>(h0, c0));
  }
  template <int R>
  LSTMState<T, R> operator()(const Tensor<T, R>& input) const {
    return forward(input);
  }
  template <int R>
  LSTMState<T, R> operator()(const Tensor<T, R>& input, const LSTMStateRef<T>& state) const {
    return forward(input, state);
  }
  template <int R, int RH, int RC>
  LSTMState<T, R> operator()(const Tensor<T, R>& input, const Tensor<T, RH>& h0, const Tensor<T, RC>& c0) const {
    return forward(input, h0, c0);
  }

 private:
  template <typename Result>
  static LSTMState<T, std::decay_t<Result>::rank> unpack(Result&& r) {
    return {std::move(r.h), std::move(r.c)};
  }
  LSTMCellOptions options_;
};

}  // namespace seqnet
