// SPDX-License-Identifier: MIT
#pragma once

#include "../sequence_lengths.hpp"
#include "../tensor.hpp"
#include "packing.hpp"
#include "spec.hpp"

namespace seqnet::detail {

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
