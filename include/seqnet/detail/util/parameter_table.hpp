// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "../../tensor.hpp"

namespace seqnet::detail {

/// One named parameter inside a module's flat parameter buffer.
struct ParameterInfo {
  std::string name;
  Shape shape;
  Index offset = 0;
};

/// Names, shapes and offsets of a module's parameters in registration (PyTorch) order; the
/// parameters lie back to back in one buffer of `total_size` scalars.
struct ParameterTable {
  std::vector<ParameterInfo> entries;
  Index total_size = 0;

  /// Appends a parameter after the previous ones and returns its offset.
  Index add(std::string name, Shape shape) {
    const Index offset = total_size;
    total_size += shape.numel();
    entries.push_back({std::move(name), std::move(shape), offset});
    return offset;
  }

  const ParameterInfo* find(const std::string& name) const {
    for (const auto& entry : entries)
      if (entry.name == name) return &entry;
    return nullptr;
  }
};

}  // namespace seqnet::detail
