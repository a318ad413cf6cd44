// SPDX-License-Identifier: MIT
#pragma once

#include <utility>

#include "detail/rnn/checks.hpp"
#include "detail/rnn/recurrent_module.hpp"
#include "module.hpp"
#include "options.hpp"
#include "recurrent_tape.hpp"
#include "sequence_lengths.hpp"
#include "state.hpp"

namespace seqnet {
namespace detail {

/// Shared forward driver of the stacked modules (RNN, LSTM): validates shapes exactly as PyTorch
/// does, allocates the results and runs the layer stack.
template <typename T>
class StackedModule : public RecurrentModule<T> {
 protected:
  using RecurrentModule<T>::RecurrentModule;

  template <int R>
  struct Result {
    Tensor<T, R> output, h_n, c_n;
  };

  /// `h0`/`c0` null means zeros; `c0` is only read by LSTM. `lengths` null means every sequence is full length.
  template <int R>
  Result<R> run(const Tensor<T, R>& input, const TensorArg<T>* h0, const TensorArg<T>* c0,
                const SequenceLengths* lengths = nullptr) const {
    return run_call(input, h0, c0, lengths, nullptr);
  }

  /// `run`, recorded into `tape`.
  template <int R>
  Result<R> run_train(RecurrentTape<T>& tape, const Tensor<T, R>& input, const TensorArg<T>* h0,
                      const TensorArg<T>* c0, const SequenceLengths* lengths = nullptr) const {
    return run_call(input, h0, c0, lengths, &tape);
  }

  /// `run_train` into caller-owned results (resized only if their shape differs). `h_n`/`c_n` may be the
  /// tensors `h0`/`c0` point at: a state carried from chunk to chunk in place, as values (PyTorch's
  /// `detach()`: no gradient flows back into the call that produced it).
  template <int R>
  void run_train_into(RecurrentTape<T>& tape, const Tensor<T, R>& input, const TensorArg<T>* h0,
                      const TensorArg<T>* c0, const SequenceLengths* lengths, Tensor<T, R>& output, Tensor<T, R>& h_n,
                      Tensor<T, R>* c_n) const {
    run_call_into(input, h0, c0, lengths, &tape, output, h_n, c_n);
  }

  /// Gradients of the call recorded in `tape`, given those at its output and (null: zero) at h_n, c_n.
  template <int R>
  InputGradients<T, R> run_backward(RecurrentTape<T>& tape, const Tensor<T, R>& grad_output,
                                    const TensorArg<T>* grad_h_n, const TensorArg<T>* grad_c_n) {
    InputGradients<T, R> grads;
    run_backward_into(tape, grad_output, grad_h_n, grad_c_n, grads);
    return grads;
  }

  /// `run_backward` into caller-owned gradients (resized only if their shape differs), so that a
  /// training loop that keeps them allocates nothing.
  template <int R>
  void run_backward_into(RecurrentTape<T>& tape, const Tensor<T, R>& grad_output, const TensorArg<T>* grad_h_n,
                         const TensorArg<T>* grad_c_n, InputGradients<T, R>& grads) {
    const CallShape& call = this->recorded_call(tape);
    this->check_gradient_shape("grad_output", shape(grad_output), call.output);
    if (grad_h_n != nullptr) this->check_gradient_shape("grad_h_n", grad_h_n->shape, call.h);
    if (grad_c_n != nullptr) this->check_gradient_shape("grad_c_n", grad_c_n->shape, call.c);
    const bool lstm = this->spec_.kind == CellKind::LSTM;
    resize_to(grads.input, this->recorded_input_shape(tape));
    resize_to(grads.h0, call.h);
    if (lstm) resize_to(grads.c0, call.c);
    StackGradIO<T> io;
    io.grad_output = grad_output.data();
    io.grad_h_n = grad_h_n != nullptr ? grad_h_n->data : nullptr;
    io.grad_c_n = grad_c_n != nullptr ? grad_c_n->data : nullptr;
    io.grad_input = grads.input.data();
    io.grad_h0 = grads.h0.data();
    io.grad_c0 = lstm ? grads.c0.data() : nullptr;
    this->backward_recorded(tape, io);
  }

