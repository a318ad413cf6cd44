// safetensors: F16/BF16 conversions, the strict JSON header parser, in-memory round trips, loading with
// prefixes and dtype conversion, and rejection of truncated, overlapping and hostile files. Every
// malformed case is an in-memory buffer; the whole file also runs under ASan/UBSan (see docs/interop.md).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include <seqnet/rnn.hpp>
#include <seqnet/safetensors.hpp>

namespace {

using Bytes = std::vector<std::uint8_t>;
using seqnet::Dtype;
using seqnet::Safetensors;
using seqnet::Shape;
namespace json = seqnet::detail::json;

/// A safetensors file from a header text and a data section, the length field computed unless given.
Bytes make_file(const std::string& header, const Bytes& data = {}, std::uint64_t length = UINT64_MAX) {
  if (length == UINT64_MAX) length = header.size();
  Bytes out;
  seqnet::detail::append_le(out, length, 8);
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

Bytes float_bytes(const std::vector<float>& values) {
  Bytes out;
  for (float v : values) seqnet::detail::append_le(out, seqnet::detail::float_bits(v), 4);
  return out;
}

/// parse(bytes) must throw format_error whose message contains every one of `parts`.
void check_rejected(const Bytes& bytes, const std::vector<std::string>& parts) {
  try {
    Safetensors::parse(bytes);
    FAIL("accepted a malformed file");
  } catch (const seqnet::format_error& e) {
    const std::string message = e.what();
    INFO(message);
    for (const auto& part : parts) CHECK_THAT(message, Catch::Contains(part));
  }
}

const std::string two_tensors =
    R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// F16 / BF16

TEST_CASE("F16: every half round-trips through float; rounding is to nearest even", "[safetensors][half]") {
  using seqnet::detail::float_to_half;
  using seqnet::detail::half_to_float;
  for (std::uint32_t h = 0; h <= 0xFFFF; ++h) {
    const float f = half_to_float(static_cast<std::uint16_t>(h));
    const bool nan = (h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0;
    if (nan) {
      REQUIRE(std::isnan(f));
      REQUIRE((float_to_half(f) & 0x7FFF) == 0x7E00);
    } else {
      REQUIRE(float_to_half(f) == h);
    }
  }
  CHECK(half_to_float(0x3C00) == 1.0f);
  CHECK(half_to_float(0x0001) == std::ldexp(1.0f, -24));   // smallest subnormal
  CHECK(half_to_float(0x7BFF) == 65504.0f);                // largest finite
  CHECK(float_to_half(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);            // tie -> even (down)
  CHECK(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3C02);        // tie -> even (up)
  CHECK(float_to_half(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)) == 0x3C01);
  CHECK(float_to_half(65519.0f) == 0x7BFF);
  CHECK(float_to_half(65520.0f) == 0x7C00);                 // rounds up to inf
  CHECK(float_to_half(-1e10f) == 0xFC00);
  CHECK(float_to_half(std::ldexp(1.0f, -25)) == 0x0000);    // tie between 0 and 2^-24 -> 0
  CHECK(float_to_half(std::ldexp(1.5f, -25)) == 0x0001);
  CHECK(float_to_half(std::ldexp(3.0f, -25)) == 0x0002);    // tie between 1 and 2 units -> 2
  CHECK(float_to_half(-std::ldexp(1.0f, -30)) == 0x8000);   // signed zero
  CHECK(float_to_half(std::ldexp(1023.5f, -24)) == 0x0400);  // subnormal rounds up into the normal range
}

TEST_CASE("BF16: every bfloat16 round-trips; rounding is to nearest even; NaN is 0x7FC0", "[safetensors][half]") {
  using seqnet::detail::bfloat16_to_float;
  using seqnet::detail::float_to_bfloat16;
  for (std::uint32_t b = 0; b <= 0xFFFF; ++b) {
    const float f = bfloat16_to_float(static_cast<std::uint16_t>(b));
    if (std::isnan(f)) {
      REQUIRE(float_to_bfloat16(f) == 0x7FC0);
    } else {
      REQUIRE(float_to_bfloat16(f) == b);
    }
  }
  CHECK(float_to_bfloat16(seqnet::detail::float_from_bits(0x3F808000)) == 0x3F80);  // tie -> even
  CHECK(float_to_bfloat16(seqnet::detail::float_from_bits(0x3F818000)) == 0x3F82);
  CHECK(float_to_bfloat16(seqnet::detail::float_from_bits(0x3F808001)) == 0x3F81);
  CHECK(float_to_bfloat16(std::numeric_limits<float>::max()) == 0x7F80);  // rounds to inf
}

// ---------------------------------------------------------------------------------------------------------
// JSON

TEST_CASE("JSON: well-formed documents parse", "[safetensors][json]") {
  const auto v = json::parse(R"( {"a": [1, -2.5e3, true, false, null], "b\u00e9\ud83d\ude00": "x\n\"\\\/"} )");
  REQUIRE(v.is_object());
  REQUIRE(v.keys.size() == 2);
  CHECK(v.keys[0] == "a");
  CHECK(v.keys[1] == "b\xC3\xA9\xF0\x9F\x98\x80");
  CHECK(v.items[1].text == "x\n\"\\/");
  REQUIRE(v.items[0].items.size() == 5);
  CHECK(json::as_uint64(v.items[0].items[0]) == 1u);
  CHECK_FALSE(json::as_uint64(v.items[0].items[1]));
  CHECK(json::as_uint64(json::parse("18446744073709551615")) == UINT64_MAX);
  CHECK_FALSE(json::as_uint64(json::parse("18446744073709551616")));
  CHECK_FALSE(json::as_uint64(json::parse("-0")));
  CHECK(json::parse("\"\xE2\x82\xAC\"").text == "\xE2\x82\xAC");
  CHECK(json::quote("a\"b\\c\x01") == "\"a\\\"b\\\\c\\u0001\"");
}

TEST_CASE("JSON: malformed documents throw format_error", "[safetensors][json]") {
  const std::vector<std::string> bad{
      "",          "{",          "{\"a\":1,}",   "[1,]",         "{\"a\" 1}",      "{a:1}",        "01",
      "1.",        "1e",         "-",            "+1",           "tru",            "nul",          "\"abc",
      "\"\\x\"",   "\"\\u12\"",  "\"\\ud800\"",  "\"\\udc00\"",  "\"\\ud800\\u0041\"", "\"a\tb\"", "\"\xC0\xAF\"",
      "\"\xED\xA0\x80\"", "\"\xF4\x90\x80\x80\"", "\"\xE2\x82\"", "\"\xFF\"", "{\"a\":1,\"a\":2}", "1 2",
      "{} x",      "[1] ]",      "'a'",          "NaN",          "Infinity",       std::string("{\"a\":1}\0", 8)};
  for (const auto& text : bad) {
    INFO("input: " << text);
    CHECK_THROWS_AS(json::parse(text), seqnet::format_error);
  }
  CHECK_THROWS_WITH(json::parse("{\"a\":1,\"a\":2}"), Catch::Contains("duplicate key \"a\""));
  // Nesting is capped, so deep input cannot exhaust the stack.
  CHECK_THROWS_WITH(json::parse(std::string(100000, '[')), Catch::Contains("nesting too deep"));
  CHECK_NOTHROW(json::parse(std::string(32, '[') + std::string(32, ']')));
  CHECK_THROWS_AS(json::parse(std::string(33, '[') + std::string(33, ']')), seqnet::format_error);
}

// ---------------------------------------------------------------------------------------------------------
// Round trips

TEST_CASE("serialize/parse round trip in F32, F64, F16 and BF16", "[safetensors]") {
  seqnet::StateDict<double> dict;
  dict.insert("w", Shape{2, 3}, {0.1, -2.5, 3.0, 1e-3, 65504.0, -0.0});
  dict.insert("scalar", Shape{}, {7.25});
  dict.insert("empty", Shape{0, 4}, {});
  dict.insert("b\xC3\xA9", Shape{1}, {1.0 / 3.0});

  for (Dtype dtype : {Dtype::F32, Dtype::F64, Dtype::F16, Dtype::BF16}) {
    INFO(seqnet::dtype_name(dtype));
    const Bytes bytes = seqnet::serialize_safetensors(dict, dtype);
    const std::uint64_t header_size = seqnet::detail::read_le(bytes.data(), 8);
    CHECK(header_size % 8 == 0);  // data section aligned, as the reference writer does
    const auto file = Safetensors::parse(bytes);
    REQUIRE(file.tensors().size() == 4);
    CHECK(file.metadata() == seqnet::Metadata{{"format", "pt"}});
    std::size_t i = 0;
    for (const auto& [name, tensor] : dict) {
      const auto& info = file.tensors()[i++];
      CHECK(info.name == name);
      CHECK(info.dtype == dtype);
      CHECK(info.shape == tensor.shape);
      const auto values = file.values<double>(info);
      REQUIRE(values.size() == tensor.values.size());
      for (std::size_t k = 0; k < values.size(); ++k) {
        double expected = tensor.values[k];
        if (dtype == Dtype::F32) expected = static_cast<float>(expected);
        if (dtype == Dtype::F16)
          expected = seqnet::detail::half_to_float(seqnet::detail::float_to_half(static_cast<float>(expected)));
        if (dtype == Dtype::BF16)
          expected = seqnet::detail::bfloat16_to_float(seqnet::detail::float_to_bfloat16(static_cast<float>(expected)));
        CHECK(values[k] == expected);
      }
    }
    const auto back = file.state_dict<double>();
    CHECK(back.keys() == dict.keys());
  }
  CHECK_THROWS_AS(seqnet::serialize_safetensors(dict, Dtype::I32), seqnet::value_error);

  seqnet::StateDict<float> bad_name;
  bad_name.insert("\xFF", Shape{1}, {1.0f});
  CHECK_THROWS_AS(seqnet::serialize_safetensors(bad_name), seqnet::value_error);
}

TEST_CASE("the header is exactly what tools/export_safetensors.py writes", "[safetensors]") {
  seqnet::StateDict<float> dict;
  dict.insert("weight", Shape{1, 2}, {1.0f, 2.0f});
  const Bytes bytes = seqnet::serialize_safetensors(dict);
  const std::string header(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(seqnet::detail::read_le(bytes.data(), 8)));
  // json.dumps({"__metadata__": {"format": "pt"}, "weight": {...}}, separators=(",", ":")), padded to 8.
  CHECK(header == R"({"__metadata__":{"format":"pt"},"weight":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}})"
                  "    ");
}

TEST_CASE("load_safetensors: prefixes, strictness and dtype conversion", "[safetensors]") {
  seqnet::Generator g1(1), g2(2);
  seqnet::LSTM<float> source(seqnet::LSTMOptions(3, 4), g1);
  seqnet::LSTM<double> target(seqnet::LSTMOptions(3, 4), g2);

  // A "model" file: the LSTM under "rnn.", plus a head tensor.
  seqnet::StateDict<float> model;
  for (const auto& [name, tensor] : seqnet::state_dict(source)) model.insert("rnn." + name, tensor.shape, tensor.values);
  model.insert("reg.0.weight", Shape{1, 4}, {1, 2, 3, 4});
  const auto file = Safetensors::parse(seqnet::serialize_safetensors(model));

  // Whole file into the LSTM: every name is wrong.
  CHECK_THROWS_WITH(seqnet::load_safetensors(file, target),
                    Catch::StartsWith("Error(s) in loading state_dict for LSTM:\n\tMissing key(s) in state_dict: "
                                      "\"weight_ih_l0\", \"weight_hh_l0\", \"bias_ih_l0\", \"bias_hh_l0\". \n\t"
                                      "Unexpected key(s) in state_dict: \"rnn.weight_ih_l0\""));
  // Under the prefix (with or without the dot), only rnn.* is looked at.
  for (const std::string prefix : {"rnn", "rnn."}) {
    seqnet::LSTM<double> fresh(seqnet::LSTMOptions(3, 4), g2);
    CHECK(seqnet::load_safetensors(file, fresh, prefix).empty());
    for (const auto& [name, p] : source.named_parameters())
      CHECK(fresh.parameter(name).flat() == p.flat().cast<double>());
  }
  // Non-strict: the head loads, the rest is reported.
  struct Head {
    std::vector<float> w = std::vector<float>(4, 0.0f);
    std::vector<float> b = std::vector<float>(1, 9.0f);
    seqnet::NamedParameters<float> named_parameters() {
      return {{"weight", {w.data(), Shape{1, 4}}}, {"bias", {b.data(), Shape{1}}}};
    }
  } head;
  const auto keys = seqnet::load_safetensors(file, head, "reg.0", false);
  CHECK(keys.missing_keys == std::vector<std::string>{"bias"});
  CHECK(keys.unexpected_keys.empty());
  CHECK(head.w == std::vector<float>{1, 2, 3, 4});
  CHECK(head.b == std::vector<float>{9});
  CHECK_THROWS_WITH(seqnet::load_safetensors(file, head, "reg.0"),
                    "Error(s) in loading state_dict for Module:\n\tMissing key(s) in state_dict: \"bias\". ");
}

TEST_CASE("every dtype of the format converts on load", "[safetensors]") {
  Bytes data;
  const auto put = [&data](std::uint64_t v, std::size_t n) { seqnet::detail::append_le(data, v, n); };
  put(0x01, 1); put(0x00, 1); put(0x07, 1);                  // BOOL [1, 0, 7]
  put(200, 1);                                                // U8
  put(0xFE, 1);                                               // I8 -2
  put(0x3C, 1);                                               // F8_E5M2 0x3C = 1.0
  put(0x38, 1); put(0x01, 1); put(0xC4, 1);                   // F8_E4M3 1.0, 2^-9, -3.0
  put(0xFFFE, 2);                                             // I16 -2
  put(0xFFFE, 2);                                             // U16 65534
  put(0xC000, 2);                                             // F16 -2
  put(0x4049, 2);                                             // BF16 3.140625
  put(0xFFFFFFFD, 4);                                         // I32 -3
  put(0xFFFFFFFD, 4);                                         // U32
  put(seqnet::detail::float_bits(0.5f), 4);                   // F32
  double d = -0.125;
  std::uint64_t bits;
  std::memcpy(&bits, &d, 8);
  put(bits, 8);                                               // F64
  put(static_cast<std::uint64_t>(-5), 8);                     // I64
  put(12345, 8);                                              // U64
  std::string header = "{";
  std::size_t offset = 0;
  const auto add = [&](const std::string& name, const std::string& dtype, std::size_t n, std::size_t item) {
    header += (header.size() > 1 ? "," : "") + ("\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":[" +
                                                 std::to_string(n) + "],\"data_offsets\":[" + std::to_string(offset) +
                                                 "," + std::to_string(offset + n * item) + "]}");
    offset += n * item;
  };
  add("bool", "BOOL", 3, 1); add("u8", "U8", 1, 1); add("i8", "I8", 1, 1); add("e5m2", "F8_E5M2", 1, 1);
  add("e4m3", "F8_E4M3", 3, 1); add("i16", "I16", 1, 2); add("u16", "U16", 1, 2); add("f16", "F16", 1, 2);
  add("bf16", "BF16", 1, 2); add("i32", "I32", 1, 4); add("u32", "U32", 1, 4); add("f32", "F32", 1, 4);
  add("f64", "F64", 1, 8); add("i64", "I64", 1, 8); add("u64", "U64", 1, 8);
  header += "}";
  const auto file = Safetensors::parse(make_file(header, data));
  CHECK(file.values<double>("bool") == std::vector<double>{1, 0, 1});
  CHECK(file.values<double>("u8") == std::vector<double>{200});
  CHECK(file.values<double>("i8") == std::vector<double>{-2});
  CHECK(file.values<double>("e5m2") == std::vector<double>{1.0});
  CHECK(file.values<double>("e4m3") == std::vector<double>{1.0, std::ldexp(1.0, -9), -3.0});
  CHECK(file.values<double>("i16") == std::vector<double>{-2});
  CHECK(file.values<double>("u16") == std::vector<double>{65534});
  CHECK(file.values<double>("f16") == std::vector<double>{-2});
  CHECK(file.values<double>("bf16") == std::vector<double>{3.140625});
  CHECK(file.values<double>("i32") == std::vector<double>{-3});
  CHECK(file.values<double>("u32") == std::vector<double>{4294967293.0});
  CHECK(file.values<float>("f32") == std::vector<float>{0.5f});
  CHECK(file.values<double>("f64") == std::vector<double>{-0.125});
  CHECK(file.values<std::int64_t>("i64") == std::vector<std::int64_t>{-5});
  CHECK(file.values<double>("u64") == std::vector<double>{12345});
  CHECK_THROWS_AS(file.values<double>("nope"), seqnet::key_error);
}

TEST_CASE("metadata, zero-size tensors and an empty file are valid", "[safetensors]") {
  const auto file = Safetensors::parse(make_file(
      R"({"__metadata__":{"format":"pt","note":"hi"},"e":{"dtype":"F16","shape":[0],"data_offsets":[0,0]},)"
      R"("x":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}    )",
      float_bytes({2.5f})));
  CHECK(file.metadata() == seqnet::Metadata{{"format", "pt"}, {"note", "hi"}});
  CHECK(file.values<float>("x") == std::vector<float>{2.5f});
  CHECK(file.values<float>("e").empty());
  CHECK(Safetensors::parse(make_file("{}")).tensors().empty());
}

// ---------------------------------------------------------------------------------------------------------
// Malformed files

TEST_CASE("malformed files are rejected with the tensor and the numbers named", "[safetensors][malformed]") {
  const Bytes data12 = float_bytes({1, 2, 3});
  check_rejected({}, {"0 bytes", "too short"});
  check_rejected({1, 2, 3, 4, 5, 6, 7}, {"7 bytes"});
  check_rejected(make_file(two_tensors, data12, 100000), {"header length 100000", "exceeds the"});
  check_rejected(make_file(two_tensors, data12, UINT64_MAX - 1), {"exceeds the limit"});
  check_rejected(make_file(two_tensors, data12, 1u << 31), {"exceeds the limit of 100000000"});
  check_rejected(make_file(" " + two_tensors, data12), {"does not start with '{'"});
  check_rejected(make_file("", data12), {"does not start with '{'"});
  check_rejected(make_file("{\"a\":", data12), {"invalid JSON"});
  check_rejected(make_file(two_tensors + "x", data12), {"invalid JSON", "after the JSON value"});
  check_rejected(make_file(two_tensors + std::string(1, '\0'), data12), {"invalid JSON"});

  const auto tensor = [](const std::string& dtype, const std::string& shape, const std::string& offsets) {
    return "{\"t\":{\"dtype\":" + dtype + ",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}}";
  };
  check_rejected(make_file(tensor("\"F31\"", "[3]", "[0,12]"), data12), {"'t'", "unknown dtype 'F31'"});
  check_rejected(make_file(tensor("32", "[3]", "[0,12]"), data12), {"'t'", "dtype must be a string"});
  check_rejected(make_file(tensor("\"F32\"", "[-3]", "[0,12]"), data12), {"'t'", "non-negative integers"});
  check_rejected(make_file(tensor("\"F32\"", "[3.0]", "[0,12]"), data12), {"'t'", "non-negative integers"});
  check_rejected(make_file(tensor("\"F32\"", "3", "[0,12]"), data12), {"'t'", "shape must be an array"});
  check_rejected(make_file(tensor("\"F32\"", "[9223372036854775808]", "[0,12]"), data12), {"non-negative"});
  check_rejected(make_file(tensor("\"F32\"", "[1,1,1,1,1,1,1,1,3]", "[0,12]"), data12),
                 {"'t' has more than 8 dimensions; seqnet handles at most 8"});
  CHECK(Safetensors::parse(make_file(tensor("\"F32\"", "[1,1,1,1,1,1,1,3]", "[0,12]"), data12)).tensors().size() == 1);
  check_rejected(make_file(tensor("\"F32\"", "[4294967296,4294967296]", "[0,12]"), data12), {"'t'", "overflows"});
  check_rejected(make_file(tensor("\"F32\"", "[4294967296,4294967296,0]", "[0,12]"), data12), {"overflows"});
  // The overflow check does not depend on the order of the dimensions (a leading 0 once hid it).
  check_rejected(make_file(tensor("\"F32\"", "[0,9223372036854775807,9223372036854775807]", "[0,0]")), {"'t'", "overflows"});
  check_rejected(make_file(tensor("\"F32\"", "[9223372036854775807,9223372036854775807,0]", "[0,0]")), {"'t'", "overflows"});
  CHECK(Safetensors::parse(make_file(tensor("\"F32\"", "[0,4294967296,4]", "[0,0]"))).tensors().at(0).shape.numel() == 0);
  // Containers where the schema wants scalars are rejected before they are read (no tree is built).
  check_rejected(make_file(tensor("\"F32\"", "[[0,0,0]]", "[0,12]"), data12), {"'t'", "shape must hold non-negative"});
  check_rejected(make_file(tensor("[\"F32\"]", "[3]", "[0,12]"), data12), {"'t'", "dtype must be a string"});
  check_rejected(make_file(tensor("\"F32\"", "[3]", "[[0],12]"), data12), {"'t'", "two non-negative integers"});
  check_rejected(make_file(R"({"t":{"dtype":"F32","dtype":"F32","shape":[3],"data_offsets":[0,12]}})", data12),
                 {"duplicate key \"dtype\""});
  // numel * itemsize wraps around 2^64 to 8, the span given: must not be accepted.
  check_rejected(make_file(tensor("\"F64\"", "[2305843009213693953]", "[0,8]"), float_bytes({1, 2})),
                 {"'t'", "needs 2305843009213693953 x 8 bytes"});
  check_rejected(make_file(tensor("\"F32\"", "[3]", "[0,8]"), data12),
                 {"'t'", "shape [3] of F32 needs 3 x 4 bytes", "[0, 8]", "span 8 bytes"});
  check_rejected(make_file(tensor("\"F32\"", "[3]", "[0,16]"), data12), {"'t'", "[0, 16]", "data section of 12"});
  check_rejected(make_file(tensor("\"F32\"", "[3]", "[12,0]"), data12), {"'t'", "reversed"});
  check_rejected(make_file(tensor("\"F32\"", "[3]", "[0]"), data12), {"'t'", "two non-negative integers"});
  check_rejected(make_file(tensor("\"F32\"", "[3]", "[0,12,12]"), data12), {"two non-negative integers"});
  check_rejected(make_file(tensor("\"F32\"", "[3]", "[0,-12]"), data12), {"two non-negative integers"});
  check_rejected(make_file(tensor("\"F32\"", "[3]", "[0,18446744073709551616]"), data12), {"two non-negative"});
  check_rejected(make_file(R"({"t":{"dtype":"F32","shape":[3]}})", data12), {"'t'", "needs dtype, shape"});
  check_rejected(make_file(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,12],"x":1}})", data12),
                 {"'t'", "unknown field 'x'"});
  check_rejected(make_file(R"({"t":[1]})", data12), {"'t' must be an object"});
  check_rejected(make_file(R"([1])", data12), {"does not start with '{'"});

