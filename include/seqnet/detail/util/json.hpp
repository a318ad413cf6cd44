// SPDX-License-Identifier: MIT
/// @file json.hpp
/// A small, strict JSON (RFC 8259) reader and string quoting for safetensors headers. Strict: no comments,
/// no trailing commas, no leading zeros, no control characters or invalid UTF-8 in strings, no lone
/// surrogates, no duplicate object keys. Bounded: nesting depth is capped and every read checks the end
/// of the input, so hostile input can only make it throw `format_error`, never read past the buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "../../errors.hpp"

namespace seqnet::detail::json {

/// One parsed JSON value. Numbers keep their literal text (the header only needs exact integers).
struct Value {
  enum class Kind { Null, Boolean, Number, String, Array, Object };

  Kind kind = Kind::Null;
  bool boolean = false;
  std::string text;                 ///< a string's contents (UTF-8), or a number's literal
  std::vector<Value> items;         ///< array elements, or object member values
  std::vector<std::string> keys;    ///< object member keys, parallel to `items`, in document order

  bool is_object() const noexcept { return kind == Kind::Object; }
  bool is_array() const noexcept { return kind == Kind::Array; }
  bool is_string() const noexcept { return kind == Kind::String; }
  bool is_number() const noexcept { return kind == Kind::Number; }
};

inline const char* kind_name(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::Null: return "null";
    case Value::Kind::Boolean: return "a boolean";
    case Value::Kind::Number: return "a number";
    case Value::Kind::String: return "a string";
    case Value::Kind::Array: return "an array";
    case Value::Kind::Object: return "an object";
  }
  return "a value";
}

/// The value as an unsigned 64-bit integer if it is a number written as a plain non-negative integer
/// (no sign, fraction or exponent) that fits; otherwise nothing.
inline std::optional<std::uint64_t> as_uint64(const Value& value) {
  if (value.kind != Value::Kind::Number || value.text.empty()) return std::nullopt;
  std::uint64_t result = 0;
  for (char c : value.text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (result > (UINT64_MAX - digit) / 10) return std::nullopt;
    result = result * 10 + digit;
  }
  return result;
}

/// Length of the valid UTF-8 sequence starting at `text[pos]`, or 0 if it is invalid (overlong forms,
/// surrogates, code points above U+10FFFF and truncated sequences are invalid).
inline std::size_t utf8_sequence_length(std::string_view text, std::size_t pos) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  if (lead < 0x80) return 1;
  std::size_t length;
  unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // UTF-16 surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (text.size() - pos < length) return 0;
  if (byte(pos + 1) < low || byte(pos + 1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i)
    if (byte(pos + i) < 0x80 || byte(pos + i) > 0xBF) return 0;
  return length;
}

inline bool is_valid_utf8(std::string_view text) {
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t length = utf8_sequence_length(text, pos);
    if (length == 0) return false;
    pos += length;
  }
  return true;
}

/// `text` as a JSON string literal (quotes added; `"`, `\` and control characters escaped). The caller
/// guarantees valid UTF-8.
inline std::string quote(std::string_view text) {
  static const char* const hex = "0123456789abcdef";
  std::string out = "\"";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 0xF];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

namespace parse_detail {

/// A recursive-descent parser. `document()` builds the whole tree; a caller that knows the schema (the
/// safetensors header) streams instead with `members`, `elements` and `value`, so it can reject a hostile
/// document as soon as it breaks the schema instead of after building its tree (88 bytes per value).
class Parser {
 public:
  Parser(std::string_view text, int max_depth) : text_(text), max_depth_(max_depth) {}

  Value document() {
    skip_whitespace();
    Value value = parse_value(0);
    finish();
    return value;
  }

  /// One whole value (a tree) at nesting `depth`; surrounding whitespace is skipped.
  Value value(int depth) {
    skip_whitespace();
    Value v = parse_value(depth);
    skip_whitespace();
    return v;
  }
  /// Whether the next value starts with `open` (after whitespace); a value is expected, so the end of
  /// the input is an error.
  bool next_is(char open) {
    skip_whitespace();
    if (at_end()) fail("unexpected end of input");
    return text_[pos_] == open;
  }
  /// Streams an object at nesting `depth`: `on_member(key, key_offset)` runs for each member and must
  /// consume its value (with `value`, `members` or `elements` at `depth`). Duplicate keys are the
  /// caller's to reject (`fail_at(key_offset, ...)`).
  template <typename F>
  void members(int depth, F&& on_member) {
    skip_whitespace();
    if (depth + 1 > max_depth_) fail("nesting too deep");
    expect('{');
    skip_whitespace();
    if (peek() == '}') {
      ++pos_;
      skip_whitespace();
      return;
    }
    while (true) {
      skip_whitespace();
      if (peek() != '"') fail("expected a string key");
      const std::size_t key_pos = pos_;
      std::string key = parse_string();
      skip_whitespace();
      expect(':');
      on_member(std::move(key), key_pos);
      skip_whitespace();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect('}');
      skip_whitespace();
      return;
    }
  }
  /// Streams an array at nesting `depth`: `on_element(index)` runs for each element and must consume it.
  template <typename F>
  void elements(int depth, F&& on_element) {
    skip_whitespace();
    if (depth + 1 > max_depth_) fail("nesting too deep");
    expect('[');
    skip_whitespace();
    if (peek() == ']') {
      ++pos_;
      skip_whitespace();
      return;
    }
    for (std::size_t index = 0;; ++index) {
      on_element(index);
      skip_whitespace();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect(']');
      skip_whitespace();
      return;
    }
  }
  /// Requires the end of the input (after whitespace).
  void finish() {
    skip_whitespace();
    if (pos_ != text_.size()) fail("unexpected content after the JSON value");
  }
  std::size_t offset() const noexcept { return pos_; }
  [[noreturn]] void fail_at(std::size_t offset, const std::string& what) {
    pos_ = offset;
    fail(what);
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw format_error(concat("invalid JSON header at byte ", pos_, ": ", what));
  }

