// SPDX-License-Identifier: MIT
#pragma once

// Where each parameter of a recurrent module lives in its flat buffer, in PyTorch's order.

#include <string>
#include <vector>

#include "../util/parameter_table.hpp"
#include "spec.hpp"

namespace seqnet::detail {

/// Offsets of one layer-direction's parameters in the flat buffer; -1 marks an absent one.
struct DirectionOffsets {
  Index weight_ih = -1;
  Index weight_hh = -1;
  Index bias_ih = -1;
  Index bias_hh = -1;
  Index weight_hr = -1;
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

/// Pointers to one layer-direction's parameters (or a cell's) in a flat buffer; biases and weight_hr may
/// be null.
template <typename T>
struct DirectionWeights {
  const T* weight_ih = nullptr;
  const T* weight_hh = nullptr;
  const T* bias_ih = nullptr;
  const T* bias_hh = nullptr;
  const T* weight_hr = nullptr;
  Index input_size = 0;

  static DirectionWeights at(const T* params, const DirectionOffsets& o, Index input_size) {
    auto ptr = [params](Index offset) { return offset < 0 ? nullptr : params + offset; };
    return {ptr(o.weight_ih), ptr(o.weight_hh), ptr(o.bias_ih), ptr(o.bias_hh), ptr(o.weight_hr), input_size};
  }
};

}  // namespace seqnet::detail