  // Layout of the data section: overlap, hole, uncovered tail, duplicate names.
  check_rejected(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                           R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", data12),
                 {"'b' (bytes 4..12) overlaps tensor 'a' (bytes 0..8)"});
  check_rejected(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                           R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", data12),
                 {"'b' starts at byte 8", "ends at byte 4", "hole"});
  check_rejected(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", float_bytes({1, 2})),
                 {"'a' starts at byte 4", "ends at byte 0"});
  check_rejected(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", data12),
                 {"cover 8 bytes", "data section has 12 bytes"});
  check_rejected(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                           R"("a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", data12),
                 {"duplicate key \"a\""});
  check_rejected(make_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
                           R"("b":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})", data12),
                 {"overlaps"});

  // Metadata must map strings to strings.
  check_rejected(make_file(R"({"__metadata__":{"a":1}})"), {"__metadata__ value of 'a' must be a string"});
  check_rejected(make_file(R"({"__metadata__":[]})"), {"__metadata__ must be an object"});
  check_rejected(make_file(R"({"__metadata__":{},"__metadata__":{}})"), {"duplicate key"});
  check_rejected(make_file(R"({"__metadata__":{"a":"1","b":"2","a":"3"}})"), {"__metadata__ has a duplicate key \"a\""});
  check_rejected(make_file(R"({"__metadata__":{"a":{"b":"c"}}})"), {"__metadata__ value of 'a' must be a string, not an object"});
  CHECK(Safetensors::parse(make_file(R"({"__metadata__":{"a":"1","b":"2"}})")).metadata().size() == 2);
}

