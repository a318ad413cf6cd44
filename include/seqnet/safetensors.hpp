// SPDX-License-Identifier: MIT
/// @file safetensors.hpp
/// Reading and writing the safetensors format (https://github.com/huggingface/safetensors): an 8-byte
/// little-endian header length N, N bytes of JSON (`{"name": {"dtype": "F32", "shape": [80, 10],
/// "data_offsets": [0, 3200]}, ..., "__metadata__": {"format": "pt"}}`), then the raw little-endian tensor
/// bytes, which the tensors must tile exactly. Every file is validated completely before anything is
/// read from it; malformed input throws `format_error` and is never read out of bounds.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/util/half.hpp"
#include "detail/util/json.hpp"
#include "dtype.hpp"
#include "errors.hpp"
#include "state_dict.hpp"
#include "tensor.hpp"

namespace seqnet {

/// The dtype `save_safetensors` writes for scalar type `T` by default: F32 for float, F64 otherwise.
template <typename T>
constexpr Dtype default_dtype() {
  static_assert(std::is_floating_point_v<T>, "safetensors: modules hold float, double or long double");
  return std::is_same_v<T, float> ? Dtype::F32 : Dtype::F64;
}

/// One tensor of a safetensors file: name, dtype, shape and its bytes `[begin, end)` in the data section.
struct TensorInfo {
  std::string name;
  Dtype dtype = Dtype::F32;
  Shape shape;
  std::size_t begin = 0;
  std::size_t end = 0;
};

/// Metadata (`__metadata__`): string keys to string values, in file order.
using Metadata = std::vector<std::pair<std::string, std::string>>;

namespace detail {

inline std::uint64_t read_le(const std::uint8_t* p, std::size_t bytes) noexcept {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < bytes; ++i) value |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return value;
}

inline void append_le(std::vector<std::uint8_t>& out, std::uint64_t value, std::size_t bytes) {
  for (std::size_t i = 0; i < bytes; ++i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

/// float8 e4m3 ("fn": no infinities, S.1111.111 is NaN) -> float. Exact.
inline float float8_e4m3_to_float(std::uint8_t b) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(b & 0x80u) << 24;
  const std::uint32_t exponent = (b >> 3) & 0xFu;
  const std::uint32_t mantissa = b & 0x7u;
  if (exponent == 0xF && mantissa == 0x7) return float_from_bits(sign | 0x7FC00000u);
  if (exponent != 0) return float_from_bits(sign | ((exponent + 120u) << 23) | (mantissa << 20));
  // Subnormal: mantissa * 2^-9, exact in float.
  const float magnitude = static_cast<float>(mantissa) / 512.0f;
  return (b & 0x80u) ? -magnitude : magnitude;
}

/// Element `i` of a tensor of `dtype` at `p`, converted to `T` (as torch's `copy_` converts dtypes).
template <typename T>
T element(Dtype dtype, const std::uint8_t* p) noexcept {
  switch (dtype) {
    case Dtype::BOOL: return static_cast<T>(p[0] != 0 ? 1 : 0);
    case Dtype::U8: return static_cast<T>(p[0]);
    case Dtype::I8: return static_cast<T>(static_cast<std::int8_t>(p[0]));
    case Dtype::F8_E5M2: return static_cast<T>(half_to_float(static_cast<std::uint16_t>(p[0] << 8)));
    case Dtype::F8_E4M3: return static_cast<T>(float8_e4m3_to_float(p[0]));
    case Dtype::I16: return static_cast<T>(static_cast<std::int16_t>(read_le(p, 2)));
    case Dtype::U16: return static_cast<T>(static_cast<std::uint16_t>(read_le(p, 2)));
    case Dtype::F16: return static_cast<T>(half_to_float(static_cast<std::uint16_t>(read_le(p, 2))));
    case Dtype::BF16: return static_cast<T>(bfloat16_to_float(static_cast<std::uint16_t>(read_le(p, 2))));
    case Dtype::I32: return static_cast<T>(static_cast<std::int32_t>(read_le(p, 4)));
    case Dtype::U32: return static_cast<T>(static_cast<std::uint32_t>(read_le(p, 4)));
    case Dtype::F32: return static_cast<T>(float_from_bits(static_cast<std::uint32_t>(read_le(p, 4))));
    case Dtype::F64: {
      const std::uint64_t bits = read_le(p, 8);
      double value;
      std::memcpy(&value, &bits, sizeof value);
      return static_cast<T>(value);
    }
    case Dtype::I64: return static_cast<T>(static_cast<std::int64_t>(read_le(p, 8)));
    case Dtype::U64: return static_cast<T>(read_le(p, 8));
  }
  return T();
}

/// `"rnn"` and `"rnn."` both select `rnn.*`; an empty prefix selects everything.
inline std::string normalized_prefix(std::string prefix) {
  if (!prefix.empty() && prefix.back() != '.') prefix += '.';
  return prefix;
}

[[noreturn]] inline void format_fail(const std::string& message) {
  throw format_error("safetensors: " + message);
}

}  // namespace detail

/// A parsed and fully validated safetensors file or buffer. It owns the bytes; the tensors are converted
/// on request (`values`, `state_dict`, `load_safetensors`).
class Safetensors {
 public:
  /// Header lengths above this are rejected before anything is allocated (the reference implementation's cap).
  static constexpr std::uint64_t max_header_size = 100'000'000;

