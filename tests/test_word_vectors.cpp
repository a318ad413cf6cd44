// SPDX-License-Identifier: MIT
// WordVectors<T>: GloVe and word2vec text files (the tiny synthetic files tools/make_tiny_vectors.py writes
// to tests/data/word_vectors/), the accepted variations of the text format, torchnlp-style lookups, the
// hand-over to Embedding, and every load error with its exact `source:line:` message.
#include <catch2/catch.hpp>

#include <cstdint>
#include <locale>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <seqnet/word_vectors.hpp>

#include "tensor_compare.hpp"

#ifndef SEQNET_TEST_DATA_DIR
#error "SEQNET_TEST_DATA_DIR must name the tests/data directory"
#endif

namespace {

using seqnet::DuplicateWords;
using seqnet::Index;
using seqnet::Shape;
using seqnet::Tensor;
using seqnet::WordVectors;

const std::string data_dir = std::string(SEQNET_TEST_DATA_DIR) + "/word_vectors/";

template <typename T = float>
WordVectors<T> parse(const std::string& text, DuplicateWords duplicates = DuplicateWords::error) {
  std::istringstream in(text);
  return WordVectors<T>::from_stream(in, "mem.txt", duplicates);
}

/// The message of the format_error that parsing `text` throws ("" if none).
std::string load_error(const std::string& text) {
  try {
    parse(text);
  } catch (const seqnet::format_error& e) {
    return e.what();
  }
  return "";
}

template <typename T>
std::vector<T> row(const WordVectors<T>& vectors, const std::string& word) {
  const Tensor<T, 1> v = vectors[word];
  return std::vector<T>(v.data(), v.data() + v.size());
}

/// A numpunct that writes and reads decimals with a comma, as many European locales do.
struct CommaDecimal : std::numpunct<char> {
  char do_decimal_point() const override { return ','; }
};

}  // namespace

TEST_CASE("word vectors: the shipped GloVe and word2vec files load to the same vocabulary", "[word_vectors]") {
  const auto glove = seqnet::load_word_vectors<float>(data_dir + "tiny_glove.6d.txt");
  const auto word2vec = WordVectors<float>::load(data_dir + "tiny_word2vec.6d.txt");
  const std::vector<std::string> words{"hello", "world", "the", "lstm",  "rnn",   "embedding",
                                       "café",  "naïve", "你好", "世界", "e=mc²", "end."};
  CHECK(glove.words() == words);
  CHECK(word2vec.words() == words);
  CHECK(glove.size() == 12);
  CHECK(glove.dim() == 6);
  CHECK(seqnet::shape(glove.vectors()) == Shape{12, 6});
  CHECK(seqnet_test::identical(glove.vectors(), word2vec.vectors()));

  CHECK(row(glove, "hello") == std::vector<float>{-0.9501f, -0.8046f, 0.0703f, 0.9708f, 0.6213f, 0.0458f});
  CHECK(row(glove, "你好") == std::vector<float>{0.4455f, 0.2920f, 0.8913f, -0.9756f, 0.3172f, 0.7497f});
  CHECK(glove.index("世界") == 9);
  CHECK(glove.word(6) == "café");
  CHECK(glove.contains("e=mc²"));

  const auto exact = seqnet::load_word_vectors<double>(data_dir + "tiny_glove.6d.txt");
  CHECK(exact.vectors()(11, 5) == -0.8250);
}

TEST_CASE("word vectors: lookups, ids and the Embedding they make", "[word_vectors]") {
  const auto vectors = parse("hello 1 2 3\nworld 4 5 6\nthe -1 -2 -3\n");
  CHECK(vectors.find("world") == std::optional<Index>(1));
  CHECK_FALSE(vectors.find("World").has_value());
  CHECK_FALSE(vectors.contains("hello "));
  CHECK(row(vectors, "the") == std::vector<float>{-1, -2, -3});
  // torchnlp's vectors['unknown'] is a zero vector (its default unk_init).
  CHECK(row(vectors, "unknown") == std::vector<float>{0, 0, 0});
  CHECK_THROWS_MATCHES(vectors.index("unknown"), seqnet::key_error,
                       Catch::Matchers::Message("word 'unknown' is not in the vocabulary"));
  CHECK_THROWS_AS(vectors.word(3), std::out_of_range);

  const Tensor<std::int64_t, 1> ids = vectors.ids({"the", "hello", "the"});
  CHECK(std::vector<std::int64_t>(ids.data(), ids.data() + 3) == std::vector<std::int64_t>{2, 0, 2});
  CHECK_THROWS_MATCHES(vectors.ids({"hello", "zzz"}), seqnet::key_error,
                       Catch::Matchers::Message("word 'zzz' at position [1] is not in the vocabulary"));

  const seqnet::Embedding<float> embedding = vectors.embedding();
  CHECK(embedding.repr() == "Embedding(3, 3)");
  CHECK(embedding.frozen());
  const Tensor<float, 2> looked_up = embedding(ids);
  for (Index k = 0; k < 3; ++k) {
    CHECK(looked_up(0, k) == vectors["the"](k));
    CHECK(looked_up(1, k) == vectors["hello"](k));
  }
  const auto trainable = vectors.embedding(false, 0);
  CHECK(trainable.repr() == "Embedding(3, 3, padding_idx=0)");
  CHECK_FALSE(trainable.frozen());
  CHECK(trainable({0})(0, 2) == 3.0f);  // from_pretrained keeps the padding row's values
}