 private:
  template <int R>
  Result<R> run_call(const Tensor<T, R>& input, const TensorArg<T>* h0, const TensorArg<T>* c0,
                     const SequenceLengths* lengths, RecurrentTape<T>* tape) const {
    Result<R> result;
    run_call_into(input, h0, c0, lengths, tape, result.output, result.h_n,
                  this->spec_.kind == CellKind::LSTM ? &result.c_n : nullptr);
    return result;
  }

  template <int R>
  void run_call_into(const Tensor<T, R>& input, const TensorArg<T>* h0, const TensorArg<T>* c0,
                     const SequenceLengths* lengths, RecurrentTape<T>* tape, Tensor<T, R>& output, Tensor<T, R>& h_n,
                     Tensor<T, R>* c_n) const {
    const bool lstm = this->spec_.kind == CellKind::LSTM;
    const CallShape call = module_call(this->spec_, shape(input), h0 != nullptr ? &h0->shape : nullptr,
                                       c0 != nullptr ? &c0->shape : nullptr, lengths);
    // Checked before anything is resized: the output must not be the input or a state (h_n may be h0).
    SEQNET_CHECK(value_error, output.data() == nullptr || (output.data() != input.data() &&
                                                           (h0 == nullptr || output.data() != h0->data)),
                 this->spec_.name(), ": the output tensor must not be the input or the initial state");
    resize_to(output, call.output);
    resize_to(h_n, call.h);
    if (lstm) resize_to(*c_n, call.c);
    StackIO<T> io;
    io.input = input.data();
    io.h0 = h0 != nullptr ? h0->data : nullptr;
    io.c0 = c0 != nullptr ? c0->data : nullptr;
    io.output = output.data();
    io.h_n = h_n.data();
    io.c_n = lstm ? c_n->data() : nullptr;
    if (tape != nullptr) {
      this->run_plan_recorded(call, shape(input), io, *tape);
    } else {
      this->run_plan(call.dims, call.has_lengths ? &call.packed : nullptr, io);
    }
  }
};

/// RNN and GRU: one hidden state, `(output, h_n)` results.
template <typename T, typename Options>
class HiddenStateModule : public StackedModule<T> {
 public:
  const Options& options() const noexcept { return options_; }

  /// Runs from zero initial state. Returns `(output, h_n)`.
  template <int R>
  std::pair<Tensor<T, R>, Tensor<T, R>> forward(const Tensor<T, R>& input) const {
    return unpack(this->run(input, nullptr, nullptr));
  }
  /// Runs from `h0`. Returns `(output, h_n)`.
  template <int R, int RH>
  std::pair<Tensor<T, R>, Tensor<T, R>> forward(const Tensor<T, R>& input, const Tensor<T, RH>& h0) const {
    const auto h = tensor_arg(h0);
    return unpack(this->run(input, &h, nullptr));
  }
  /// Runs a padded batch of sequences of different lengths (PyTorch's packed sequences; see
  /// `SequenceLengths`) from zero initial state. Returns `(output, h_n)`; `output` keeps the input's
  /// sequence length (PyTorch's `pad_packed_sequence(..., total_length=seq)`).
  template <int R>
  std::pair<Tensor<T, R>, Tensor<T, R>> forward(const Tensor<T, R>& input, const SequenceLengths& lengths) const {
    return unpack(this->run(input, nullptr, nullptr, &lengths));
  }
  /// As above, from `h0`.
  template <int R, int RH>
  std::pair<Tensor<T, R>, Tensor<T, R>> forward(const Tensor<T, R>& input, const SequenceLengths& lengths,
                                                const Tensor<T, RH>& h0) const {
    const auto h = tensor_arg(h0);
    return unpack(this->run(input, &h, nullptr, &lengths));
  }
  template <int R>
  std::pair<Tensor<T, R>, Tensor<T, R>> operator()(const Tensor<T, R>& input) const {
    return forward(input);
  }
  template <int R, int RH>
  std::pair<Tensor<T, R>, Tensor<T, R>> operator()(const Tensor<T, R>& input, const Tensor<T, RH>& h0) const {
    return forward(input, h0);
  }
  template <int R>
  std::pair<Tensor<T, R>, Tensor<T, R>> operator()(const Tensor<T, R>& input, const SequenceLengths& lengths) const {
    return forward(input, lengths);
  }
  template <int R, int RH>
  std::pair<Tensor<T, R>, Tensor<T, R>> operator()(const Tensor<T, R>& input, const SequenceLengths& lengths,
                                                   const Tensor<T, RH>& h0) const {
    return forward(input, lengths, h0);
  }

