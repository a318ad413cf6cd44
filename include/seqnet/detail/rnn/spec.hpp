// SPDX-License-Identifier: MIT
#pragma once

// What fixes a recurrent module's shapes (`RecurrentSpec`), independent of scalar type and device.

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "../../errors.hpp"
#include "../../options.hpp"
#include "../../tensor.hpp"
#include "../util/format.hpp"

namespace seqnet::detail {

/// Which recurrence a module computes. The gate count fixes the row blocks of every weight.
enum class CellKind { RNN, LSTM, GRU };

/// RNN: one block; LSTM: i, f, g, o; GRU: r, z, n.
inline Index gate_count(CellKind kind) {
  switch (kind) {
    case CellKind::LSTM: return 4;
    case CellKind::GRU: return 3;
    case CellKind::RNN: break;
  }
  return 1;
}

inline const char* kind_name(CellKind kind) {
  switch (kind) {
    case CellKind::LSTM: return "LSTM";
    case CellKind::GRU: return "GRU";
    case CellKind::RNN: break;
  }
  return "RNN";
}

/// Everything that fixes a recurrent module's shapes, independent of scalar type and device.
/// The CPU forward pass, the parameter layout, the shape checks and the repr all read this one
/// description, so a backward pass or a GPU backend can reuse them unchanged.
struct RecurrentSpec {
  CellKind kind = CellKind::RNN;
  bool is_cell = false;  ///< RNNCell/LSTMCell: one layer, one direction, unsuffixed parameter names.
  Nonlinearity nonlinearity = Nonlinearity::Tanh;
  Index input_size = 0;
  Index hidden_size = 0;
  Index proj_size = 0;
  Index num_layers = 1;
  bool bias = true;
  bool batch_first = false;
  bool bidirectional = false;
  double dropout = 0.0;

  static RecurrentSpec from(const RNNOptions& o) {
    RecurrentSpec s = stacked(CellKind::RNN, o);
    s.nonlinearity = o.nonlinearity();
    return s;
  }
  static RecurrentSpec from(const LSTMOptions& o) {
    RecurrentSpec s = stacked(CellKind::LSTM, o);
    s.proj_size = o.proj_size();
    return s;
  }
  static RecurrentSpec from(const GRUOptions& o) { return stacked(CellKind::GRU, o); }
  static RecurrentSpec from(const RNNCellOptions& o) {
    RecurrentSpec s = cell(CellKind::RNN, o);
    s.nonlinearity = o.nonlinearity();
    return s;
  }
  static RecurrentSpec from(const LSTMCellOptions& o) { return cell(CellKind::LSTM, o); }
  static RecurrentSpec from(const GRUCellOptions& o) { return cell(CellKind::GRU, o); }

  Index gates() const { return gate_count(kind); }
  Index gate_size() const { return gates() * hidden_size; }
  Index directions() const { return bidirectional ? 2 : 1; }
  /// H_out: size of h (proj_size when projecting, else hidden_size).
  Index output_size() const { return proj_size > 0 ? proj_size : hidden_size; }
  Index layer_input_size(Index layer) const { return layer == 0 ? input_size : directions() * output_size(); }
  /// "LSTM", "RNNCell", ...: the class name PyTorch prints and uses in messages.
  std::string name() const { return std::string(kind_name(kind)) + (is_cell ? "Cell" : ""); }

