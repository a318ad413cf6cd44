// SPDX-License-Identifier: MIT
// libFuzzer target: GloVe and word2vec text files from untrusted bytes (see fuzz_word_vectors.hpp for
// what is checked).
#include "fuzz_word_vectors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  seqnet_fuzz::fuzz_word_vectors(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
