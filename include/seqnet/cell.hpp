// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <type_traits>
#include <utility>

#include "detail/rnn/checks.hpp"
#include "detail/rnn/recurrent_module.hpp"
#include "module.hpp"
#include "options.hpp"
#include "recurrent_tape.hpp"
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
    Result<R> result;
    run_into(input, h0, c0, result.h, this->spec_.kind == CellKind::LSTM ? &result.c : nullptr);
    return result;
  }

  /// One checked step into `h1` (and, LSTM, `c1`), resized only if their shape is not the result's. The
  /// outputs may be the state tensors `h0`/`c0` point at (a state updated in place). With `tape`, the
  /// step is recorded for `run_backward`.
  template <int R>
  void run_into(const Tensor<T, R>& input, const TensorArg<T>* h0, const TensorArg<T>* c0, Tensor<T, R>& h1,
                Tensor<T, R>* c1, RecurrentTape<T>* tape = nullptr) const {
    const RecurrentSpec& spec = this->spec_;
    const CallShape call = cell_call(spec, shape(input), h0 != nullptr ? &h0->shape : nullptr,
                                     c0 != nullptr ? &c0->shape : nullptr);
    resize_to(h1, call.h);
    if (c1 != nullptr) resize_to(*c1, call.c);
    // One step of one layer whose output is its new hidden state (h_n is the output itself).
    StackIO<T> io;
    io.input = input.data();
    io.h0 = h0 != nullptr ? h0->data : nullptr;
    io.c0 = c0 != nullptr ? c0->data : nullptr;
    io.output = h1.data();
    io.h_n = h1.data();
    io.c_n = c1 != nullptr ? c1->data() : nullptr;
    if (tape != nullptr) {
      this->run_plan_recorded(call, shape(input), io, *tape);
    } else {
      this->run_plan(call.dims, nullptr, io);
    }
  }

  /// `run`, recorded into `tape`.
  template <int R>
  Result<R> run_train(RecurrentTape<T>& tape, const Tensor<T, R>& input, const TensorArg<T>* h0,
                      const TensorArg<T>* c0) const {
    Result<R> result;
    run_into(input, h0, c0, result.h, this->spec_.kind == CellKind::LSTM ? &result.c : nullptr, &tape);
    return result;
  }

  /// Gradients of the step recorded in `tape`, given those at h' and (null: zero) at c'.
  template <int R>
  InputGradients<T, R> run_backward(RecurrentTape<T>& tape, const Tensor<T, R>& grad_h, const TensorArg<T>* grad_c) {
    InputGradients<T, R> grads;
    run_backward_into(tape, grad_h, grad_c, grads);
    return grads;
  }

  /// `run_backward` into caller-owned gradients (resized only if their shape differs).
  template <int R>
  void run_backward_into(RecurrentTape<T>& tape, const Tensor<T, R>& grad_h, const TensorArg<T>* grad_c,
                         InputGradients<T, R>& grads) {
    const CallShape& call = this->recorded_call(tape);
    this->check_gradient_shape("grad_h", shape(grad_h), call.h);
    if (grad_c != nullptr) this->check_gradient_shape("grad_c", grad_c->shape, call.c);
    const bool lstm = this->spec_.kind == CellKind::LSTM;
    resize_to(grads.input, this->recorded_input_shape(tape));
    resize_to(grads.h0, call.h);
    if (lstm) resize_to(grads.c0, call.c);
    // The step's output is its new hidden state: the gradient at h' arrives as the output's.
    StackGradIO<T> io;
    io.grad_output = grad_h.data();
    io.grad_c_n = grad_c != nullptr ? grad_c->data : nullptr;
    io.grad_input = grads.input.data();
    io.grad_h0 = grads.h0.data();
    io.grad_c0 = lstm ? grads.c0.data() : nullptr;
    this->backward_recorded(tape, io);
  }

 private:
  std::string bias_name(const char* name) const {
    SEQNET_CHECK(key_error, this->spec_.bias, "'", this->spec_.name(), "' was built with bias=False and has no ", name);
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

  /// As `forward(input)`, writing h' into the caller's `h_out` (resized only if its shape differs), so
  /// that repeated steps allocate nothing.
  template <int R>
  void forward_into(const Tensor<T, R>& input, Tensor<T, R>& h_out) const {
    this->template run_into<R>(input, nullptr, nullptr, h_out, nullptr);
  }
  /// As `forward(input, hx)`, writing h' into `h_out`, which may be `hx` itself: `cell.forward_into(x, h, h)`
  /// steps a state in place.
  template <int R, int RH>
  void forward_into(const Tensor<T, R>& input, const Tensor<T, RH>& hx, Tensor<T, R>& h_out) const {
    const auto h = tensor_arg(hx);
    this->template run_into<R>(input, &h, nullptr, h_out, nullptr);
  }

  /// Training step: as `forward`, and records into `tape` what `backward` needs.
  template <int R>
  Tensor<T, R> forward_train(RecurrentTape<T>& tape, const Tensor<T, R>& input) const {
    return this->run_train(tape, input, nullptr, nullptr).h;
  }
  template <int R, int RH>
  Tensor<T, R> forward_train(RecurrentTape<T>& tape, const Tensor<T, R>& input, const Tensor<T, RH>& hx) const {
    const auto h = tensor_arg(hx);
    return this->run_train(tape, input, &h, nullptr).h;
  }
  /// Backpropagation through the step recorded in `tape`, from the gradient at h'. Adds the parameter
  /// gradients to `named_gradients()` and returns those at the input and at hx.
  template <int R>
  InputGradients<T, R> backward(RecurrentTape<T>& tape, const Tensor<T, R>& grad_h) {
    return this->run_backward(tape, grad_h, nullptr);
  }
  /// Training step into the caller's `h_out` (resized only if its shape differs), which may be `hx`
  /// itself: online learning steps a state in place, `cell.forward_train_into(tape, x, h, h)`, carried as
  /// values (PyTorch's `h.detach()`). With the tape and the gradients kept, a step allocates nothing.
  template <int R, int RH>
  void forward_train_into(RecurrentTape<T>& tape, const Tensor<T, R>& input, const Tensor<T, RH>& hx,
                          Tensor<T, R>& h_out) const {
    const auto h = tensor_arg(hx);
    this->template run_into<R>(input, &h, nullptr, h_out, nullptr, &tape);
  }
  /// From a zero hidden state, into `h_out`.
  template <int R>
  void forward_train_into(RecurrentTape<T>& tape, const Tensor<T, R>& input, Tensor<T, R>& h_out) const {
    this->template run_into<R>(input, nullptr, nullptr, h_out, nullptr, &tape);
  }
  /// `backward` into caller-owned gradients (resized only if their shape differs).
  template <int R>
  void backward_into(RecurrentTape<T>& tape, const Tensor<T, R>& grad_h, InputGradients<T, R>& grads) {
    this->run_backward_into(tape, grad_h, nullptr, grads);
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

  /// As `forward(input, state)`, writing `(h', c')` into the caller's `out` (resized only if its shapes
  /// differ), so that repeated steps allocate nothing. `out` may be `state` itself:
  /// `cell.forward_into(x, state, state)` steps a state in place.
  template <int R>
  void forward_into(const Tensor<T, R>& input, const LSTMStateRef<T>& state, LSTMState<T, R>& out) const {
    this->template run_into<R>(input, &state.h_arg(), &state.c_arg(), out.first, &out.second);
  }
  /// As `forward(input)` (zero states), into `out`.
  template <int R>
  void forward_into(const Tensor<T, R>& input, LSTMState<T, R>& out) const {
    this->template run_into<R>(input, nullptr, nullptr, out.first, &out.second);
  }

  /// Training step: as `forward`, and records into `tape` what `backward` needs.
  template <int R>
  LSTMState<T, R> forward_train(RecurrentTape<T>& tape, const Tensor<T, R>& input) const {
    return unpack(this->run_train(tape, input, nullptr, nullptr));
  }
  template <int R>
  LSTMState<T, R> forward_train(RecurrentTape<T>& tape, const Tensor<T, R>& input, const LSTMStateRef<T>& state) const {
    return unpack(this->run_train(tape, input, &state.h_arg(), &state.c_arg()));
  }
  /// Backpropagation through the step recorded in `tape`, from the gradient at h' (and at c'; omitted:
  /// zero). The ranks are the step's (`[batch, hidden]` or `[hidden]`). Adds the parameter gradients to `named_gradients()` and returns those at the input, h and c.
  template <int R>
  InputGradients<T, R> backward(RecurrentTape<T>& tape, const Tensor<T, R>& grad_h) {
    return this->run_backward(tape, grad_h, nullptr);
  }
  template <int R, int RC>
  InputGradients<T, R> backward(RecurrentTape<T>& tape, const Tensor<T, R>& grad_h, const Tensor<T, RC>& grad_c) {
    const auto c = detail::tensor_arg(grad_c);
    return this->run_backward(tape, grad_h, &c);
  }
  /// Training step into the caller's `out` (resized only if its shapes differ), which may be `state`
  /// itself: online learning steps a state in place, `cell.forward_train_into(tape, x, state, state)`,
  /// carried as values (PyTorch's `detach()`). With the tape and the gradients kept, a step allocates nothing.
  template <int R>
  void forward_train_into(RecurrentTape<T>& tape, const Tensor<T, R>& input, const LSTMStateRef<T>& state,
                          LSTMState<T, R>& out) const {
    this->template run_into<R>(input, &state.h_arg(), &state.c_arg(), out.first, &out.second, &tape);
  }
  /// From zero states, into `out`.
  template <int R>
  void forward_train_into(RecurrentTape<T>& tape, const Tensor<T, R>& input, LSTMState<T, R>& out) const {
    this->template run_into<R>(input, nullptr, nullptr, out.first, &out.second, &tape);
  }
  /// `backward` into caller-owned gradients (resized only if their shapes differ).
  template <int R>
  void backward_into(RecurrentTape<T>& tape, const Tensor<T, R>& grad_h, InputGradients<T, R>& grads) {
    this->run_backward_into(tape, grad_h, nullptr, grads);
  }
  template <int R, int RC>
  void backward_into(RecurrentTape<T>& tape, const Tensor<T, R>& grad_h, const Tensor<T, RC>& grad_c,
                     InputGradients<T, R>& grads) {
    const auto c = detail::tensor_arg(grad_c);
    this->run_backward_into(tape, grad_h, &c, grads);
  }

 private:
  template <typename Result>
  static LSTMState<T, std::decay_t<Result>::rank> unpack(Result&& r) {
    return {std::move(r.h), std::move(r.c)};
  }
  LSTMCellOptions options_;
};

}  // namespace seqnet