  /// Rejects options PyTorch rejects, with PyTorch's messages (its ValueError becomes `value_error`).
  void validate() const {
    if (is_cell) {
      // PyTorch's cells accept sizes of 0 (empty weights; an input_size-0 cell runs on its biases and h
      // alone) and only torch.empty of weight_ih `[G * hidden_size, input_size]` refuses a negative size.
      check_cell_sizes();
    } else {
      SEQNET_CHECK(value_error, dropout >= 0.0 && dropout <= 1.0,
                   "dropout should be a number in range [0, 1] representing the probability of an element being zeroed");
      SEQNET_CHECK(value_error, input_size > 0, "input_size must be greater than zero");
      SEQNET_CHECK(value_error, hidden_size > 0, "hidden_size must be greater than zero");
      SEQNET_CHECK(value_error, num_layers > 0, "num_layers must be greater than zero");
      SEQNET_CHECK(value_error, proj_size >= 0, "proj_size should be a positive integer or zero to disable projections");
      SEQNET_CHECK(value_error, proj_size == 0 || kind == CellKind::LSTM,
                   "proj_size argument is only supported for LSTM, not RNN or GRU");
      SEQNET_CHECK(value_error, proj_size < hidden_size, "proj_size has to be smaller than hidden_size");
    }
    // An upper bound on the parameter count (layer 0 may be the widest) keeps every size product far
    // inside Index's range
    // (PyTorch would fail to allocate instead).
    using Real = long double;
    const Real hidden = static_cast<Real>(hidden_size), out = static_cast<Real>(output_size());
    const Real widest_input = std::max(static_cast<Real>(input_size), static_cast<Real>(directions()) * out);
    const Real parameter_count = static_cast<Real>(num_layers) * static_cast<Real>(directions()) *
                                 (static_cast<Real>(gates()) * hidden * (widest_input + out + 2) +
                                  static_cast<Real>(proj_size) * hidden);
    SEQNET_CHECK(value_error, parameter_count < 0x1p53L, "sizes too large: the module would need more than 2^53 parameters");
    // Far below overflow, a module that could not fit in any machine's memory (2^36 fp32 parameters are
    // 256 GiB; each layer also keeps about 1.5 KB of names and offsets) is refused here, before anything is
    // allocated, instead of ending in std::bad_alloc or the OOM killer.
    SEQNET_CHECK(value_error, parameter_count <= 0x1p36L, "sizes too large: the module would need more than 2^36 parameters");
    SEQNET_CHECK(value_error, num_layers <= max_layers, "num_layers too large: seqnet supports at most ", max_layers, " layers");
  }
  static constexpr Index max_layers = Index(1) << 16;

  /// Python's `repr(module)`: only non-default options, in PyTorch's order. `nn.RNN` never prints
  /// its nonlinearity; cells print `nonlinearity=relu` unquoted.
  std::string repr() const {
    std::string s = name() + "(" + std::to_string(input_size) + ", " + std::to_string(hidden_size);
    if (is_cell) {
      if (!bias) s += ", bias=False";
      if (nonlinearity != Nonlinearity::Tanh) s += std::string(", nonlinearity=") + to_string(nonlinearity);
    } else {
      if (proj_size != 0) s += ", proj_size=" + std::to_string(proj_size);
      if (num_layers != 1) s += ", num_layers=" + std::to_string(num_layers);
      if (!bias) s += ", bias=False";
      if (batch_first) s += ", batch_first=True";
      if (dropout != 0.0) s += ", dropout=" + python_float_repr(dropout);
      if (bidirectional) s += ", bidirectional=True";
    }
    return s + ")";
  }

 private:
  /// torch.empty's message for weight_ih, the first parameter a cell creates, naming its first negative
  /// extent. (A hidden_size so large in magnitude that `G * hidden_size` overflows has no PyTorch message:
  /// its size check fails internally.)
  void check_cell_sizes() const {
    if (input_size >= 0 && hidden_size >= 0) return;
    SEQNET_CHECK(value_error,
                 hidden_size >= std::numeric_limits<Index>::min() / gates() &&
                     hidden_size <= std::numeric_limits<Index>::max() / gates(),
                 "Trying to create tensor with negative dimension: hidden_size=", hidden_size, ", input_size=",
                 input_size);
    const Index rows = gates() * hidden_size;
    throw value_error(concat("Trying to create tensor with negative dimension ", rows < 0 ? rows : input_size, ": [",
                             rows, ", ", input_size, "]"));
  }

  template <typename Options>
  static RecurrentSpec stacked(CellKind kind, const Options& o) {
    RecurrentSpec s;
    s.kind = kind;
    s.input_size = o.input_size();
    s.hidden_size = o.hidden_size();
    s.num_layers = o.num_layers();
    s.bias = o.bias();
    s.batch_first = o.batch_first();
    s.dropout = o.dropout();
    s.bidirectional = o.bidirectional();
    return s;
  }
  template <typename Options>
  static RecurrentSpec cell(CellKind kind, const Options& o) {
    RecurrentSpec s;
    s.kind = kind;
    s.is_cell = true;
    s.input_size = o.input_size();
    s.hidden_size = o.hidden_size();
    s.bias = o.bias();
    return s;
  }
};

/// Sequence and batch extents of a module input.
struct SequenceDims {
  Index seq_len = 0;
  Index batch = 0;
  bool batched = true;
  bool batch_first = false;  ///< effective: PyTorch ignores batch_first for unbatched input
};

}  // namespace seqnet::detail