  /// An empty file: no tensors, no metadata. Lets a parsed file outlive the `try` block that read it
  /// (`Safetensors file; try { file = Safetensors::read(path); } catch (...) { ... }`).
  Safetensors() = default;

  /// Parses and validates a whole file held in memory; throws `format_error` if anything is malformed.
  static Safetensors parse(std::vector<std::uint8_t> bytes) {
    Safetensors file;
    file.bytes_ = std::move(bytes);
    file.validate();
    return file;
  }

  /// Reads and parses the file at `path`. Open/read failures throw `std::system_error` (path and strerror),
  /// malformed content `format_error`.
  static Safetensors read(const std::string& path) {
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::system_error(errno, std::generic_category(), "cannot open '" + path + "'");
    // Read to the end in chunks instead of trusting tellg, which is meaningless for directories and pipes.
    std::vector<std::uint8_t> bytes;
    std::vector<char> chunk(1 << 20);
    while (in) {
      errno = 0;
      in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      bytes.insert(bytes.end(), chunk.data(), chunk.data() + in.gcount());
    }
    if (in.bad() || !in.eof()) throw std::system_error(errno, std::generic_category(), "cannot read '" + path + "'");
    try {
      return parse(std::move(bytes));
    } catch (const format_error& e) {
      throw format_error(std::string(e.what()) + " (in '" + path + "')");
    }
  }

  /// The tensors in header order.
  const std::vector<TensorInfo>& tensors() const noexcept { return tensors_; }
  /// `__metadata__`, empty when the file has none.
  const Metadata& metadata() const noexcept { return metadata_; }

  /// The tensor called `name`, or nullptr.
  const TensorInfo* find(const std::string& name) const {
    const auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
  }

  /// Converts the tensor's elements to `T` into `out`, which must hold `info.shape.numel()` values.
  template <typename T>
  void copy_to(const TensorInfo& info, T* out) const noexcept {
    const std::size_t item = dtype_size(info.dtype);
    const std::uint8_t* p = bytes_.data() + data_start_ + info.begin;
    const std::size_t count = (info.end - info.begin) / item;
    if (info.dtype == Dtype::F32 && std::is_same_v<T, float>) {
      for (std::size_t i = 0; i < count; ++i, p += 4)
        out[i] = static_cast<T>(detail::float_from_bits(static_cast<std::uint32_t>(detail::read_le(p, 4))));
      return;
    }
    for (std::size_t i = 0; i < count; ++i, p += item) out[i] = detail::element<T>(info.dtype, p);
  }

  /// The tensor's elements converted to `T`, row-major.
  template <typename T>
  std::vector<T> values(const TensorInfo& info) const {
    std::vector<T> out(static_cast<std::size_t>(info.shape.numel()));
    copy_to(info, out.data());
    return out;
  }

