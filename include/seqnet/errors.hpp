// SPDX-License-Identifier: MIT
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

#if defined(__GNUC__) || defined(__clang__)
#define SEQNET_COLD_NOINLINE __attribute__((cold, noinline))
#define SEQNET_UNLIKELY(condition) __builtin_expect(static_cast<bool>(condition), 0)
#elif defined(_MSC_VER)
#define SEQNET_COLD_NOINLINE __declspec(noinline)
#define SEQNET_UNLIKELY(condition) static_cast<bool>(condition)
#else
#define SEQNET_COLD_NOINLINE
#define SEQNET_UNLIKELY(condition) static_cast<bool>(condition)
#endif

/// Throws `Error` (a seqnet error type) with the message parts concatenated when `condition` is false.
/// As libtorch's `TORCH_CHECK`, it is a macro so that the parts (which may build strings, such as
/// `spec.name()` or `shape.str()`) are evaluated only when the check fails: a passing check costs a
/// compare and a branch, and never allocates.
#define SEQNET_CHECK(Error, condition, ...)                                    \
  do {                                                                         \
    if (SEQNET_UNLIKELY(!(condition))) ::seqnet::detail::fail<Error>(__VA_ARGS__); \
  } while (false)

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

/// Throws `Error` with the concatenated message. Kept out of line and marked cold, so that the
/// checks calling it add only a compare and a branch to their caller.
template <typename Error, typename... Parts>
[[noreturn]] SEQNET_COLD_NOINLINE void fail(const Parts&... parts) {
  throw Error(concat(parts...));
}

/// Throws `Error` with the concatenated message when `condition` is false. Its arguments are evaluated
/// before the call even when the check passes; on a hot path use `SEQNET_CHECK`, which evaluates them
/// only on failure.
template <typename Error, typename... Parts>
void check(bool condition, const Parts&... parts) {
  if (!condition) fail<Error>(parts...);
}

}  // namespace detail
}  // namespace seqnet
