// SPDX-License-Identifier: MIT
#pragma once

// A recurrent module's call checked in PyTorch's order and with its messages, and what the call then
// computes (`CallShape`): the CPU and the GPU modules start every call here.

#include <vector>

#include "../../errors.hpp"
#include "../../sequence_lengths.hpp"
#include "../../tensor.hpp"
#include "../util/format.hpp"
#include "packed_sequence.hpp"
#include "spec.hpp"

namespace seqnet::detail {

/// Expected shape of h_0/h_n (or c_0/c_n when `cell_state`): `[D * num_layers, batch, size]`, never batch-first.
inline Shape expected_state_shape(const RecurrentSpec& spec, const SequenceDims& dims, bool cell_state) {
  const Index size = cell_state ? spec.hidden_size : spec.output_size();
  const Index stacked = spec.num_layers * spec.directions();
  return dims.batched ? Shape{stacked, dims.batch, size} : Shape{stacked, size};
}

/// Validates a module's input and optional initial states in PyTorch's order (RNNBase.forward, then
/// check_forward_args, then the kernel): input rank, state ranks, input size, state shapes, sequence
/// length; the first failure throws `shape_error` with PyTorch's message. `c` is LSTM's c_0.
inline SequenceDims check_module_inputs(const RecurrentSpec& spec, const Shape& input, const Shape* h, const Shape* c) {
  const Index rank = input.rank();
  SEQNET_CHECK(shape_error, rank == 2 || rank == 3, spec.name(), ": Expected input to be 2D or 3D, got ", rank, "D",
               spec.kind == CellKind::RNN ? " tensor" : "", " instead");
  SequenceDims dims;
  dims.batched = rank == 3;
  dims.batch_first = dims.batched && spec.batch_first;
  dims.seq_len = input[dims.batch_first ? 1 : 0];
  dims.batch = dims.batched ? input[dims.batch_first ? 0 : 1] : 1;

  if (h != nullptr) {
    const char* kind = dims.batched ? "For batched 3-D input, " : "For unbatched 2-D input, ";
    if (c == nullptr) {
      SEQNET_CHECK(shape_error, h->rank() == rank, kind, "hx should also be ", rank, "-D but got ", h->rank(), "-D tensor");
    } else {
      SEQNET_CHECK(shape_error, h->rank() == rank && c->rank() == rank, kind, "hx and cx should also be ", rank,
                   "-D but got (", h->rank(), "-D, ", c->rank(), "-D) tensors");
    }
  }
  SEQNET_CHECK(shape_error, input[rank - 1] == spec.input_size, "input.size(-1) must be equal to input_size. Expected ",
               spec.input_size, ", got ", input[rank - 1]);

  // PyTorch compares states after giving unbatched ones a batch axis of 1, and prints them that way.
  auto check_state = [&](const Shape& given, bool cell_state, const char* label) {
    const Shape expected = expected_state_shape(spec, dims, cell_state);
    if (expected == given) return;
    const Shape shown_expected = dims.batched ? expected : Shape{expected[0], 1, expected[1]};
    std::vector<Index> shown_given = given.dims();
    if (!dims.batched) shown_given.insert(shown_given.begin() + 1, 1);
    throw shape_error(concat("Expected ", label, " size ", shown_expected.tuple_str(), ", got ",
                             Shape(shown_given).str()));
  };
  if (h != nullptr) check_state(*h, false, c != nullptr ? "hidden[0]" : "hidden");
  if (c != nullptr) check_state(*c, true, "hidden[1]");
  SEQNET_CHECK(shape_error, dims.seq_len > 0, "Expected sequence length to be larger than 0 in RNN");
  return dims;
}

/// Batch extent of a cell input.
struct CellDims {
  Index batch = 1;
  bool batched = true;
};

/// Validates a cell's input and optional states in PyTorch's order (RNNCell/LSTMCell.forward's rank
/// checks, then ATen's check_rnn_cell_forward_input and check_rnn_cell_forward_hidden): input rank, state
/// ranks, input size, then each state's batch and size. `c` is LSTMCell's c_0 (PyTorch's `hx[1]`, `hidden1`).
inline CellDims check_cell_inputs(const RecurrentSpec& spec, const Shape& input, const Shape* h, const Shape* c) {
  const Index rank = input.rank();
  SEQNET_CHECK(shape_error, rank == 1 || rank == 2, spec.name(), ": Expected input to be 1D or 2D, got ", rank, "D instead");
  const CellDims dims{rank == 2 ? input[0] : 1, rank == 2};
  const bool lstm = spec.kind == CellKind::LSTM;
  const Shape* states[2] = {h, c};
  for (int index = 0; index < 2; ++index) {
    const Shape* state = states[index];
    if (state == nullptr) continue;
    const char* label = !lstm ? "hidden" : index == 0 ? "hx[0]" : "hx[1]";
    SEQNET_CHECK(shape_error, state->rank() == 1 || state->rank() == 2, spec.name(), ": Expected ", label,
                 " to be 1D or 2D, got ", state->rank(), "D instead");
    // PyTorch has no message of its own for this mismatch (it fails later, or with an IndexError).
    SEQNET_CHECK(shape_error, state->rank() == rank, spec.name(), ": Expected ", label, " to be ",
                 dims.batched ? "2D for batched 2D" : "1D for unbatched 1D", " input, got ", state->rank(),
                 "D instead");
  }
  SEQNET_CHECK(shape_error, input[rank - 1] == spec.input_size, "input has inconsistent input_size: got ", input[rank - 1],
               " expected ", spec.input_size);
  for (int index = 0; index < 2; ++index) {
    const Shape* state = states[index];
    if (state == nullptr) continue;
    const Index batch = dims.batched ? (*state)[0] : 1;
    SEQNET_CHECK(shape_error, batch == dims.batch, "Input batch size ", dims.batch, " doesn't match hidden", index,
                 " batch size ", batch);
    SEQNET_CHECK(shape_error, (*state)[rank - 1] == spec.hidden_size, "hidden", index, " has inconsistent hidden_size: got ",
                 (*state)[rank - 1], ", expected ", spec.hidden_size);
  }
  return dims;
}

/// What one forward call computes, fixed before anything runs: the checked dimensions, the packed
/// batch (when lengths are given) and the result shapes. A cell is one step of one layer whose output
/// is its new hidden state. The CPU modules and the GPU modules both start every call here.
struct CallShape {
  SequenceDims dims;
  PackedBatch packed;
  bool has_lengths = false;
  Shape output, h, c;  ///< `c` is empty unless the module is an LSTM
};

/// Checks a stacked module's arguments exactly as the CPU module does (PyTorch's order and messages).
inline CallShape module_call(const RecurrentSpec& spec, const Shape& input, const Shape* h0, const Shape* c0,
                             const SequenceLengths* lengths) {
  CallShape call;
  call.dims = check_module_inputs(spec, input, h0, c0);
  if (lengths != nullptr) {
    call.packed = pack_batch(call.dims, *lengths);
    call.has_lengths = true;
  }
  const SequenceDims& d = call.dims;
  const Index features = spec.directions() * spec.output_size();
  call.output = !d.batched      ? Shape{d.seq_len, features}
                : d.batch_first ? Shape{d.batch, d.seq_len, features}
                                : Shape{d.seq_len, d.batch, features};
  call.h = expected_state_shape(spec, d, false);
  if (spec.kind == CellKind::LSTM) call.c = expected_state_shape(spec, d, true);
  return call;
}

/// Checks a cell's arguments as the CPU cell does; the call is one step of `batch` rows.
inline CallShape cell_call(const RecurrentSpec& spec, const Shape& input, const Shape* h0, const Shape* c0) {
  const CellDims cell = check_cell_inputs(spec, input, h0, c0);
  CallShape call;
  call.dims.seq_len = 1;
  call.dims.batch = cell.batch;
  call.dims.batched = cell.batched;
  call.output = cell.batched ? Shape{cell.batch, spec.hidden_size} : Shape{spec.hidden_size};
  call.h = call.output;
  if (spec.kind == CellKind::LSTM) call.c = call.output;
  return call;
}

}  // namespace seqnet::detail