  /// Training forward: as `forward`, and records into `tape` what `backward` needs.
  template <int R>
  std::pair<Tensor<T, R>, Tensor<T, R>> forward_train(RecurrentTape<T>& tape, const Tensor<T, R>& input) const {
    return unpack(this->run_train(tape, input, nullptr, nullptr));
  }
  template <int R, int RH>
  std::pair<Tensor<T, R>, Tensor<T, R>> forward_train(RecurrentTape<T>& tape, const Tensor<T, R>& input,
                                                      const Tensor<T, RH>& h0) const {
    const auto h = tensor_arg(h0);
    return unpack(this->run_train(tape, input, &h, nullptr));
  }
  template <int R>
  std::pair<Tensor<T, R>, Tensor<T, R>> forward_train(RecurrentTape<T>& tape, const Tensor<T, R>& input,
                                                      const SequenceLengths& lengths) const {
    return unpack(this->run_train(tape, input, nullptr, nullptr, &lengths));
  }
  template <int R, int RH>
  std::pair<Tensor<T, R>, Tensor<T, R>> forward_train(RecurrentTape<T>& tape, const Tensor<T, R>& input,
                                                      const SequenceLengths& lengths, const Tensor<T, RH>& h0) const {
    const auto h = tensor_arg(h0);
    return unpack(this->run_train(tape, input, &h, nullptr, &lengths));
  }

  /// Backpropagation through the call recorded in `tape`, from the gradient at its `output` (and at
  /// `h_n`; omitted: zero). Adds the parameter gradients to `named_gradients()` and returns those at the
  /// input and at h0. Works in eval mode too (no dropout then).
  template <int R>
  InputGradients<T, R> backward(RecurrentTape<T>& tape, const Tensor<T, R>& grad_output) {
    return this->run_backward(tape, grad_output, nullptr, nullptr);
  }
  template <int R, int RH>
  InputGradients<T, R> backward(RecurrentTape<T>& tape, const Tensor<T, R>& grad_output,
                                const Tensor<T, RH>& grad_h_n) {
    const auto h = tensor_arg(grad_h_n);
    return this->run_backward(tape, grad_output, &h, nullptr);
  }