  /// The tensor called `name` converted to `T`; throws `key_error` if there is none.
  template <typename T>
  std::vector<T> values(const std::string& name) const {
    const TensorInfo* info = find(name);
    detail::check<key_error>(info != nullptr, "safetensors: no tensor '", name, "'");
    return values<T>(*info);
  }

  /// The tensors named `prefix.*` (`"rnn"` or `"rnn."`; all if empty), without the prefix, converted to `T`,
  /// in header order.
  template <typename T>
  StateDict<T> state_dict(std::string prefix = "") const {
    prefix = detail::normalized_prefix(std::move(prefix));
    StateDict<T> dict;
    for (const auto& info : tensors_)
      if (info.name.compare(0, prefix.size(), prefix) == 0)
        dict.insert(info.name.substr(prefix.size()), info.shape, values<T>(info));
    return dict;
  }

 private:
  static std::uint64_t offset_value(const detail::json::Value& value, const std::string& name) {
    const auto number = detail::json::as_uint64(value);
    if (!number) detail::format_fail("tensor '" + name + "': data_offsets must be two non-negative integers");
    return *number;
  }

  void validate() {
    using detail::format_fail;
    const std::size_t size = bytes_.size();
    if (size < 8) format_fail(detail::concat("file of ", size, " bytes is too short for the 8-byte header length"));
    const std::uint64_t header_size = detail::read_le(bytes_.data(), 8);
    if (header_size > max_header_size)
      format_fail(detail::concat("header length ", header_size, " exceeds the limit of ", max_header_size, " bytes"));
    if (header_size > size - 8)
      format_fail(detail::concat("header length ", header_size, " exceeds the ", size - 8,
                                 " bytes that follow the length field (truncated file?)"));
    data_start_ = 8 + static_cast<std::size_t>(header_size);
    const std::size_t data_size = size - data_start_;
    const std::string_view header(reinterpret_cast<const char*>(bytes_.data() + 8), static_cast<std::size_t>(header_size));
    if (header.empty() || header[0] != '{') format_fail("header does not start with '{'");
    // Streamed against the schema, never built as a tree: a hostile header is rejected at its first
    // violation, and what is kept (the tensor list, the metadata) is a few times the header's size at most.
    detail::json::Parser parser(header, 32);
    bool have_metadata = false;
    parser.members(0, [&](std::string name, std::size_t key_offset) {
      if (name == "__metadata__") {
        if (have_metadata) parser.fail_at(key_offset, "duplicate key \"__metadata__\"");
        have_metadata = true;
        if (!parser.next_is('{')) format_fail("__metadata__ must be an object of strings");
        parser.members(1, [&](std::string key, std::size_t) {
          if (!parser.next_is('"'))
            format_fail("__metadata__ value of '" + key + "' must be a string, not " + next_kind(parser));
          metadata_.emplace_back(std::move(key), parser.value(2).text);
        });
        return;
      }
      if (!index_.emplace(name, tensors_.size()).second)
        parser.fail_at(key_offset, "duplicate key " + detail::json::quote(name));
      tensors_.push_back(tensor_info(parser, name, data_size));
    });
    parser.finish();
    // Duplicate metadata keys: sorted (hash, index) pairs, 16 bytes a key, where a set of the keys would
    // double the metadata's memory and sorting the strings themselves takes seconds for millions of keys.
    std::vector<std::pair<std::size_t, std::size_t>> hashes;
    hashes.reserve(metadata_.size());
    for (std::size_t i = 0; i < metadata_.size(); ++i) hashes.emplace_back(std::hash<std::string>{}(metadata_[i].first), i);
    std::sort(hashes.begin(), hashes.end());
    for (std::size_t i = 1; i < hashes.size(); ++i) {
      for (std::size_t j = i; j-- > 0 && hashes[j].first == hashes[i].first;) {
        const std::string& key = metadata_[hashes[i].second].first;
        if (key == metadata_[hashes[j].second].first)
          format_fail("__metadata__ has a duplicate key " + detail::json::quote(key));
      }
    }

    // The tensors must tile the data section exactly: sorted by offset, each starts where the previous
    // one ended, the first at 0 and the last at the end.
    std::vector<const TensorInfo*> order;
    for (const auto& info : tensors_) order.push_back(&info);
    std::sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) {
      return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    std::size_t position = 0;
    const TensorInfo* previous = nullptr;
    for (const TensorInfo* info : order) {
      if (info->begin < position)
        format_fail(detail::concat("tensor '", info->name, "' (bytes ", info->begin, "..", info->end,
                                   ") overlaps tensor '", previous->name, "' (bytes ", previous->begin, "..",
                                   previous->end, ")"));
      if (info->begin > position)
        format_fail(detail::concat("tensor '", info->name, "' starts at byte ", info->begin, " but the previous ",
                                   "tensor ends at byte ", position, " (hole in the data section)"));
      position = info->end;
      previous = info;
    }
    if (position != data_size)
      format_fail(detail::concat("the tensors cover ", position, " bytes but the data section has ", data_size,
                                 " bytes"));
  }