TEST_CASE("every truncation and random corruption of a valid file is rejected or parsed safely",
          "[safetensors][malformed]") {
  seqnet::LSTM<float> lstm(seqnet::LSTMOptions(2, 3));
  const Bytes good = seqnet::serialize_safetensors(lstm);
  REQUIRE_NOTHROW(Safetensors::parse(good));
  for (std::size_t size = 0; size < good.size(); ++size) {
    INFO("truncated to " << size << " bytes");
    REQUIRE_THROWS_AS(Safetensors::parse(Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(size))),
                      seqnet::format_error);
  }
  // Extra bytes at the end are a hole in the data section.
  Bytes longer = good;
  longer.push_back(0);
  CHECK_THROWS_AS(Safetensors::parse(longer), seqnet::format_error);

  // Random byte changes, mostly inside the header: each either parses to a file whose tensors lie inside
  // it (and can be read), or is rejected with format_error. Under ASan this proves no out-of-bounds read.
  std::mt19937 rng(12345);
  const std::size_t header_end = 8 + static_cast<std::size_t>(seqnet::detail::read_le(good.data(), 8));
  int accepted = 0, rejected = 0;
  const char alphabet[] = "0123456789[],:{}\"\\ -e.";  // JSON's structural bytes, and the NUL after them
  for (int trial = 0; trial < 4000; ++trial) {
    Bytes bad = good;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = (trial % 4 == 0) ? rng() % bad.size() : rng() % header_end;
      bad[pos] = static_cast<std::uint8_t>((trial % 2) ? rng() % 256 : alphabet[rng() % sizeof alphabet]);
    }
    try {
      const auto file = Safetensors::parse(bad);
      for (const auto& info : file.tensors()) {
        REQUIRE(info.end <= bad.size());
        (void)file.values<double>(info);
      }
      ++accepted;
    } catch (const seqnet::format_error&) {
      ++rejected;
    }
  }
  CHECK(rejected > 1000);
  CHECK(accepted > 0);
}

