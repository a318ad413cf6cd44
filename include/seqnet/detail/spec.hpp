// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "../errors.hpp"
#include "../options.hpp"
#include "../tensor.hpp"
#include "format.hpp"
#include "parameter_table.hpp"

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

/// Offsets of one layer-direction's parameters in the flat buffer; -1 marks an absent one.
struct DirectionOffsets {
  Index weight_ih = -1;
  Index weight_hh = -1;
  Index bias_ih = -1;
  Index bias_hh = -1;
  Index weight_hr = -1;
};

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
    if (!is_cell) {
      SEQNET_CHECK(value_error, dropout >= 0.0 && dropout <= 1.0,
                   "dropout should be a number in range [0, 1] representing the probability of an element being zeroed");
    }
    SEQNET_CHECK(value_error, input_size > 0, "input_size must be greater than zero");
    SEQNET_CHECK(value_error, hidden_size > 0, "hidden_size must be greater than zero");
    SEQNET_CHECK(value_error, num_layers > 0, "num_layers must be greater than zero");
    SEQNET_CHECK(value_error, proj_size >= 0, "proj_size should be a positive integer or zero to disable projections");
    SEQNET_CHECK(value_error, proj_size == 0 || kind == CellKind::LSTM,
                 "proj_size argument is only supported for LSTM, not RNN or GRU");
    SEQNET_CHECK(value_error, proj_size < hidden_size, "proj_size has to be smaller than hidden_size");
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

/// Names, shapes and offsets of all parameters, in PyTorch's registration order:
/// per layer, per direction: weight_ih, weight_hh, [bias_ih, bias_hh], [weight_hr].
struct ParameterLayout {
  ParameterTable table;
  std::vector<DirectionOffsets> directions;  ///< index layer * D + direction

  explicit ParameterLayout(const RecurrentSpec& spec) {
    const Index G = spec.gate_size();
    for (Index layer = 0; layer < spec.num_layers; ++layer) {
      for (Index dir = 0; dir < spec.directions(); ++dir) {
        std::string suffix = spec.is_cell ? "" : "_l" + std::to_string(layer) + (dir == 1 ? "_reverse" : "");
        DirectionOffsets offsets;
        offsets.weight_ih = table.add("weight_ih" + suffix, {G, spec.layer_input_size(layer)});
        offsets.weight_hh = table.add("weight_hh" + suffix, {G, spec.output_size()});
        if (spec.bias) {
          offsets.bias_ih = table.add("bias_ih" + suffix, {G});
          offsets.bias_hh = table.add("bias_hh" + suffix, {G});
        }
        if (spec.proj_size > 0) offsets.weight_hr = table.add("weight_hr" + suffix, {spec.proj_size, spec.hidden_size});
        directions.push_back(offsets);
      }
    }
  }
};

/// Sequence and batch extents of a module input.
struct SequenceDims {
  Index seq_len = 0;
  Index batch = 0;
  bool batched = true;
  bool batch_first = false;  ///< effective: PyTorch ignores batch_first for unbatched input
};

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

}  // namespace seqnet::detail
