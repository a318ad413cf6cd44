// SPDX-License-Identifier: MIT
// Shared by the libFuzzer targets in this directory (see README.md).
//
// A target may end an input in three ways: success, an exception derived from std::invalid_argument
// (seqnet's documented answer to bad input), or, where an API documents it, std::system_error. Any other
// exception escapes LLVMFuzzerTestOneInput, std::terminate aborts, and libFuzzer records the input as a
// crash: a finding. `require` turns a broken invariant into the same abort.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace seqnet_fuzz {

[[noreturn]] inline void invariant_broken(const char* what, const char* file, int line) {
  std::fprintf(stderr, "fuzz invariant broken at %s:%d: %s\n", file, line, what);
  std::abort();
}

#define SEQNET_FUZZ_REQUIRE(condition) \
  ((condition) ? (void)0 : ::seqnet_fuzz::invariant_broken(#condition, __FILE__, __LINE__))

/// Runs `body`, accepting only the documented bad-input exceptions.
template <typename F>
void expect_clean(F&& body) {
  try {
    body();
  } catch (const std::invalid_argument&) {
    // Bad input, rejected as documented.
  }
}

/// Reads fuzz bytes as a little stream of small integers: what is left when the bytes run out is 0.
class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint64_t u64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(byte()) << (8 * i);
    return v;
  }
  bool flag() { return (byte() & 1) != 0; }
  const std::uint8_t* rest() const { return data_ + pos_; }
  std::size_t rest_size() const { return size_ - pos_; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

}  // namespace seqnet_fuzz