  /// What the next value is, for messages ("an array", ...), without parsing it.
  static std::string next_kind(detail::json::Parser& parser) {
    if (parser.next_is('{')) return "an object";
    if (parser.next_is('[')) return "an array";
    return detail::json::kind_name(parser.value(3).kind);
  }
  /// The next value, which must be a string, a number, a boolean or null (never a container, so that a
  /// hostile one is not built); otherwise fails with "tensor '<name>': <what>".
  static detail::json::Value scalar(detail::json::Parser& parser, int depth, const std::string& name, const char* what) {
    if (parser.next_is('{') || parser.next_is('[')) detail::format_fail("tensor '" + name + "': " + what);
    return parser.value(depth);
  }

  /// Reads one tensor entry from `parser` (positioned at its value).
  static TensorInfo tensor_info(detail::json::Parser& parser, const std::string& name, std::size_t data_size) {
    using detail::format_fail;
    using detail::json::Value;
    if (!parser.next_is('{')) format_fail("tensor '" + name + "' must be an object");
    bool have_dtype = false, have_shape = false, have_offsets = false;
    Value dtype;
    std::vector<Index> dims;
    std::uint64_t offsets[2] = {0, 0};
    std::size_t offset_count = 0;
    const char* const offsets_message = "data_offsets must be two non-negative integers";
    parser.members(1, [&](std::string field, std::size_t key_offset) {
      bool* seen = field == "dtype" ? &have_dtype : field == "shape" ? &have_shape : field == "data_offsets" ? &have_offsets : nullptr;
      if (seen == nullptr) format_fail("tensor '" + name + "' has an unknown field '" + field + "'");
      if (*seen) parser.fail_at(key_offset, "duplicate key " + detail::json::quote(field));
      *seen = true;
      if (field == "dtype") {
        dtype = scalar(parser, 2, name, "dtype must be a string");
      } else if (field == "shape") {
        if (!parser.next_is('[')) format_fail("tensor '" + name + "': shape must be an array");
        parser.elements(2, [&](std::size_t i) {
          if (i >= Shape::max_rank)
            format_fail(detail::concat("tensor '", name, "' has more than ", Shape::max_rank,
                                       " dimensions; seqnet handles at most ", Shape::max_rank));
          const auto value = detail::json::as_uint64(scalar(parser, 3, name, "shape must hold non-negative integers"));
          if (!value || *value > static_cast<std::uint64_t>(std::numeric_limits<Index>::max()))
            format_fail("tensor '" + name + "': shape must hold non-negative integers");
          dims.push_back(static_cast<Index>(*value));
        });
      } else {
        if (!parser.next_is('[')) format_fail("tensor '" + name + "': " + offsets_message);
        parser.elements(2, [&](std::size_t i) {
          if (i >= 2) format_fail("tensor '" + name + "': " + offsets_message);
          offsets[i] = offset_value(scalar(parser, 3, name, offsets_message), name);
          offset_count = i + 1;
        });
      }
    });
    if (!have_dtype || !have_shape || !have_offsets) format_fail("tensor '" + name + "' needs dtype, shape and data_offsets");

    TensorInfo info;
    info.name = name;
    if (!dtype.is_string()) format_fail("tensor '" + name + "': dtype must be a string");
    const auto known = dtype_from_name(dtype.text);
    if (!known) format_fail("tensor '" + name + "': unknown dtype '" + dtype.text + "'");
    info.dtype = *known;

    // The product of the non-zero dimensions must fit Index, whatever their order ([0, 2^62, 4] and
    // [2^62, 4, 0] alike are rejected): so every partial product Shape::numel forms fits too.
    Index numel = 1, nonzero = 1;
    for (const Index d : dims) {
      if (d != 0 && nonzero > std::numeric_limits<Index>::max() / d)
        format_fail("tensor '" + name + "': the element count of its shape overflows");
      if (d != 0) nonzero *= d;
      numel *= d;
    }
    info.shape = Shape(std::move(dims));

    if (offset_count != 2) format_fail("tensor '" + name + "': " + offsets_message);
    const std::uint64_t begin = offsets[0];
    const std::uint64_t end = offsets[1];
    if (begin > end) format_fail(detail::concat("tensor '", name, "': data_offsets [", begin, ", ", end, "] are reversed"));
    if (end > data_size)
      format_fail(detail::concat("tensor '", name, "': data_offsets [", begin, ", ", end,
                                 "] lie outside the data section of ", data_size, " bytes"));
    const auto item = static_cast<std::uint64_t>(dtype_size(info.dtype));
    const auto count = static_cast<std::uint64_t>(numel);
    if (count > std::numeric_limits<std::uint64_t>::max() / item || count * item != end - begin)
      format_fail(detail::concat("tensor '", name, "': shape ", info.shape.str(), " of ", dtype_name(info.dtype),
                                 " needs ", numel, " x ", item, " bytes but data_offsets [", begin, ", ", end,
                                 "] span ", end - begin, " bytes"));
    info.begin = static_cast<std::size_t>(begin);
    info.end = static_cast<std::size_t>(end);
    return info;
  }