TEST_CASE("word vectors: accepted variations of the text format", "[word_vectors]") {
  // CRLF, tabs, runs of separators, trailing whitespace, blank lines, a byte order mark, a final line
  // without newline, signs and exponents.
  const auto v = parse("\xEF\xBB\xBFhello\t1.5  -2e-1 \r\n\n  world +3\t4E2\t\r\nlast .5 -0\n\n");
  CHECK(v.words() == std::vector<std::string>{"hello", "world", "last"});
  CHECK(row(v, "hello") == std::vector<float>{1.5f, -0.2f});
  CHECK(row(v, "world") == std::vector<float>{3.0f, 400.0f});
  CHECK(row(v, "last") == std::vector<float>{0.5f, 0.0f});
  CHECK(parse("a 1 2\nb 3 4").size() == 2);

  // Only ASCII space and tab separate fields: a UTF-8 non-breaking space belongs to the word.
  const auto nbsp = parse("new\xC2\xA0york 1 2\nnew 3 4\n");
  CHECK(nbsp.contains("new\xC2\xA0york"));
  CHECK(nbsp.index("new") == 1);

  // word2vec's header: two unsigned integers on the first line; anything else is a GloVe row.
  const auto with_header = parse("2 3\nhello 1 2 3\nworld 4 5 6\n");
  CHECK(with_header.size() == 2);
  CHECK(with_header.dim() == 3);
  const auto glove_dim1 = parse("2 -3\nhello 4\n");
  CHECK(glove_dim1.words() == std::vector<std::string>{"2", "hello"});
  CHECK(row(glove_dim1, "2") == std::vector<float>{-3.0f});
}

TEST_CASE("word vectors: numbers round like Python's float() then a float32 tensor", "[word_vectors]") {
  // 1 + 2^-24 + 2^-80: the nearest double is 1 + 2^-24 (a float tie, which rounds to even: 1.0), while
  // rounding the decimal straight to float gives 1 + 2^-23. torch.tensor([float(s)]) holds 1.0.
  const std::string s = "1.00000005960464477539062582718061255302767487140869206996285";
  CHECK(parse<float>("w " + s + "\n").vectors()(0, 0) == 1.0f);
  CHECK(parse<double>("w " + s + "\n").vectors()(0, 0) == 1.0 + 0x1p-24);
}

TEST_CASE("word vectors: parsing ignores the global locale", "[word_vectors]") {
  const std::locale original = std::locale::global(std::locale(std::locale::classic(), new CommaDecimal));
  std::string comma_error;
  float value = 0.0f;
  try {
    value = parse("w 0.25 1\n").vectors()(0, 0);
    comma_error = load_error("w 0,25 1\n");
  } catch (...) {
    std::locale::global(original);
    throw;
  }
  std::locale::global(original);
  CHECK(value == 0.25f);
  CHECK(comma_error == "mem.txt:1: value 1 of word 'w' is not a number: '0,25'");
}

