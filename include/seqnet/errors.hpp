// SPDX-License-Identifier: MIT
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace seqnet {

/// Thrown when a tensor handed to a module has the wrong rank or shape.
/// The message names the expected and the actual shape, in PyTorch's words.
class shape_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Thrown when a module is built with invalid options (PyTorch's ValueError).
class value_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Thrown when a parameter is looked up by a name the module does not have
/// (PyTorch's AttributeError / KeyError).
class key_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Thrown when an index is out of range, e.g. an id handed to `Embedding` (PyTorch's IndexError).
/// The message names the index, where it was and the valid range.
class index_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Thrown when a safetensors file or buffer is malformed (header, dtype, shape or offsets); the message
/// names the tensor and the numbers that disagree.
class format_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Thrown when a state dict does not fit a module (PyTorch's "Error(s) in loading state_dict for ..."
/// RuntimeError): missing or unexpected keys in strict mode, or a size mismatch.
class state_dict_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

namespace detail {

template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream stream;
  (stream << ... << parts);
  return stream.str();
}

/// Throws `Error` with the concatenated message when `condition` is false.
/// The parts are only formatted on failure.
template <typename Error, typename... Parts>
void check(bool condition, const Parts&... parts) {
  if (!condition) throw Error(concat(parts...));
}

}  // namespace detail
}  // namespace seqnet