  /// `forward_train` into caller-owned `output` and `h_n` (resized only if their shape differs), so that
  /// a steady-state training loop allocates nothing. `h_n` may be `h0` itself: truncated BPTT carries
  /// the state from chunk to chunk in place, `gru.forward_train_into(tape, chunk, h, out, h)`. A carried
  /// state is a plain tensor, so no gradient flows back into the previous chunk (PyTorch's `h.detach()`).
  template <int R>
  void forward_train_into(RecurrentTape<T>& tape, const Tensor<T, R>& input, Tensor<T, R>& output,
                          Tensor<T, R>& h_n) const {
    this->template run_train_into<R>(tape, input, nullptr, nullptr, nullptr, output, h_n, nullptr);
  }
  template <int R, int RH>
  void forward_train_into(RecurrentTape<T>& tape, const Tensor<T, R>& input, const Tensor<T, RH>& h0,
                          Tensor<T, R>& output, Tensor<T, R>& h_n) const {
    const auto h = tensor_arg(h0);
    this->template run_train_into<R>(tape, input, &h, nullptr, nullptr, output, h_n, nullptr);
  }
  /// `backward` into caller-owned gradients (resized only if their shape differs).
  template <int R>
  void backward_into(RecurrentTape<T>& tape, const Tensor<T, R>& grad_output, InputGradients<T, R>& grads) {
    this->run_backward_into(tape, grad_output, nullptr, nullptr, grads);
  }
  template <int R, int RH>
  void backward_into(RecurrentTape<T>& tape, const Tensor<T, R>& grad_output, const Tensor<T, RH>& grad_h_n,
                     InputGradients<T, R>& grads) {
    const auto h = tensor_arg(grad_h_n);
    this->run_backward_into(tape, grad_output, &h, nullptr, grads);
  }

 protected:
  HiddenStateModule(const Options& options, Generator& generator)
      : StackedModule<T>(RecurrentSpec::from(options), generator), options_(options) {}

 private:
  template <typename Result>
  static auto unpack(Result&& r) {
    return std::make_pair(std::move(r.output), std::move(r.h_n));
  }
  Options options_;
};

}  // namespace detail

/// Multi-layer Elman RNN, `torch.nn.RNN`: `h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)` (or ReLU).
///
/// Input `[seq, batch, input_size]` (`[batch, seq, input_size]` with batch_first, `[seq, input_size]` unbatched);
/// h_0/h_n `[num_layers * D, batch, hidden_size]`; output `[seq, batch, D * hidden_size]`.
/// Example:
/// ```
/// seqnet::RNN<float> rnn(seqnet::RNNOptions(100, 20).num_layers(2));
/// auto [out, h_n] = rnn(x, h0);
/// ```
template <typename T>
class RNN : public detail::HiddenStateModule<T, RNNOptions> {
 public:
  explicit RNN(const RNNOptions& options, Generator& generator = default_generator())
      : detail::HiddenStateModule<T, RNNOptions>(options, generator) {}
  RNN(Index input_size, Index hidden_size, Index num_layers = 1)
      : RNN(RNNOptions(input_size, hidden_size).num_layers(num_layers)) {}
};

/// Multi-layer GRU, `torch.nn.GRU`, in PyTorch's form (gates r, z, n; the reset gate scales `W_hn h + b_hn`):
/// `r = σ(W_ir x + b_ir + W_hr h + b_hr)`, `z = σ(W_iz x + b_iz + W_hz h + b_hz)`,
/// `n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`, `h' = (1 - z) * n + z * h`.
///
/// Shapes as for `RNN`; weights stack the three gates, `weight_ih_l0` is `[3 * hidden_size, input_size]`.
/// Example:
/// ```
/// seqnet::GRU<float> gru(seqnet::GRUOptions(8, 16).batch_first(true));
/// auto [out, h_n] = gru(x, h0);
/// ```
template <typename T>
class GRU : public detail::HiddenStateModule<T, GRUOptions> {
 public:
  explicit GRU(const GRUOptions& options, Generator& generator = default_generator())
      : detail::HiddenStateModule<T, GRUOptions>(options, generator) {}
  GRU(Index input_size, Index hidden_size, Index num_layers = 1)
      : GRU(GRUOptions(input_size, hidden_size).num_layers(num_layers)) {}
};

/// Multi-layer LSTM, `torch.nn.LSTM`, with optional projection (`proj_size`, LSTMP).
///
/// Gates in PyTorch's order i, f, g, o; `c' = f*c + i*g`, `h' = o*tanh(c')`, then `h' = W_hr h'` if projecting.
/// Input as for `RNN`; h_0/h_n `[num_layers * D, batch, H_out]`, c_0/c_n `[num_layers * D, batch, hidden_size]`.
/// Example:
/// ```
/// seqnet::LSTM<float> lstm(100, 20, 4);
/// auto [out, hc] = lstm(x, {h0, c0});
/// auto [h_n, c_n] = hc;
/// ```
template <typename T>
class LSTM : public detail::StackedModule<T> {
 public:
  explicit LSTM(const LSTMOptions& options, Generator& generator = default_generator())
      : detail::StackedModule<T>(detail::RecurrentSpec::from(options), generator), options_(options) {}
  LSTM(Index input_size, Index hidden_size, Index num_layers = 1)
      : LSTM(LSTMOptions(input_size, hidden_size).num_layers(num_layers)) {}

