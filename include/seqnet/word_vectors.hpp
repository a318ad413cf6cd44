// SPDX-License-Identifier: MIT
/// @file word_vectors.hpp
/// `WordVectors<T>`: a vocabulary with one vector per word, read from GloVe or word2vec text files, the
/// C++ side of torchnlp's `GloVe()` / `vectors['hello']` and of `Embedding.from_pretrained`.
#pragma once

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "embedding.hpp"
#include "errors.hpp"
#include "tensor.hpp"

namespace seqnet {

/// What loading does with a word that occurs on more than one line.
enum class DuplicateWords {
  error,       ///< throw `format_error` naming both lines (the default: a clean file never has duplicates)
  keep_first,  ///< keep the first line's vector (gensim's choice); later lines are checked, then dropped
  keep_last,   ///< the last line's vector wins, at the word's first position (what torchnlp's lookup returns)
};

/// Word vectors: the words in file order (word `i` is row `i`, so its id for `Embedding` is `i`) and a
/// `[size(), dim()]` matrix of vectors. Words are byte strings (UTF-8 in practice) compared exactly.
template <typename T>
class WordVectors {
  static_assert(std::is_floating_point_v<T>, "word vectors are float or double (or long double)");

 public:
  /// A vocabulary from words and their vectors `[words.size(), dim]`; throws `value_error` if the row count
  /// differs from the word count, or a word is empty or occurs twice.
  WordVectors(std::vector<std::string> words, Tensor<T, 2> vectors)
      : words_(std::move(words)), vectors_(std::move(vectors)) {
    detail::check<value_error>(static_cast<Index>(words_.size()) == vectors_.dimension(0), "word vectors: ",
                               words_.size(), " words but ", vectors_.dimension(0), " vectors");
    index_.reserve(words_.size());
    for (std::size_t i = 0; i < words_.size(); ++i) {
      detail::check<value_error>(!words_[i].empty(), "word vectors: word ", i, " is empty");
      const bool inserted = index_.emplace(words_[i], static_cast<Index>(i)).second;
      detail::check<value_error>(inserted, "word vectors: duplicate word '", words_[i], "'");
    }
  }

  /// Reads a GloVe or word2vec text file; see `from_stream` for the format and the errors. A file that
  /// cannot be opened or read throws `std::system_error` (the path and the system's message), as every
  /// file I/O failure in seqnet does.
  static WordVectors load(const std::string& path, DuplicateWords duplicates = DuplicateWords::error) {
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in.is_open())
      throw std::system_error(errno != 0 ? errno : ENOENT, std::generic_category(),
                              "cannot open word vector file '" + path + "'");
    return from_stream(in, path, duplicates);
  }

  /// Reads word vectors in text form from `in`; `source` names the input in error messages.
  ///
  /// One word per line, `word v1 v2 ... vd`, fields separated by spaces or tabs (any other byte, such as
  /// a UTF-8 non-breaking space, belongs to the word); CRLF line ends, a UTF-8 byte order mark, trailing
  /// whitespace and blank lines are accepted. GloVe files have no header; word2vec text files start with
  /// `count dim`: a first line of exactly two unsigned integers is taken as that header. Numbers are read
  /// in the C locale (whatever the global locale) as doubles and then rounded to `T`, as Python's
  /// `float(token)` followed by a float32 tensor does.
  ///
  /// Every format error is a `format_error` whose message starts with `source:line: ` and says what is wrong:
  /// a row with a different number of values than the first row (or the header), a value that is not a
  /// number or overflows a double, control bytes among the values (a binary word2vec file), a header whose
  /// count disagrees with the rows or is 0, a duplicate word (unless `duplicates` says otherwise), or no
  /// vectors. A stream that fails to read throws `std::system_error`.
  static WordVectors from_stream(std::istream& in, const std::string& source,
                                 DuplicateWords duplicates = DuplicateWords::error) {
    Reader reader(source, duplicates);
    std::string line;
    std::size_t line_number = 0;
    errno = 0;
    while (std::getline(in, line)) reader.line(line, ++line_number);
    if (in.bad())
      throw std::system_error(errno != 0 ? errno : EIO, std::generic_category(),
                              detail::concat(source, ":", line_number, ": read error"));
    return reader.finish();
  }