TEST_CASE("files: save, read back, and errors that name the path", "[safetensors]") {
  seqnet::Generator g1(1), g2(2);
  seqnet::GRU<double> source(seqnet::GRUOptions(3, 4).num_layers(2), g1);
  seqnet::GRU<double> target(seqnet::GRUOptions(3, 4).num_layers(2), g2);
  const std::string path = "seqnet_test_safetensors_roundtrip.safetensors";
  seqnet::save_safetensors(path, source);
  CHECK(seqnet::load_safetensors(path, target).empty());
  for (const auto& [name, p] : source.named_parameters()) CHECK(target.parameter(name).flat() == p.flat());
  seqnet::save_safetensors(path, seqnet::state_dict(source), Dtype::F16);
  CHECK(Safetensors::read(path).tensors().front().dtype == Dtype::F16);
  std::remove(path.c_str());

  CHECK_THROWS_AS(Safetensors::read("/nonexistent/dir/model.safetensors"), std::system_error);
  CHECK_THROWS_WITH(Safetensors::read("/nonexistent/dir/model.safetensors"),
                    Catch::Contains("'/nonexistent/dir/model.safetensors'") && Catch::Contains("No such file"));
  CHECK_THROWS_WITH(seqnet::save_safetensors("/nonexistent/dir/out.safetensors", source),
                    Catch::Contains("/nonexistent/dir/out.safetensors"));
  CHECK_THROWS_AS(seqnet::load_safetensors("/nonexistent/x.safetensors", target), std::runtime_error);
  CHECK_THROWS_WITH(Safetensors::read("."), Catch::Contains("cannot read '.'"));  // a directory opens, but cannot be read

  const std::string bad_path = "seqnet_test_safetensors_bad.safetensors";
  seqnet::write_file(bad_path, make_file("{\"a\":1}"));
  CHECK_THROWS_WITH(Safetensors::read(bad_path), Catch::Contains("'a' must be an object") &&
                                                     Catch::Contains("(in 'seqnet_test_safetensors_bad.safetensors')"));
  std::remove(bad_path.c_str());
}