  std::vector<std::uint8_t> bytes_;
  std::size_t data_start_ = 0;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::size_t> index_;
  Metadata metadata_;
};

namespace detail {

template <typename X>
struct is_state_dict : std::false_type {};
template <typename U>
struct is_state_dict<StateDict<U>> : std::true_type {};

/// `load_from_source` adaptor for the tensors of a file under a prefix.
struct SafetensorsSource {
  const Safetensors& file;
  std::string prefix;

  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    for (const auto& info : file.tensors())
      if (info.name.compare(0, prefix.size(), prefix) == 0) out.push_back(info.name.substr(prefix.size()));
    return out;
  }
  const TensorInfo* find(const std::string& name) const { return file.find(prefix + name); }
  static const Shape& shape(const TensorInfo& info) { return info.shape; }
  template <typename T>
  void copy(const TensorInfo& info, T* out) const {
    file.copy_to(info, out);
  }
};

template <typename U>
void append_values(std::vector<std::uint8_t>& out, const std::vector<U>& values, Dtype dtype) {
  for (const U& v : values) {
    switch (dtype) {
      case Dtype::F32: append_le(out, float_bits(static_cast<float>(v)), 4); break;
      case Dtype::F64: {
        const auto d = static_cast<double>(v);
        std::uint64_t bits;
        std::memcpy(&bits, &d, sizeof bits);
        append_le(out, bits, 8);
        break;
      }
      // Through float first, as torch's .half()/.bfloat16() of a double tensor do.
      case Dtype::F16: append_le(out, float_to_half(static_cast<float>(v)), 2); break;
      case Dtype::BF16: append_le(out, float_to_bfloat16(static_cast<float>(v)), 2); break;
      default: break;
    }
  }
}

}  // namespace detail

