// SPDX-License-Identifier: MIT
/// @file recurrent_tape.hpp
/// `RecurrentTape<T>`: what a recurrent module's `forward_train` records for its `backward`.
#pragma once

#include <cstdint>
#include <vector>

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

  /// Dropout masks for the next `forward_train` on this tape to apply between layers, instead of drawing
  /// its own from the module's generator: one per layer but the last, each shaped like that layer's
  /// output in the call's layout (`[seq, batch, D * H_out]`, `[batch, seq, D * H_out]` with batch_first,
  /// `[seq, D * H_out]` unbatched; padded for packed sequences), holding the multipliers (PyTorch's
  /// dropout multiplies by 0 or 1 / (1 - p)). A run can so replay PyTorch's own masks and be compared
  /// with it (tools/gen_golden_grad.py recovers them). `backward` applies them as it applies drawn ones.
  /// The next recording on this tape uses them up; the one after draws again. That call throws
  /// `value_error` if it applies no dropout (eval mode, dropout 0, one layer, a cell) or the count is
  /// wrong, `shape_error` if a mask's shape is.
  template <int R>
  void replay_dropout_masks(const std::vector<Tensor<T, R>>& masks) {
    replay_values_.clear();
    replay_shapes_.clear();
    for (const Tensor<T, R>& mask : masks) {
      replay_shapes_.push_back(shape(mask));
      replay_values_.insert(replay_values_.end(), mask.data(), mask.data() + mask.size());
    }
    replay_pending_ = true;
  }
  /// Whether masks given to `replay_dropout_masks` wait for the next recording.
  bool has_dropout_masks() const noexcept { return replay_pending_; }

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
  std::vector<T> replay_values_;
  std::vector<Shape> replay_shapes_;
  bool replay_pending_ = false;
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
