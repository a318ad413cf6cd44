// SPDX-License-Identifier: MIT
// Reader for the golden cases that tools/gen_golden.py writes to tests/golden/ (format described in that
// script's docstring). Plain C++17, no dependencies; every number is a hex float read with std::strtod,
// which round-trips exactly. Any malformed or truncated input throws golden::format_error naming the line.
#pragma once

#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace golden {

class format_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// File name part and comparison tolerances of each dtype: |seqnet - torch| <= rtol * |torch| + atol.
template <typename T>
struct Precision;
template <>
struct Precision<double> {
  static constexpr const char* name = "float64";
  static constexpr double rtol = 1e-10;
  static constexpr double atol = 1e-12;
};
template <>
struct Precision<float> {
  static constexpr const char* name = "float32";
  static constexpr double rtol = 1e-5;
  static constexpr double atol = 1e-6;
};

/// One named tensor: a parameter, an input or an output. `values` is row-major (PyTorch's contiguous order).
struct Tensor {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<double> values;

  std::size_t rank() const { return shape.size(); }
};

struct Case {
  std::string name;
  std::string module;  ///< "RNN", "LSTM", "RNNCell" or "LSTMCell"
  std::map<std::string, std::string> options;
  std::string mode;  ///< "train" or "eval"
  std::string repr;
  std::vector<Tensor> params;   ///< named_parameters() order
  std::vector<Tensor> inputs;   ///< x, then h0 (and c0) when the case passes initial states
  std::vector<Tensor> outputs;  ///< out, h_n[, c_n] or h1[, c1]
  std::vector<long long> lengths;  ///< packed-sequence cases: each sequence's length (empty otherwise)
  bool enforce_sorted = true;      ///< packed-sequence cases: pack_padded_sequence's enforce_sorted

  const Tensor* find_input(const std::string& key) const { return find(inputs, key); }
  const Tensor* find_output(const std::string& key) const { return find(outputs, key); }

  const std::string& option(const std::string& key) const {
    auto it = options.find(key);
    if (it == options.end()) throw format_error("case '" + name + "' has no option '" + key + "'");
    return it->second;
  }
  long long int_option(const std::string& key) const {
    const std::string& text = option(key);
    char* end = nullptr;
    errno = 0;
    const long long value = std::strtoll(text.c_str(), &end, 10);
    if (errno != 0 || end == text.c_str() || *end != '\0')
      throw format_error("case '" + name + "': option " + key + "=" + text + " is not an integer");
    return value;
  }
  bool bool_option(const std::string& key) const {
    const std::string& text = option(key);
    if (text != "0" && text != "1") throw format_error("case '" + name + "': option " + key + "=" + text + " is not 0/1");
    return text == "1";
  }
  double float_option(const std::string& key) const;

 private:
  static const Tensor* find(const std::vector<Tensor>& list, const std::string& key) {
    for (const auto& t : list)
      if (t.name == key) return &t;
    return nullptr;
  }
};

struct File {
  std::string path;
  std::string dtype;
  std::string torch_version;
  std::size_t declared_cases = 0;
  std::vector<Case> cases;
};

namespace detail {

/// Parses one number written by Python's float.hex() (optionally with trailing zero digits trimmed), or
/// nan, inf, -inf.
inline double parse_number(const std::string& token, const std::string& where) {
  if (token == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (token == "inf" || token == "-inf") return token[0] == '-' ? -HUGE_VAL : HUGE_VAL;
  if (token.size() < 3 || token.find("0x") == std::string::npos)
    throw format_error(where + ": '" + token + "' is not a hex float");
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(token.c_str(), &end);
  if (end != token.c_str() + token.size() || errno == ERANGE)
    throw format_error(where + ": cannot parse hex float '" + token + "'");
  return value;
}

inline std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> words;
  std::istringstream in(line);
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path), in_(path) {
    if (!in_) throw format_error("cannot open golden file " + path);
  }

