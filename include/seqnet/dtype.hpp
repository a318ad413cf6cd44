// SPDX-License-Identifier: MIT
/// @file dtype.hpp
/// `Dtype`: the element types seqnet reads, writes and computes in, with their names and sizes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

namespace seqnet {

/// Element types, named as the safetensors format names them. safetensors.hpp loads any of them into a
/// module's scalar type and saves F32, F64, F16 or BF16; the packed GEMM keys its kernels by them
/// (detail/gemm/kernels/gemm_config.hpp).
enum class Dtype { BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 };

/// The name the format uses (`"F32"`).
constexpr const char* dtype_name(Dtype dtype) {
  switch (dtype) {
    case Dtype::BOOL: return "BOOL";
    case Dtype::U8: return "U8";
    case Dtype::I8: return "I8";
    case Dtype::F8_E5M2: return "F8_E5M2";
    case Dtype::F8_E4M3: return "F8_E4M3";
    case Dtype::I16: return "I16";
    case Dtype::U16: return "U16";
    case Dtype::F16: return "F16";
    case Dtype::BF16: return "BF16";
    case Dtype::I32: return "I32";
    case Dtype::U32: return "U32";
    case Dtype::F32: return "F32";
    case Dtype::F64: return "F64";
    case Dtype::I64: return "I64";
    case Dtype::U64: return "U64";
  }
  return "?";
}

/// Bytes per element.
constexpr std::size_t dtype_size(Dtype dtype) {
  switch (dtype) {
    case Dtype::BOOL: case Dtype::U8: case Dtype::I8: case Dtype::F8_E5M2: case Dtype::F8_E4M3: return 1;
    case Dtype::I16: case Dtype::U16: case Dtype::F16: case Dtype::BF16: return 2;
    case Dtype::I32: case Dtype::U32: case Dtype::F32: return 4;
    case Dtype::F64: case Dtype::I64: case Dtype::U64: return 8;
  }
  return 0;
}

/// The dtype called `name`, or nothing.
inline std::optional<Dtype> dtype_from_name(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(Dtype::U64); ++i)
    if (name == dtype_name(static_cast<Dtype>(i))) return static_cast<Dtype>(i);
  return std::nullopt;
}

/// The dtype of a C++ element type (float: F32, double: F64, the fixed-width integers), as a constant
/// expression. `Dtype` values without a C++ type of their own (F16, BF16, F8) are stored as 16- or 8-bit
/// patterns and named explicitly where they are used.
template <typename T>
constexpr Dtype dtype_of() {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_same_v<U, float>) return Dtype::F32;
  else if constexpr (std::is_same_v<U, double>) return Dtype::F64;
  else if constexpr (std::is_same_v<U, bool>) return Dtype::BOOL;
  else if constexpr (std::is_same_v<U, std::int8_t>) return Dtype::I8;
  else if constexpr (std::is_same_v<U, std::uint8_t>) return Dtype::U8;
  else if constexpr (std::is_same_v<U, std::int16_t>) return Dtype::I16;
  else if constexpr (std::is_same_v<U, std::uint16_t>) return Dtype::U16;
  else if constexpr (std::is_same_v<U, std::int32_t>) return Dtype::I32;
  else if constexpr (std::is_same_v<U, std::uint32_t>) return Dtype::U32;
  else if constexpr (std::is_same_v<U, std::int64_t>) return Dtype::I64;
  else if constexpr (std::is_same_v<U, std::uint64_t>) return Dtype::U64;
  else static_assert(sizeof(U) == 0, "dtype_of: no Dtype for this type");
}

}  // namespace seqnet