  /// Number of words.
  Index size() const noexcept { return static_cast<Index>(words_.size()); }
  /// Length of every vector.
  Index dim() const noexcept { return vectors_.dimension(1); }
  bool contains(const std::string& word) const { return index_.count(word) != 0; }
  /// The word's row (its id for `embedding()`), or nothing for an unknown word.
  std::optional<Index> find(const std::string& word) const {
    const auto it = index_.find(word);
    if (it == index_.end()) return std::nullopt;
    return it->second;
  }
  /// The word's row; an unknown word throws `key_error`.
  Index index(const std::string& word) const {
    const std::optional<Index> i = find(word);
    detail::check<key_error>(i.has_value(), "word '", word, "' is not in the vocabulary");
    return *i;
  }
  /// Word number `i` (bounds-checked).
  const std::string& word(Index i) const { return words_.at(static_cast<std::size_t>(i)); }
  /// All words, in file order.
  const std::vector<std::string>& words() const noexcept { return words_; }
  /// All vectors, `[size(), dim()]`.
  const Tensor<T, 2>& vectors() const noexcept { return vectors_; }

  /// torchnlp's `vectors['hello']`: the word's vector `[dim()]`, or zeros for an unknown word (torchnlp's
  /// default `unk_init`). Use `contains` or `find` to tell the two apart.
  Tensor<T, 1> operator[](const std::string& word) const {
    Tensor<T, 1> v(dim());
    const std::optional<Index> i = find(word);
    if (i) {
      std::copy_n(vectors_.data() + *i * dim(), dim(), v.data());
    } else {
      v.setZero();
    }
    return v;
  }

  /// The ids of `words` `[words.size()]`, ready for `embedding()`; an unknown word throws `key_error`
  /// naming it and its position.
  Tensor<std::int64_t, 1> ids(const std::vector<std::string>& words) const {
    Tensor<std::int64_t, 1> out(static_cast<Index>(words.size()));
    for (std::size_t k = 0; k < words.size(); ++k) {
      const std::optional<Index> i = find(words[k]);
      detail::check<key_error>(i.has_value(), "word '", words[k], "' at position [", k, "] is not in the vocabulary");
      out(static_cast<Index>(k)) = static_cast<std::int64_t>(*i);
    }
    return out;
  }

  /// `Embedding.from_pretrained(vectors, freeze, padding_idx)`: a lookup table `[size(), dim()]` whose row
  /// `index(word)` is the word's vector.
  Embedding<T> embedding(bool freeze = true, std::optional<Index> padding_idx = std::nullopt) const {
    return Embedding<T>::from_pretrained(vectors_, freeze, padding_idx);
  }

 private:
  /// Line-by-line parser state; builds the vocabulary as it goes.
  class Reader {
   public:
    Reader(const std::string& source, DuplicateWords duplicates) : source_(source), duplicates_(duplicates) {}

    void line(std::string& text, std::size_t number) {
      number_ = number;
      if (!text.empty() && text.back() == '\r') text.pop_back();
      std::string_view rest(text);
      if (number == 1 && rest.substr(0, 3) == "\xEF\xBB\xBF") rest.remove_prefix(3);
      split(rest);
      if (fields_.empty()) return;  // blank line
      if (first_line_ == 0) {
        first_line_ = number;
        if (header(fields_)) return;
      }
      row();
    }

    WordVectors finish() {
      if (header_count_) {
        check(rows_ == *header_count_, first_line_, "the word2vec header's word count is ", *header_count_,
              " but the file has ", rows_, " vector lines");
      } else {
        check(rows_ > 0, std::max<std::size_t>(number_, 1), "no word vectors (",
              number_ == 0 ? "empty file" : "only blank lines", ")");
      }
      Tensor<T, 2> vectors(static_cast<Index>(words_.size()), static_cast<Index>(dim_));
      std::copy(values_.begin(), values_.end(), vectors.data());
      WordVectors result(std::move(words_), std::move(vectors));
      return result;
    }

   private:
    /// Splits at runs of spaces and tabs.
    void split(std::string_view text) {
      fields_.clear();
      std::size_t i = 0;
      while (i < text.size()) {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
        const std::size_t begin = i;
        while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
        if (i > begin) fields_.push_back(text.substr(begin, i - begin));
      }
    }

