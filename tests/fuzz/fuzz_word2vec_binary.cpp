// SPDX-License-Identifier: MIT
// libFuzzer target: word2vec *binary* files given to seqnet's word-vector reader.
//
// seqnet reads only the text formats; a binary word2vec file (`count dim\n`, then per word the word, a
// space and dim raw little-endian float32 values, optionally a newline) must be refused with format_error
// ("binary word2vec files are not supported"), never read as garbage, and never crash. The first byte picks
// how the rest is used:
//   even: the rest is the file, as is (the seeds are real binary files);
//   odd:  a well-formed binary file is built from the rest (count and dim from the next two bytes, then
//         words and raw values), so that the fuzzer spends its time past the header.
// Either way the reader must accept (a file whose "binary" values happen to be printable numbers is a
// valid text file) or throw format_error; fuzz_word_vectors.hpp checks what it accepts.
#include <string>

#include "fuzz_word_vectors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  if ((data[0] & 1) == 0) {
    seqnet_fuzz::fuzz_word_vectors(std::string(reinterpret_cast<const char*>(data + 1), size - 1));
    return 0;
  }
  seqnet_fuzz::ByteReader bytes(data + 1, size - 1);
  const unsigned count = bytes.byte() % 8 + 1, dim = bytes.byte() % 8 + 1;
  std::string file = std::to_string(count) + " " + std::to_string(dim) + "\n";
  for (unsigned w = 0; w < count; ++w) {
    const unsigned length = bytes.byte() % 6 + 1;
    for (unsigned i = 0; i < length; ++i) file += static_cast<char>('a' + bytes.byte() % 26);
    file += ' ';
    for (unsigned k = 0; k < 4 * dim; ++k) file += static_cast<char>(bytes.byte());
    if (bytes.flag()) file += '\n';
  }
  seqnet_fuzz::fuzz_word_vectors(file);
  return 0;
}