  const LSTMOptions& options() const noexcept { return options_; }

  template <int R>
  using Output = std::pair<Tensor<T, R>, LSTMState<T, R>>;

  /// Runs from zero initial states. Returns `(output, (h_n, c_n))`.
  template <int R>
  Output<R> forward(const Tensor<T, R>& input) const {
    return unpack(this->run(input, nullptr, nullptr));
  }
  /// Runs from `{h0, c0}` (or a previous call's `(h_n, c_n)`). Returns `(output, (h_n, c_n))`.
  template <int R>
  Output<R> forward(const Tensor<T, R>& input, const LSTMStateRef<T>& state) const {
    return unpack(this->run(input, &state.h_arg(), &state.c_arg()));
  }
  /// Runs from `h0`, `c0` given separately (their ranks are checked at run time, as in PyTorch).
  template <int R, int RH, int RC>
  Output<R> forward(const Tensor<T, R>& input, const Tensor<T, RH>& h0, const Tensor<T, RC>& c0) const {
    return forward(input, LSTMStateRef<T>(h0, c0));
  }
  /// Runs a padded batch of sequences of different lengths (PyTorch's packed sequences; see
  /// `SequenceLengths`) from zero states. Returns `(output, (h_n, c_n))`, `output` zero past each length.
  template <int R>
  Output<R> forward(const Tensor<T, R>& input, const SequenceLengths& lengths) const {
    return unpack(this->run(input, nullptr, nullptr, &lengths));
  }
  /// As above, from `{h0, c0}`.
  template <int R>
  Output<R> forward(const Tensor<T, R>& input, const SequenceLengths& lengths, const LSTMStateRef<T>& state) const {
    return unpack(this->run(input, &state.h_arg(), &state.c_arg(), &lengths));
  }
  /// As above, from `h0`, `c0` given separately.
  template <int R, int RH, int RC>
  Output<R> forward(const Tensor<T, R>& input, const SequenceLengths& lengths, const Tensor<T, RH>& h0,
                    const Tensor<T, RC>& c0) const {
    return forward(input, lengths, LSTMStateRef<T>(h0, c0));
  }
  /// Training forward: as `forward`, and records into `tape` what `backward` needs.
  template <int R>
  Output<R> forward_train(RecurrentTape<T>& tape, const Tensor<T, R>& input) const {
    return unpack(this->run_train(tape, input, nullptr, nullptr));
  }
  template <int R>
  Output<R> forward_train(RecurrentTape<T>& tape, const Tensor<T, R>& input, const LSTMStateRef<T>& state) const {
    return unpack(this->run_train(tape, input, &state.h_arg(), &state.c_arg()));
  }
  template <int R>
  Output<R> forward_train(RecurrentTape<T>& tape, const Tensor<T, R>& input, const SequenceLengths& lengths) const {
    return unpack(this->run_train(tape, input, nullptr, nullptr, &lengths));
  }
  template <int R>
  Output<R> forward_train(RecurrentTape<T>& tape, const Tensor<T, R>& input, const SequenceLengths& lengths,
                          const LSTMStateRef<T>& state) const {
    return unpack(this->run_train(tape, input, &state.h_arg(), &state.c_arg(), &lengths));
  }