/// A state dict as safetensors bytes: tensors in the dict's order, back to back, with their values
/// converted to `dtype` (F32, F64, F16 or BF16; 16-bit rounds to nearest even, bit-identical to torch).
/// `metadata` defaults to `{"format": "pt"}`, which the safetensors library's torch loader expects.
template <typename U>
std::vector<std::uint8_t> serialize_safetensors(const StateDict<U>& dict, Dtype dtype = default_dtype<U>(),
                                                const Metadata& metadata = {{"format", "pt"}}) {
  detail::check<value_error>(dtype == Dtype::F32 || dtype == Dtype::F64 || dtype == Dtype::F16 || dtype == Dtype::BF16,
                             "safetensors: seqnet saves F32, F64, F16 or BF16, not ", dtype_name(dtype));
  const auto quoted_name = [](const std::string& text) {
    detail::check<value_error>(detail::json::is_valid_utf8(text), "safetensors: name is not valid UTF-8");
    return detail::json::quote(text);
  };
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    for (std::size_t i = 0; i < metadata.size(); ++i)
      header += (i ? "," : "") + quoted_name(metadata[i].first) + ":" + quoted_name(metadata[i].second);
    header += "}";
  }
  std::size_t offset = 0;
  for (const auto& [name, tensor] : dict) {
    detail::check<value_error>(name != "__metadata__", "safetensors: a tensor cannot be called __metadata__");
    const std::size_t bytes = tensor.values.size() * dtype_size(dtype);
    header += (header.size() > 1 ? "," : "") + quoted_name(name) + ":{\"dtype\":\"" + dtype_name(dtype) +
              "\",\"shape\":[";
    for (Index i = 0; i < tensor.shape.rank(); ++i) header += (i ? "," : "") + std::to_string(tensor.shape[i]);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + bytes) + "]}";
    offset += bytes;
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');  // the reference writer aligns the data section to 8 bytes

  std::vector<std::uint8_t> out;
  out.reserve(8 + header.size() + offset);
  detail::append_le(out, header.size(), 8);
  out.insert(out.end(), header.begin(), header.end());
  for (const auto& [name, tensor] : dict) detail::append_values(out, tensor.values, dtype);
  return out;
}

/// A module's (or model's) parameters as safetensors bytes, named as PyTorch's `state_dict()` names them.
template <typename M, typename = std::enable_if_t<!detail::is_state_dict<std::remove_const_t<M>>::value>>
std::vector<std::uint8_t> serialize_safetensors(M& module,
                                                Dtype dtype = default_dtype<std::remove_const_t<detail::named_element_t<M>>>(),
                                                const Metadata& metadata = {{"format", "pt"}}) {
  return serialize_safetensors(state_dict(module), dtype, metadata);
}

/// Writes `bytes` to `path`; failures throw `std::system_error` naming the path.
inline void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  errno = 0;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::system_error(errno, std::generic_category(), "cannot open '" + path + "' for writing");
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) throw std::system_error(errno, std::generic_category(), "cannot write '" + path + "'");
}

/// Saves a module, a model of several modules, or a `StateDict`, as a safetensors file PyTorch can load
/// (`safetensors.torch.load_file`, or `tools/export_safetensors.py`'s `load`).
template <typename X>
void save_safetensors(const std::string& path, X&& module_or_dict) {
  write_file(path, serialize_safetensors(module_or_dict));
}
/// As above, with the values converted to `dtype` (F32, F64, F16 or BF16) and the given metadata.
template <typename X>
void save_safetensors(const std::string& path, X&& module_or_dict, Dtype dtype,
                      const Metadata& metadata = {{"format", "pt"}}) {
  write_file(path, serialize_safetensors(module_or_dict, dtype, metadata));
}

/// `module.load_state_dict(file)` for a parsed safetensors file: the tensors named `prefix` + a parameter's
/// name (`prefix` "rnn" or "rnn." loads the LSTM out of a whole model's file; other keys are ignored),
/// converted from the file's dtype. Strictness, messages and the all-or-nothing guarantee are those of
/// `load_state_dict`; names in messages and in the result are relative to the prefix.
template <typename M>
IncompatibleKeys load_safetensors(const Safetensors& file, M& module, const std::string& prefix = "",
                                  bool strict = true) {
  return detail::load_from_source(module, detail::SafetensorsSource{file, detail::normalized_prefix(prefix)}, strict);
}

/// Reads the safetensors file at `path` and loads it into `module` (see the overload above).
template <typename M>
IncompatibleKeys load_safetensors(const std::string& path, M& module, const std::string& prefix = "",
                                  bool strict = true) {
  return load_safetensors(Safetensors::read(path), module, prefix, strict);
}

}  // namespace seqnet
