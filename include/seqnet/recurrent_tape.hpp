// SPDX-License-Identifier: MIT
/// @file recurrent_tape.hpp
/// `RecurrentTape<T>`: what a recurrent module's `forward_train` records for its `backward`.
#pragma once

#include <cstdint>

#include "detail/gemm/linear.hpp"
#include "detail/rnn/checks.hpp"
#include "detail/rnn/tape.hpp"
#include "tensor.hpp"

namespace seqnet {
namespace detail {
template <typename T>
class RecurrentModule;
}  // namespace detail

/// The record of one training-mode forward call of a recurrent module or cell (`forward_train`), which
/// its `backward` consumes: the activated gates of every step, LSTM's cell states, the initial states,
/// every layer's input and output and the dropout masks (docs/architecture.md gives the sizes). It
/// belongs to the caller, so several recorded calls can be alive at once. Truncated BPTT can reuse one
/// tape for every chunk: `forward_train_into(tape, chunk, state, out, state)` records the chunk from the
/// carried state, and `backward_into` stops there. A tape reused for calls of the same shape allocates
/// nothing after the first.
///
/// `backward` may be called more than once on one tape (each call adds to the gradients, like PyTorch's
/// `retain_graph=True`), but only while the module's parameters are unchanged since the recording.
template <typename T>
class RecurrentTape {
 public:
  RecurrentTape() = default;

  /// Whether a forward call has been recorded.
  bool recorded() const noexcept { return owner_ != nullptr; }
  /// Elements the record holds (its memory is this times sizeof(T)).
  Index elements() const noexcept { return layout_.total; }

 private:
  friend class detail::RecurrentModule<T>;

  const void* owner_ = nullptr;
  std::uint64_t version_ = 0;
  detail::CallShape call_;
  Shape input_shape_;
  bool training_ = false;
  detail::TapeLayout layout_;
  detail::AlignedVector<T> data_;
  detail::AlignedVector<T> scratch_;
};

/// Gradients a recurrent module's `backward` returns (or `backward_into` writes, resizing each only if
/// its shape differs): at its input and at its initial states (`c0`: LSTM and LSTMCell only;
/// zeros-initialised states get their gradient too).
template <typename T, int R>
struct InputGradients {
  Tensor<T, R> input;
  Tensor<T, R> h0;
  Tensor<T, R> c0;
};

}  // namespace seqnet
