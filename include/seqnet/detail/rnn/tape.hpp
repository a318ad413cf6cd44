// SPDX-License-Identifier: MIT
/// @file tape.hpp
/// What a training-mode forward records for the backward pass, and where it lies in one buffer. The plan
/// (plan.hpp) writes it when it is given one; an inference forward never sizes or touches it.
#pragma once

#include <initializer_list>
#include <vector>

#include "../math/gate_math.hpp"
#include "spec.hpp"

namespace seqnet::detail {

/// Hands out consecutive slots of one buffer, each starting on a 64-element boundary so vector loads
/// stay aligned on any backend: the plan's workspaces and the tape are laid out with it.
struct SlotAllocator {
  Index total = 0;
  Index take(Index count) {
    const Index at = total;
    total += (count + 63) / 64 * 64;
    return at;
  }
};

/// Element offsets of everything recorded for one call of `dims` on a stack of `spec`, in one buffer of
/// `total` elements (each part starts on a 64-element boundary). Per layer-direction (index
/// `layer * D + dir`):
///   - `gates`: `[S, B, R * H]`, step-major, then batch row, then gate block: each unit's activated gates
///     as `gate_update` records them (R = 4 for LSTM (i, f, g, o) and GRU (r, z, n, gh_n), 1 for RNN (h'));
///   - `c`: LSTM's cell state after each step, `[S, B, H]`;
///   - `h0`, `c0`: the initial states that layer-direction started from, `[B, H_out]` and `[B, H]`.
/// Per layer:
///   - `output`: its full output `[S, B, D * H_out]` (in the plan's batch order and the call's layout,
///     pre-dropout): the `h` of every step of every direction;
///   - `input`: what it read: for layer 0 a copy of the call's input, for layer l > 0 the previous layer's
///     output after dropout (the same offset as that output when no dropout is applied);
///   - `mask`: for layers that feed dropout, the multipliers applied (0 or 1 / (1 - p)).
/// Rows past a packed sequence's end are whatever the forward left there (zeros in `output`); backward
/// reads only running rows.
struct TapeLayout {
  std::vector<Index> gates, c, h0, c0;  ///< per layer-direction; -1 where absent
  std::vector<Index> input, output, mask;  ///< per layer; -1 where absent
  Index total = 0;

  TapeLayout() = default;
  TapeLayout(const RecurrentSpec& spec, const SequenceDims& dims, bool dropout) { assign(spec, dims, dropout); }

  /// Lays out a call in place: the vectors keep their capacity, so a tape re-recorded for calls of one
  /// stack allocates nothing.
  void assign(const RecurrentSpec& spec, const SequenceDims& dims, bool dropout) {
    for (auto* offsets : {&gates, &c, &h0, &c0, &input, &output, &mask}) offsets->clear();
    const Index S = dims.seq_len, B = dims.batch, D = spec.directions(), L = spec.num_layers;
    const Index H = spec.hidden_size, H_out = spec.output_size(), width = D * H_out;
    const bool lstm = spec.kind == CellKind::LSTM;
    const Index recorded = recorded_gates(spec.kind);
    SlotAllocator slots;
    auto take = [&slots](Index count) { return slots.take(count); };
    for (Index index = 0; index < L * D; ++index) {
      gates.push_back(take(S * B * recorded * H));
      c.push_back(lstm ? take(S * B * H) : -1);
      h0.push_back(take(B * H_out));
      c0.push_back(lstm ? take(B * H) : -1);
    }
    for (Index layer = 0; layer < L; ++layer) {
      output.push_back(take(S * B * width));
      const bool dropped = dropout && layer > 0;
      input.push_back(layer == 0 ? take(S * B * spec.input_size) : dropped ? take(S * B * width) : output[layer - 1]);
      mask.push_back(dropout && layer < L - 1 ? take(S * B * width) : -1);
    }
    total = slots.total;
  }

  /// Elements recorded for one layer-direction, and for one layer (what docs/architecture.md tabulates).
  static Index per_direction(const RecurrentSpec& spec, const SequenceDims& dims) {
    const Index S = dims.seq_len, B = dims.batch, H = spec.hidden_size;
    const bool lstm = spec.kind == CellKind::LSTM;
    return S * B * (recorded_gates(spec.kind) * H + (lstm ? H : 0)) + B * (spec.output_size() + (lstm ? H : 0));
  }
};

/// A call's record in the backend's memory: the layout and the buffer it indexes (`layout->total`
/// elements, 64-byte aligned). It belongs to the caller of the training forward, not to the module, so
/// several recorded calls can be alive at once.
template <typename T>
struct TapeView {
  const TapeLayout* layout = nullptr;
  T* data = nullptr;
  /// The tape's mask slots hold masks the caller gave: apply them instead of drawing new ones.
  bool replay_masks = false;

  T* at(Index offset) const { return offset < 0 ? nullptr : data + offset; }
};

}  // namespace seqnet::detail
