// SPDX-License-Identifier: MIT
// What the whole-model fixtures record from PyTorch (tools/gen_compose_golden.py, tools/gen_crnn_vad.py):
// `print(model)`, then each state_dict key with its shape, one per line. The tests compare seqnet's
// module tree with it byte for byte.
#pragma once

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <utility>

#include <seqnet/module.hpp>

namespace seqnet_test {

/// `print(model)`, then `key [d0, d1]` for every parameter and buffer in state_dict order.
template <typename Module>
std::string model_printout(const Module& model) {
  std::string printed = model.repr() + "\n";
  for (const auto& [name, tensor] : model.named_state()) {
    printed += name + " [";
    for (seqnet::Index i = 0; i < tensor.rank(); ++i) printed += (i ? ", " : "") + std::to_string(tensor.dimensions()[i]);
    printed += "]\n";
  }
  return printed;
}

/// A whole text file; throws if it cannot be read.
inline std::string file_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace seqnet_test
