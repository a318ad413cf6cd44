// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <string>
#include <type_traits>
#include <vector>

#include "detail/rnn/cpu_backend.hpp"
#include "detail/rnn/layout.hpp"
#include "detail/rnn/plan.hpp"
#include "errors.hpp"
#include "random.hpp"
#include "cell.hpp"
#include "rnn.hpp"
#include "state.hpp"
#include "tensor.hpp"

namespace seqnet {

/// Feeds a stacked, unidirectional RNN, GRU or LSTM, or a cell (RNNCell, GRUCell, LSTMCell: a one-layer
/// stream whose states `h()`/`c()` are `[1, batch, hidden_size]`), one time step (or one chunk of steps) at a time,
/// carrying the hidden (and cell) state between calls: what a real-time application (audio, sensor
/// streams) needs. Feeding a sequence in any split gives the same output as one call on the whole
/// sequence. The stream packs the module's weights on its first step and keeps them, so a step costs
/// only its products. They are tied to the module's `parameter_version()`: after a load or any writable
/// access to the module's parameters the next step packs them again, whole, so it runs exactly the new
/// model (a write through a view obtained before the last step is the one change it cannot see: call
/// `reload_weights()` then). The module must outlive the stream. It runs the module as in eval mode (no
/// dropout). Once the stream has seen its largest chunk, `step_into` and `feed_into` (into an `out` of
/// the right size) allocate nothing.
///
/// Over a prepacked module (`prepack()`), a stream of batch 1 on a small module steps
/// each layer with one combined product (`TinyStep`, the real-time path): the same values as the whole
/// call up to rounding, not the same bits. Otherwise its results are bitwise those of one call on the
/// whole sequence.
///
/// Example:
/// ```
/// seqnet::LSTM<float> lstm(seqnet::LSTMOptions(8, 32).num_layers(2));
/// seqnet::Stream stream(lstm, /*batch=*/1);
/// for (...) { auto y = stream.step(x_t); }   // x_t [1, 8] -> y [1, 32]
/// ```
template <typename Module>
class Stream {
  static_assert(std::is_base_of_v<detail::RecurrentModule<typename Module::Scalar>, Module>,
                "Stream runs RNN, GRU, LSTM, RNNCell, GRUCell or LSTMCell");

 public:
  using T = typename Module::Scalar;

  /// A stream of `batch` independent sequences, starting from zero states.
  explicit Stream(const Module& module, Index batch = 1)
      : module_(&module),
        spec_(checked(module.spec(), batch)),
        layout_(spec_),
        batch_(batch),
        h_(spec_.num_layers, batch, spec_.output_size()),
        c_(is_lstm() ? spec_.num_layers : 0, batch, spec_.hidden_size) {
    reset();
  }

  /// One time step: `x` `[batch, input_size]` in, the last layer's `h` `[batch, H_out]` out.
  Tensor<T, 2> step(const Tensor<T, 2>& x) {
    Tensor<T, 2> out(batch_, spec_.output_size());
    step_into(x, out);
    return out;
  }
  /// As `step`, writing into `out` (resized to `[batch, H_out]` if needed), so that steady-state
  /// steps allocate nothing.
  void step_into(const Tensor<T, 2>& x, Tensor<T, 2>& out) {
    check_input(shape(x), Shape{batch_, spec_.input_size}, "step");
    if (out.dimension(0) != batch_ || out.dimension(1) != spec_.output_size()) out.resize(batch_, spec_.output_size());
    run(x.data(), out.data(), 1, false);
  }

  /// A chunk of time steps, `[chunk, batch, input_size]` (`[batch, chunk, input_size]` for a batch_first
  /// module) in, the last layer's outputs `[chunk, batch, H_out]` (or batch-first) out.
  Tensor<T, 3> feed(const Tensor<T, 3>& chunk) {
    Tensor<T, 3> out;
    feed_into(chunk, out);
    return out;
  }
  /// As `feed`, writing into `out` (resized if needed).
  void feed_into(const Tensor<T, 3>& chunk, Tensor<T, 3>& out) {
    const bool batch_first = spec_.batch_first;
    const Index steps = chunk.dimension(batch_first ? 1 : 0);
    const Shape expected = batch_first ? Shape{batch_, steps, spec_.input_size} : Shape{steps, batch_, spec_.input_size};
    check_input(shape(chunk), expected, "feed");
    const Index rows = batch_first ? batch_ : steps, cols = batch_first ? steps : batch_;
    if (out.dimension(0) != rows || out.dimension(1) != cols || out.dimension(2) != spec_.output_size())
      out.resize(rows, cols, spec_.output_size());
    if (steps > 0) run(chunk.data(), out.data(), steps, batch_first);
  }

