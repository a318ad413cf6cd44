// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <numeric>
#include <vector>

#include "../../errors.hpp"
#include "../../sequence_lengths.hpp"
#include "spec.hpp"

namespace seqnet::detail {

/// A padded batch seen as PyTorch's `PackedSequence`: the batch order that sorts the sequences by
/// decreasing length (`sorted_indices`) and, per time step, how many sorted sequences are still running
/// (`batch_sizes`). With that order the running sequences are always the first rows of a step, so the
/// recurrence only computes those.
struct PackedBatch {
  std::vector<Index> sorted_indices;  ///< sorted row i is input row sorted_indices[i]
  std::vector<Index> batch_sizes;     ///< per time step t: number of sequences with length > t
  bool permuted = false;              ///< sorted_indices is not the identity
};

/// Checks `lengths` against the input in pack_padded_sequence's order and with its messages, plus the
/// checks PyTorch leaves out (lengths beyond the sequence, unbatched input).
inline PackedBatch pack_batch(const SequenceDims& dims, const SequenceLengths& lengths) {
  SEQNET_CHECK(shape_error, dims.batched, "sequence lengths need batched 3-D input, got unbatched 2-D input");
  // pack_padded_sequence's first check (a batch of 0 with lengths is an error there, not an empty result).
  SEQNET_CHECK(shape_error, dims.batch > 0, "Cannot pack empty tensors.");
  const std::vector<Index>& values = lengths.values();
  if (lengths.enforce_sorted()) {
    SEQNET_CHECK(shape_error, std::is_sorted(values.rbegin(), values.rend()),
                 "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You can "
                 "pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep this "
                 "requirement if you do not need ONNX exportability.");
  }
  SEQNET_CHECK(shape_error, lengths.size() == dims.batch, "Expected `len(lengths)` to be equal to batch_size, but got ",
               lengths.size(), " (batch_size=", dims.batch, ")");
  PackedBatch packed;
  packed.sorted_indices.resize(values.size());
  std::iota(packed.sorted_indices.begin(), packed.sorted_indices.end(), Index(0));
  // Ties keep their batch order (a stable sort, without stable_sort's temporary buffer).
  std::sort(packed.sorted_indices.begin(), packed.sorted_indices.end(), [&](Index a, Index b) {
    const Index length_a = values[static_cast<std::size_t>(a)], length_b = values[static_cast<std::size_t>(b)];
    return length_a != length_b ? length_a > length_b : a < b;
  });
  for (std::size_t i = 0; i < values.size(); ++i) {
    SEQNET_CHECK(shape_error, values[i] > 0,
                 "Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0");
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    // PyTorch does not check this and reads past the input; here it is an error.
    SEQNET_CHECK(shape_error, values[i] <= dims.seq_len, "Expected every length to be at most the sequence length ",
                 dims.seq_len, ", got ", values[i], " at batch index ", i);
  }
  packed.batch_sizes.assign(static_cast<std::size_t>(dims.seq_len), 0);
  for (Index length : values)
    for (Index t = 0; t < length; ++t) ++packed.batch_sizes[static_cast<std::size_t>(t)];
  for (std::size_t i = 0; i < packed.sorted_indices.size(); ++i)
    packed.permuted = packed.permuted || packed.sorted_indices[i] != static_cast<Index>(i);
  return packed;
}

}  // namespace seqnet::detail
