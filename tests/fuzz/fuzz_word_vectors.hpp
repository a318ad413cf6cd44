// SPDX-License-Identifier: MIT
// The word-vector targets' shared check: read `text` with WordVectors<T>::from_stream; it must accept or
// throw format_error (std::system_error is documented for a failing stream, which an istringstream never
// is). An accepted vocabulary must be consistent: size() words, a [size(), dim()] matrix, every word found
// at its own row, and an Embedding built from it looks them up.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include <seqnet/word_vectors.hpp>

#include "fuzz_common.hpp"

namespace seqnet_fuzz {

template <typename T>
void fuzz_text(const std::string& text, seqnet::DuplicateWords duplicates) {
  std::istringstream in(text);
  const seqnet::WordVectors<T> vectors = seqnet::WordVectors<T>::from_stream(in, "fuzz", duplicates);
  SEQNET_FUZZ_REQUIRE(vectors.size() > 0 && vectors.dim() > 0);
  SEQNET_FUZZ_REQUIRE(vectors.vectors().dimension(0) == vectors.size());
  SEQNET_FUZZ_REQUIRE(static_cast<std::size_t>(vectors.size() * vectors.dim()) <= text.size());
  for (seqnet::Index i = 0; i < vectors.size(); ++i) {
    const std::string& word = vectors.word(i);
    SEQNET_FUZZ_REQUIRE(!word.empty() && vectors.index(word) == i);
    const seqnet::Tensor<T, 1> row = vectors[word];
    SEQNET_FUZZ_REQUIRE(row.dimension(0) == vectors.dim());
  }
  SEQNET_FUZZ_REQUIRE(!vectors.contains(""));
  const seqnet::Tensor<T, 1> unknown = vectors[std::string(" ")];  // no word holds a space
  SEQNET_FUZZ_REQUIRE(unknown.dimension(0) == vectors.dim());
  const seqnet::Embedding<T> embedding = vectors.embedding();
  const std::vector<std::int64_t> ids{0, static_cast<std::int64_t>(vectors.size() - 1)};
  const seqnet::Tensor<T, 2> looked_up = embedding(ids);
  SEQNET_FUZZ_REQUIRE(looked_up.dimension(0) == 2 && looked_up.dimension(1) == vectors.dim());
}


/// The length of the input picks float or double and the DuplicateWords policy, so that the bytes stay
/// the file itself.
inline void fuzz_word_vectors(const std::string& text) {
  const auto duplicates = static_cast<seqnet::DuplicateWords>(text.size() % 3);
  expect_clean([&] {
    if (text.size() % 2 == 0)
      fuzz_text<float>(text, duplicates);
    else
      fuzz_text<double>(text, duplicates);
  });
}

}  // namespace seqnet_fuzz
