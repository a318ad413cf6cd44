// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

#include "tensor.hpp"

namespace seqnet {

/// The valid length of every sequence in a padded batch: what `torch.nn.utils.rnn.pack_padded_sequence`
/// takes. Passed to a stacked module (`lstm(x, lengths)`), it gives PyTorch's packed-sequence results:
/// outputs past a sequence's length are zero, `h_n`/`c_n` hold each sequence's last valid step, and the
/// reverse direction starts at each sequence's own last valid step.
///
/// As in PyTorch, `enforce_sorted` (default true) requires decreasing lengths; set it to false to pass
/// them in any order (the results are the same either way).
/// Example: `auto [out, h_n] = gru(x, seqnet::SequenceLengths{5, 3, 2});`
class SequenceLengths {
 public:
  SequenceLengths(std::initializer_list<Index> lengths) : lengths_(lengths) {}
  explicit SequenceLengths(std::vector<Index> lengths) : lengths_(std::move(lengths)) {}
  /// From a 1-D int64 tensor, like PyTorch's `lengths` argument.
  explicit SequenceLengths(const Tensor<std::int64_t, 1>& lengths)
      : lengths_(lengths.data(), lengths.data() + lengths.size()) {}

  /// PyTorch's `enforce_sorted`: when true, lengths must be in decreasing order. Default: true
  SequenceLengths& enforce_sorted(bool on) & noexcept {
    enforce_sorted_ = on;
    return *this;
  }
  /// On a temporary (`SequenceLengths{3, 5}.enforce_sorted(false)`) returns the value, so binding the
  /// result to a reference never dangles.
  SequenceLengths enforce_sorted(bool on) && noexcept {
    enforce_sorted_ = on;
    return std::move(*this);
  }
  bool enforce_sorted() const noexcept { return enforce_sorted_; }

  const std::vector<Index>& values() const noexcept { return lengths_; }
  Index size() const noexcept { return static_cast<Index>(lengths_.size()); }

 private:
  std::vector<Index> lengths_;
  bool enforce_sorted_ = true;
};

}  // namespace seqnet