  /// Back to zero states (and re-reads the module's weights).
  void reset() {
    h_.setZero();
    c_.setZero();
    reload_weights();
  }
  /// Re-reads the module's parameters at the next step, keeping the states. Loads and writable
  /// accessors are seen without it; a write through a view obtained before the last step is not.
  void reload_weights() noexcept {
    workspace_.packed_version = 0;
    workspace_.tiny_version = 0;
  }
  /// Back to the given initial hidden state `[num_layers, batch, H_out]` (RNN, GRU).
  void reset(const Tensor<T, 3>& h0) {
    SEQNET_CHECK(value_error, !is_lstm(), "LSTM streams reset to {h0, c0}");
    check_state(shape(h0), shape(h_), "h0");
    h_ = h0;
    reload_weights();
  }
  /// Back to the given initial states (LSTM): h0 `[num_layers, batch, H_out]`, c0 `[num_layers, batch, hidden_size]`.
  void reset(const Tensor<T, 3>& h0, const Tensor<T, 3>& c0) {
    SEQNET_CHECK(value_error, is_lstm(), spec_.name(), " streams reset to h0 alone");
    check_state(shape(h0), shape(h_), "h0");
    check_state(shape(c0), shape(c_), "c0");
    h_ = h0;
    c_ = c0;
    reload_weights();
  }

  /// The current hidden state of every layer, `[num_layers, batch, H_out]` (PyTorch's h_n so far).
  const Tensor<T, 3>& h() const noexcept { return h_; }
  /// The current cell state of every layer (LSTM), `[num_layers, batch, hidden_size]`.
  const Tensor<T, 3>& c() const noexcept { return c_; }
  Index batch() const noexcept { return batch_; }

 private:
  static const detail::RecurrentSpec& checked(const detail::RecurrentSpec& spec, Index batch) {
    SEQNET_CHECK(value_error, !spec.bidirectional, "Stream needs a unidirectional ", spec.name(),
                 ": a reverse direction needs the whole sequence");
    SEQNET_CHECK(value_error, batch >= 1, "Stream batch must be at least 1, got ", batch);
    return spec;
  }
  bool is_lstm() const { return spec_.kind == detail::CellKind::LSTM; }

  void check_input(const Shape& given, const Shape& expected, const char* what) const {
    SEQNET_CHECK(shape_error, given == expected, "Stream::", what, ": expected input of size ", expected.str(),
                 " for ", spec_.name(), " with input_size ", spec_.input_size, " and batch ", batch_,
                 ", got ", given.str());
  }
  static void check_state(const Shape& given, const Shape& expected, const char* name) {
    SEQNET_CHECK(shape_error, given == expected, "Expected ", name, " size ", expected.tuple_str(), ", got ",
                 given.str());
  }

  void run(const T* input, T* output, Index steps, bool batch_first) {
    detail::SequenceDims dims;
    dims.seq_len = steps;
    dims.batch = batch_;
    dims.batched = true;
    dims.batch_first = batch_first;
    // The states are read as h_0/c_0 and overwritten in place with h_n/c_n.
    const detail::StackIO<T> io{input, h_.data(), is_lstm() ? c_.data() : nullptr, output, h_.data(),
                                is_lstm() ? c_.data() : nullptr};
    // The packed weights are kept from step to step and re-packed whenever the module's parameters
    // change version (a load, any writable access), so a step never mixes old and new parameters.
    const detail::WeightUse use{module_->parameter_version(), true, module_->is_prepacked()};
    if (detail::takes_tiny_step<T>(spec_, dims, use, false)) {
      detail::run_tiny_step_on_cpu(spec_, layout_, module_->flat_parameters(), io, workspace_, use);
      return;
    }
    const detail::StackPlan<T> plan(spec_, layout_, dims, nullptr);
    detail::run_on_cpu(plan, spec_, layout_, module_->flat_parameters(), nullptr, io, false, default_generator(),
                       workspace_, use);
  }

  const Module* module_;
  detail::RecurrentSpec spec_;
  detail::ParameterLayout layout_;
  Index batch_;
  Tensor<T, 3> h_;
  Tensor<T, 3> c_;
  detail::CpuWorkspace<T> workspace_;
};

}  // namespace seqnet
