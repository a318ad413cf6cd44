// SPDX-License-Identifier: MIT
// libFuzzer target: a whole safetensors file (length, JSON header, data) from untrusted bytes.
// Safetensors::parse must accept it or throw format_error. An accepted file must keep its promises: every
// tensor lies inside the data section with exactly numel x itemsize bytes, its values convert to float and
// double, and its state dict saved again (F64) parses back to the same names, shapes and values.
#include <cmath>
#include <cstring>
#include <vector>

#include <seqnet/safetensors.hpp>

#include "fuzz_common.hpp"

namespace {

bool same_value(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

void check_accepted(const seqnet::Safetensors& file, std::size_t input_size) {
  std::size_t covered = 0;
  for (const seqnet::TensorInfo& info : file.tensors()) {
    SEQNET_FUZZ_REQUIRE(info.begin <= info.end && info.end <= input_size);
    SEQNET_FUZZ_REQUIRE(static_cast<std::uint64_t>(info.shape.numel()) * seqnet::dtype_size(info.dtype) ==
                        info.end - info.begin);
    SEQNET_FUZZ_REQUIRE(file.find(info.name) == &info);
    covered += info.end - info.begin;
    const std::vector<float> as_float = file.values<float>(info);
    const std::vector<double> as_double = file.values<double>(info);
    SEQNET_FUZZ_REQUIRE(as_float.size() == as_double.size());
  }
  SEQNET_FUZZ_REQUIRE(covered <= input_size);

  // Round trip through seqnet's writer.
  const seqnet::StateDict<double> dict = file.state_dict<double>();
  const seqnet::Safetensors again = seqnet::Safetensors::parse(seqnet::serialize_safetensors(dict, seqnet::Dtype::F64));
  SEQNET_FUZZ_REQUIRE(again.tensors().size() == file.tensors().size());
  for (const seqnet::TensorInfo& info : file.tensors()) {
    const seqnet::TensorInfo* copy = again.find(info.name);
    SEQNET_FUZZ_REQUIRE(copy != nullptr && copy->shape == info.shape);
    const std::vector<double> before = file.values<double>(info), after = again.values<double>(*copy);
    SEQNET_FUZZ_REQUIRE(before.size() == after.size());
    for (std::size_t i = 0; i < before.size(); ++i) SEQNET_FUZZ_REQUIRE(same_value(before[i], after[i]));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  seqnet_fuzz::expect_clean([&] {
    const seqnet::Safetensors file = seqnet::Safetensors::parse(std::vector<std::uint8_t>(data, data + size));
    check_accepted(file, size);
  });
  return 0;
}