    static std::optional<std::size_t> unsigned_integer(std::string_view token) {
      std::size_t value = 0;
      const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), value);
      if (error != std::errc() || end != token.data() + token.size()) return std::nullopt;
      return value;
    }

    /// word2vec's `count dim` line, recognised as exactly two unsigned integers on the first line.
    bool header(const std::vector<std::string_view>& fields) {
      if (fields.size() != 2) return false;
      const auto count = unsigned_integer(fields[0]), dim = unsigned_integer(fields[1]);
      if (!count || !dim) return false;
      check(*dim > 0, number_, "the word2vec header declares vectors of dimension 0");
      // Rows bound the dimension (each has dim values); with no rows nothing would, and an empty
      // vocabulary is rejected anyway, as an empty file is.
      check(*count > 0, number_, "the word2vec header declares 0 words (no word vectors)");
      header_count_ = count;
      dim_ = *dim;
      dim_line_ = number_;
      // The declared count is untrusted until the rows arrive: a 16-word reservation caps what a
      // hostile header costs (the vectors grow geometrically from there).
      words_.reserve(std::min<std::size_t>(*count, 16));
      return true;
    }

    void row() {
      const std::string_view word = fields_[0];
      const std::size_t count = fields_.size() - 1;
      const bool binary = std::any_of(fields_.begin() + 1, fields_.end(), [](std::string_view field) {
        return std::any_of(field.begin(), field.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; });
      });
      check(!binary, number_, "the values of word '", word,
            "' are binary data: binary word2vec files are not supported (save them in text format)");
      if (dim_ == 0) {
        check(count > 0, number_, "word '", word, "' has no values");
        dim_ = count;
        dim_line_ = number_;
      }
      check(count == dim_, number_, "word '", word, "' has ", count, " values, expected ", dim_, " (",
            header_count_ ? "as the word2vec header on line " : "as on line ", dim_line_, ")");
      ++rows_;

      row_values_.clear();
      for (std::size_t k = 1; k <= count; ++k) row_values_.push_back(static_cast<T>(number(fields_[k], k, word)));

      const auto [it, inserted] = index_.emplace(std::string(word), Seen{words_.size(), number_});
      if (inserted) {
        words_.emplace_back(word);
        values_.insert(values_.end(), row_values_.begin(), row_values_.end());
        return;
      }
      check(duplicates_ != DuplicateWords::error, number_, "duplicate word '", word, "' (first on line ",
            it->second.line, ")");
      if (duplicates_ == DuplicateWords::keep_last)
        std::copy(row_values_.begin(), row_values_.end(), values_.begin() + static_cast<std::ptrdiff_t>(it->second.row * dim_));
    }

    double number(std::string_view token, std::size_t position, std::string_view word) const {
      std::string_view digits = token;
      if (digits.size() > 1 && digits[0] == '+' && digits[1] != '-') digits.remove_prefix(1);  // Python's float() takes "+1.5"
      double value = 0.0;
      const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      const bool parsed = error == std::errc() && end == digits.data() + digits.size();
      check(parsed, number_, "value ", position, " of word '", word, "' is ",
            error == std::errc::result_out_of_range ? "out of range: '" : "not a number: '", token, "'");
      return value;
    }

    template <typename... Parts>
    void check(bool condition, std::size_t line, const Parts&... parts) const {
      detail::check<format_error>(condition, source_, ":", line, ": ", parts...);
    }

    struct Seen {
      std::size_t row;
      std::size_t line;
    };

    std::string source_;
    DuplicateWords duplicates_;
    std::size_t number_ = 0;      ///< the current line
    std::size_t first_line_ = 0;  ///< the first non-blank line (0 until seen)
    std::optional<std::size_t> header_count_;
    std::size_t dim_ = 0;       ///< 0 until the header or the first row fixes it
    std::size_t dim_line_ = 0;  ///< the line that fixed dim_
    std::size_t rows_ = 0;      ///< vector lines read, duplicates included
    std::vector<std::string_view> fields_;
    std::vector<T> row_values_;
    std::vector<std::string> words_;
    std::vector<T> values_;
    std::unordered_map<std::string, Seen> index_;
  };

  std::vector<std::string> words_;
  Tensor<T, 2> vectors_;
  std::unordered_map<std::string, Index> index_;
};

/// Reads a GloVe or word2vec text file into `WordVectors<T>` (see `WordVectors<T>::from_stream`).
template <typename T>
WordVectors<T> load_word_vectors(const std::string& path, DuplicateWords duplicates = DuplicateWords::error) {
  return WordVectors<T>::load(path, duplicates);
}

}  // namespace seqnet
