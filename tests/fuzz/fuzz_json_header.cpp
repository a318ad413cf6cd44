// SPDX-License-Identifier: MIT
// libFuzzer target: the JSON reader behind safetensors headers, from untrusted text, two ways.
//  1. detail::json::parse (the whole-tree reader): accepts or throws format_error; an accepted document's
//     strings are valid UTF-8 and survive quote() -> parse() unchanged.
//  2. The same bytes as the header of a safetensors file with an empty data section, so the streaming,
//     schema-checking reader sees them: accepts (then every tensor is empty) or throws format_error.
#include <string>
#include <string_view>
#include <vector>

#include <seqnet/safetensors.hpp>

#include "fuzz_common.hpp"

namespace json = seqnet::detail::json;

namespace {

void check_string(const std::string& text) {
  SEQNET_FUZZ_REQUIRE(json::is_valid_utf8(text));
  const json::Value back = json::parse(json::quote(text));
  SEQNET_FUZZ_REQUIRE(back.is_string() && back.text == text);
}

void check_tree(const json::Value& value, int depth) {
  SEQNET_FUZZ_REQUIRE(depth <= 33);
  switch (value.kind) {
    case json::Value::Kind::String: check_string(value.text); break;
    case json::Value::Kind::Number: SEQNET_FUZZ_REQUIRE(!value.text.empty()); break;
    case json::Value::Kind::Object:
      SEQNET_FUZZ_REQUIRE(value.keys.size() == value.items.size());
      for (const std::string& key : value.keys) check_string(key);
      [[fallthrough]];
    case json::Value::Kind::Array:
      for (const json::Value& item : value.items) check_tree(item, depth + 1);
      break;
    default: break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  seqnet_fuzz::expect_clean([&] { check_tree(json::parse(text), 0); });

  seqnet_fuzz::expect_clean([&] {
    std::vector<std::uint8_t> file;
    seqnet::detail::append_le(file, size, 8);
    file.insert(file.end(), data, data + size);
    const seqnet::Safetensors parsed = seqnet::Safetensors::parse(std::move(file));
    for (const seqnet::TensorInfo& info : parsed.tensors()) SEQNET_FUZZ_REQUIRE(info.begin == 0 && info.end == 0);
  });
  return 0;
}