  /// Next non-comment line; throws at end of file.
  std::string next() {
    std::string line;
    while (std::getline(in_, line)) {
      ++line_number_;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || line[0] == '#') continue;
      return line;
    }
    throw format_error(path_ + ": unexpected end of file after line " + std::to_string(line_number_));
  }
  bool at_end() {
    while (in_.peek() == '#' || in_.peek() == '\n') {
      std::string skipped;
      std::getline(in_, skipped);
      ++line_number_;
    }
    return in_.peek() == std::char_traits<char>::eof();
  }

  /// Expects `keyword rest...`; returns the rest of the line after one space.
  std::string expect(const std::string& keyword) {
    const std::string line = next();
    if (line.compare(0, keyword.size() + 1, keyword + " ") != 0)
      throw format_error(where() + ": expected '" + keyword + " ...', got '" + line.substr(0, 80) + "'");
    return line.substr(keyword.size() + 1);
  }

  std::size_t expect_count(const std::string& keyword) {
    const std::string text = expect(keyword);
    char* end = nullptr;
    const unsigned long long value = std::strtoull(text.c_str(), &end, 10);
    if (end == text.c_str() || *end != '\0') throw format_error(where() + ": bad count '" + text + "'");
    return static_cast<std::size_t>(value);
  }

  /// `kind name rank dims...` followed by a line of exactly prod(dims) hex floats (an empty tensor's line is
  /// empty, and skipped like every blank line).
  Tensor tensor(const std::string& head_line, const std::string& kind) {
    const std::vector<std::string> head = split(head_line);
    if (head.size() < 3 || head[0] != kind) throw format_error(where() + ": expected '" + kind + " NAME RANK DIMS...'");
    Tensor t;
    t.name = head[1];
    const std::size_t rank = static_cast<std::size_t>(std::stoul(head[2]));
    if (head.size() != 3 + rank) throw format_error(where() + ": rank " + head[2] + " but " +
                                                    std::to_string(head.size() - 3) + " dims");
    std::size_t count = 1;
    for (std::size_t i = 0; i < rank; ++i) {
      const long long d = std::stoll(head[3 + i]);
      if (d < 0) throw format_error(where() + ": negative dimension");
      t.shape.push_back(static_cast<std::int64_t>(d));
      count *= static_cast<std::size_t>(d);
    }
    if (count == 0) return t;
    const std::string values_line = next();
    const std::vector<std::string> words = split(values_line);
    if (words.size() != count)
      throw format_error(where() + ": " + kind + " " + t.name + " needs " + std::to_string(count) + " values, found " +
                         std::to_string(words.size()));
    t.values.reserve(count);
    for (const auto& w : words) t.values.push_back(parse_number(w, where()));
    return t;
  }

  std::string where() const { return path_ + ":" + std::to_string(line_number_); }

 private:
  std::string path_;
  std::ifstream in_;
  std::size_t line_number_ = 0;
};

}  // namespace detail

inline double Case::float_option(const std::string& key) const {
  return detail::parse_number(option(key), "case '" + name + "' option " + key);
}

/// Reads a whole golden file; throws format_error if it is missing, malformed, truncated, or holds a
/// different number of cases than its header declares.
inline File load(const std::string& path) {
  detail::Reader reader(path);
  File file;
  file.path = path;
  const std::string magic = reader.next();
  if (magic != "seqnet-golden 1") throw format_error(path + ": not a seqnet golden file (version 1)");
  file.dtype = reader.expect("dtype");
  file.torch_version = reader.expect("torch");
  file.declared_cases = reader.expect_count("cases");
  while (!reader.at_end()) {
    Case c;
    c.name = reader.expect("case");
    c.module = reader.expect("module");
    for (const auto& word : detail::split(reader.expect("options"))) {
      const std::size_t eq = word.find('=');
      if (eq == std::string::npos || eq == 0) throw format_error(reader.where() + ": bad option '" + word + "'");
      if (!c.options.emplace(word.substr(0, eq), word.substr(eq + 1)).second)
        throw format_error(reader.where() + ": duplicate option '" + word + "'");
    }
    c.mode = reader.expect("mode");
    if (c.mode != "train" && c.mode != "eval") throw format_error(reader.where() + ": bad mode '" + c.mode + "'");
    c.repr = reader.expect("repr");
    const std::size_t n_params = reader.expect_count("params");
    for (std::size_t i = 0; i < n_params; ++i) c.params.push_back(reader.tensor(reader.next(), "param"));
    for (std::string line = reader.next(); line != "end"; line = reader.next()) {
      if (line.compare(0, 8, "lengths ") == 0) {
        // lengths enforce_sorted=0|1 l1 l2 ...
        const std::vector<std::string> words = detail::split(line);
        if (words.size() < 3 || !c.inputs.empty() || !c.lengths.empty() ||
            (words[1] != "enforce_sorted=0" && words[1] != "enforce_sorted=1"))
          throw format_error(reader.where() + ": bad lengths line '" + line.substr(0, 80) + "'");
        c.enforce_sorted = words[1] == "enforce_sorted=1";
        for (std::size_t i = 2; i < words.size(); ++i) {
          char* end = nullptr;
          const long long value = std::strtoll(words[i].c_str(), &end, 10);
          if (end == words[i].c_str() || *end != '\0') throw format_error(reader.where() + ": bad length '" + words[i] + "'");
          c.lengths.push_back(value);
        }
      } else if (line.compare(0, 6, "input ") == 0) {
        if (!c.outputs.empty()) throw format_error(reader.where() + ": input after outputs");
        c.inputs.push_back(reader.tensor(line, "input"));
      } else if (line.compare(0, 7, "output ") == 0) {
        c.outputs.push_back(reader.tensor(line, "output"));
      } else {
        throw format_error(reader.where() + ": expected 'input', 'output' or 'end', got '" + line.substr(0, 80) + "'");
      }
    }
    file.cases.push_back(std::move(c));
  }
  if (file.cases.size() != file.declared_cases)
    throw format_error(path + ": header declares " + std::to_string(file.declared_cases) + " cases but the file holds " +
                       std::to_string(file.cases.size()));
  return file;
}

}  // namespace golden