  /// Backpropagation through the call recorded in `tape`, from the gradient at its `output` (and at
  /// `(h_n, c_n)`; omitted: zero). Adds the parameter gradients to `named_gradients()` and returns those
  /// at the input, h0 and c0. Works in eval mode too (no dropout then).
  template <int R>
  InputGradients<T, R> backward(RecurrentTape<T>& tape, const Tensor<T, R>& grad_output) {
    return this->run_backward(tape, grad_output, nullptr, nullptr);
  }
  template <int R>
  InputGradients<T, R> backward(RecurrentTape<T>& tape, const Tensor<T, R>& grad_output,
                                const LSTMStateRef<T>& grad_state) {
    return this->run_backward(tape, grad_output, &grad_state.h_arg(), &grad_state.c_arg());
  }

  /// `forward_train` into caller-owned `output` and `(h_n, c_n)` (resized only if their shapes differ), so
  /// that a steady-state training loop allocates nothing. `state_n` may be the initial state itself:
  /// truncated BPTT carries it from chunk to chunk in place, `lstm.forward_train_into(tape, chunk, state,
  /// out, state)`. A carried state is plain tensors, so no gradient flows back into the previous chunk
  /// (PyTorch's `h.detach()`, `c.detach()`).
  template <int R>
  void forward_train_into(RecurrentTape<T>& tape, const Tensor<T, R>& input, Tensor<T, R>& output,
                          LSTMState<T, R>& state_n) const {
    this->run_train_into(tape, input, nullptr, nullptr, nullptr, output, state_n.first, &state_n.second);
  }
  template <int R>
  void forward_train_into(RecurrentTape<T>& tape, const Tensor<T, R>& input, const LSTMStateRef<T>& state,
                          Tensor<T, R>& output, LSTMState<T, R>& state_n) const {
    this->run_train_into(tape, input, &state.h_arg(), &state.c_arg(), nullptr, output, state_n.first,
                         &state_n.second);
  }
  /// `backward` into caller-owned gradients (resized only if their shapes differ).
  template <int R>
  void backward_into(RecurrentTape<T>& tape, const Tensor<T, R>& grad_output, InputGradients<T, R>& grads) {
    this->run_backward_into(tape, grad_output, nullptr, nullptr, grads);
  }
  template <int R>
  void backward_into(RecurrentTape<T>& tape, const Tensor<T, R>& grad_output, const LSTMStateRef<T>& grad_state,
                     InputGradients<T, R>& grads) {
    this->run_backward_into(tape, grad_output, &grad_state.h_arg(), &grad_state.c_arg(), grads);
  }

  template <int R>
  Output<R> operator()(const Tensor<T, R>& input) const {
    return forward(input);
  }
  template <int R>
  Output<R> operator()(const Tensor<T, R>& input, const SequenceLengths& lengths) const {
    return forward(input, lengths);
  }
  template <int R>
  Output<R> operator()(const Tensor<T, R>& input, const SequenceLengths& lengths, const LSTMStateRef<T>& state) const {
    return forward(input, lengths, state);
  }
  template <int R>
  Output<R> operator()(const Tensor<T, R>& input, const LSTMStateRef<T>& state) const {
    return forward(input, state);
  }
  template <int R, int RH, int RC>
  Output<R> operator()(const Tensor<T, R>& input, const Tensor<T, RH>& h0, const Tensor<T, RC>& c0) const {
    return forward(input, h0, c0);
  }
  template <int R, int RH, int RC>
  Output<R> operator()(const Tensor<T, R>& input, const SequenceLengths& lengths, const Tensor<T, RH>& h0,
                       const Tensor<T, RC>& c0) const {
    return forward(input, lengths, h0, c0);
  }

 private:
  template <typename Result>
  static auto unpack(Result&& r) {
    return std::make_pair(std::move(r.output), std::make_pair(std::move(r.h_n), std::move(r.c_n)));
  }
  LSTMOptions options_;
};

}  // namespace seqnet