TEST_CASE("word vectors: every load error names the line and what is wrong", "[word_vectors]") {
  CHECK(load_error("a 1 2 3\nb 1 2\n") == "mem.txt:2: word 'b' has 2 values, expected 3 (as on line 1)");
  CHECK(load_error("\n\na 1 2\nb 1 2 3 4\n") == "mem.txt:4: word 'b' has 4 values, expected 2 (as on line 3)");
  CHECK(load_error("2 3\na 1 2 3\nb 1 2 3 4\n") ==
        "mem.txt:3: word 'b' has 4 values, expected 3 (as the word2vec header on line 1)");
  CHECK(load_error("a 1 2\nb\n") == "mem.txt:2: word 'b' has 0 values, expected 2 (as on line 1)");
  CHECK(load_error("a\nb 1\n") == "mem.txt:1: word 'a' has no values");
  CHECK(load_error("a 1 2\nb 1 x2\n") == "mem.txt:2: value 2 of word 'b' is not a number: 'x2'");
  CHECK(load_error("a 1.5abc 2\n") == "mem.txt:1: value 1 of word 'a' is not a number: '1.5abc'");
  CHECK(load_error("a 1 --2\n") == "mem.txt:1: value 2 of word 'a' is not a number: '--2'");
  CHECK(load_error("a 1 +-2\n") == "mem.txt:1: value 2 of word 'a' is not a number: '+-2'");
  CHECK(load_error("a 1e400 2\n") == "mem.txt:1: value 1 of word 'a' is out of range: '1e400'");
  CHECK(load_error("3 2\na 1 2\nb 3 4\n") ==
        "mem.txt:1: the word2vec header's word count is 3 but the file has 2 vector lines");
  CHECK(load_error("\n1 2\na 1 2\nb 3 4\n") ==
        "mem.txt:2: the word2vec header's word count is 1 but the file has 2 vector lines");
  CHECK(load_error("5 0\n") == "mem.txt:1: the word2vec header declares vectors of dimension 0");
  CHECK(load_error("a 1 2\nb 3 4\na 5 6\n") == "mem.txt:3: duplicate word 'a' (first on line 1)");
  CHECK(load_error("") == "mem.txt:1: no word vectors (empty file)");
  CHECK(load_error("\n \n\t\r\n") == "mem.txt:3: no word vectors (only blank lines)");
  static const char binary[] = "2 2\nab \x01\x7f\x00\x3f\x9a\x99\x19\x3e\n";  // two float32 values, one NUL
  CHECK(load_error(std::string(binary, sizeof(binary) - 1)) ==
        "mem.txt:2: the values of word 'ab' are binary data: binary word2vec files are not supported (save them "
        "in text format)");
  CHECK_THROWS_AS(parse("a 1 2\nb 1\n"), std::invalid_argument);  // format_error is an invalid_argument

  // File I/O failures are std::system_error (with the system's message), as for safetensors and as docs/api.md says.
  CHECK_THROWS_MATCHES(seqnet::load_word_vectors<float>(data_dir + "no_such_file.txt"), std::system_error,
                       Catch::Matchers::Predicate<std::system_error>([&](const std::system_error& e) {
                         return e.code() == std::errc::no_such_file_or_directory &&
                                std::string(e.what()).rfind("cannot open word vector file '" + data_dir +
                                                                "no_such_file.txt'", 0) == 0;
                       }));
  // A word2vec header of 0 words fixes no dimension that rows could check: rejected as an empty file is
  // (it once loaded with any dimension, and a lookup then allocated `dim` values).
  CHECK(load_error("0 4000000000\n") == "mem.txt:1: the word2vec header declares 0 words (no word vectors)");
  CHECK(load_error("0 3\n") == "mem.txt:1: the word2vec header declares 0 words (no word vectors)");
}

TEST_CASE("word vectors: duplicate words can keep the first or the last vector", "[word_vectors]") {
  const std::string text = "a 1 2\nb 3 4\na 5 6\nc 7 8\n";
  const auto first = parse(text, DuplicateWords::keep_first);
  CHECK(first.words() == std::vector<std::string>{"a", "b", "c"});
  CHECK(row(first, "a") == std::vector<float>{1, 2});
  const auto last = parse(text, DuplicateWords::keep_last);
  CHECK(last.words() == std::vector<std::string>{"a", "b", "c"});
  CHECK(row(last, "a") == std::vector<float>{5, 6});
  CHECK(row(last, "c") == std::vector<float>{7, 8});
  // A duplicate line is still checked, and counts toward the header's word count.
  std::istringstream ragged("a 1 2\na 1\n");
  CHECK_THROWS_MATCHES(WordVectors<float>::from_stream(ragged, "dup.txt", DuplicateWords::keep_first),
                       seqnet::format_error,
                       Catch::Matchers::Message("dup.txt:2: word 'a' has 1 values, expected 2 (as on line 1)"));
  CHECK(parse("2 2\na 1 2\na 3 4\n", DuplicateWords::keep_last).size() == 1);
}

TEST_CASE("word vectors: built from words and a matrix", "[word_vectors]") {
  Tensor<double, 2> m(2, 3);
  m.setValues({{1, 2, 3}, {4, 5, 6}});
  const WordVectors<double> v({"x", "y"}, m);
  CHECK(v.index("y") == 1);
  CHECK(v["y"](2) == 6.0);
  CHECK_THROWS_MATCHES(WordVectors<double>({"x"}, m), seqnet::value_error,
                       Catch::Matchers::Message("word vectors: 1 words but 2 vectors"));
  CHECK_THROWS_MATCHES(WordVectors<double>({"x", "x"}, m), seqnet::value_error,
                       Catch::Matchers::Message("word vectors: duplicate word 'x'"));
  CHECK_THROWS_MATCHES(WordVectors<double>({"x", ""}, m), seqnet::value_error,
                       Catch::Matchers::Message("word vectors: word 1 is empty"));
}