 private:

  bool at_end() const noexcept { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }

  void skip_whitespace() {
    while (!at_end() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }

  void expect(char c) {
    if (at_end() || text_[pos_] != c) fail(concat("expected '", c, "'"));
    ++pos_;
  }

  Value parse_value(int depth) {
    if (at_end()) fail("unexpected end of input");
    switch (text_[pos_]) {
      case '{': return parse_object(depth + 1);
      case '[': return parse_array(depth + 1);
      case '"': {
        Value v;
        v.kind = Value::Kind::String;
        v.text = parse_string();
        return v;
      }
      case 't': return parse_literal("true", Value::Kind::Boolean, true);
      case 'f': return parse_literal("false", Value::Kind::Boolean, false);
      case 'n': return parse_literal("null", Value::Kind::Null, false);
      default:
        if (text_[pos_] == '-' || (text_[pos_] >= '0' && text_[pos_] <= '9')) return parse_number();
        fail("unexpected character");
    }
  }

  Value parse_literal(std::string_view word, Value::Kind kind, bool boolean) {
    if (text_.substr(pos_, word.size()) != word) fail("invalid literal");
    pos_ += word.size();
    Value v;
    v.kind = kind;
    v.boolean = boolean;
    return v;
  }

  Value parse_number() {
    const std::size_t start = pos_;
    if (peek() == '-') ++pos_;
    if (peek() == '0') {
      ++pos_;
    } else if (peek() >= '1' && peek() <= '9') {
      while (peek() >= '0' && peek() <= '9') ++pos_;
    } else {
      fail("invalid number");
    }
    if (peek() == '.') {
      ++pos_;
      if (!(peek() >= '0' && peek() <= '9')) fail("invalid number: digit expected after '.'");
      while (peek() >= '0' && peek() <= '9') ++pos_;
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (!(peek() >= '0' && peek() <= '9')) fail("invalid number: digit expected in the exponent");
      while (peek() >= '0' && peek() <= '9') ++pos_;
    }
    Value v;
    v.kind = Value::Kind::Number;
    v.text = std::string(text_.substr(start, pos_ - start));
    return v;
  }

  unsigned parse_hex4() {
    if (text_.size() - pos_ < 4) fail("truncated \\u escape");
    unsigned code = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      code <<= 4;
      if (c >= '0' && c <= '9') code |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') code |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') code |= static_cast<unsigned>(c - 'A' + 10);
      else fail("invalid hex digit in \\u escape");
    }
    return code;
  }

  static void append_utf8(std::string& out, unsigned code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  std::string parse_string() {
    expect('"');
    std::string out;
    while (true) {
      if (at_end()) fail("unterminated string");
      const auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) fail("control character in string");
      if (c == '\\') {
        ++pos_;
        if (at_end()) fail("unterminated escape");
        const char e = text_[pos_++];
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            unsigned code = parse_hex4();
            if (code >= 0xDC00 && code <= 0xDFFF) fail("lone low surrogate in \\u escape");
            if (code >= 0xD800 && code <= 0xDBFF) {
              if (text_.substr(pos_, 2) != "\\u") fail("high surrogate not followed by a low surrogate");
              pos_ += 2;
              const unsigned low = parse_hex4();
              if (low < 0xDC00 || low > 0xDFFF) fail("high surrogate not followed by a low surrogate");
              code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
            }
            append_utf8(out, code);
            break;
          }
          default: --pos_; fail("invalid escape");
        }
        continue;
      }
      const std::size_t length = utf8_sequence_length(text_, pos_);
      if (length == 0) fail("invalid UTF-8 in string");
      out.append(text_.substr(pos_, length));
      pos_ += length;
    }
  }

  Value parse_array(int depth) {
    if (depth > max_depth_) fail("nesting too deep");
    expect('[');
    Value v;
    v.kind = Value::Kind::Array;
    skip_whitespace();
    if (peek() == ']') {
      ++pos_;
      return v;
    }
    while (true) {
      skip_whitespace();
      v.items.push_back(parse_value(depth));
      skip_whitespace();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect(']');
      return v;
    }
  }

  Value parse_object(int depth) {
    if (depth > max_depth_) fail("nesting too deep");
    expect('{');
    Value v;
    v.kind = Value::Kind::Object;
    std::set<std::string> seen;
    skip_whitespace();
    if (peek() == '}') {
      ++pos_;
      return v;
    }
    while (true) {
      skip_whitespace();
      if (peek() != '"') fail("expected a string key");
      const std::size_t key_pos = pos_;
      std::string key = parse_string();
      if (!seen.insert(key).second) {
        pos_ = key_pos;
        fail(concat("duplicate key ", quote(key)));
      }
      skip_whitespace();
      expect(':');
      skip_whitespace();
      v.items.push_back(parse_value(depth));
      v.keys.push_back(std::move(key));
      skip_whitespace();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect('}');
      return v;
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  int max_depth_;
};

}  // namespace parse_detail

using parse_detail::Parser;

/// Parses one JSON document (surrounding whitespace allowed); throws `format_error` naming the byte offset.
inline Value parse(std::string_view text, int max_depth = 32) {
  return parse_detail::Parser(text, max_depth).document();
}

}  // namespace seqnet::detail::json
