// SPDX-License-Identifier: MIT
/// @file half.hpp
/// IEEE binary16 (F16) and bfloat16 (BF16) bit patterns to and from float, in integer arithmetic only, so
/// the results do not depend on the FPU's rounding mode, flush-to-zero or excess precision. Float to
/// 16-bit rounds to nearest, ties to even, exactly as PyTorch's `c10::Half` and `c10::BFloat16` do
/// (including their NaN encodings), so a tensor saved as F16/BF16 here is bit-identical to torch's.
#pragma once

#include <cstdint>
#include <cstring>

namespace seqnet::detail {

inline std::uint32_t float_bits(float value) noexcept {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

inline float float_from_bits(std::uint32_t bits) noexcept {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

/// binary16 -> float: exact (every half is a float).
inline float half_to_float(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1Fu;
  std::uint32_t mantissa = h & 0x3FFu;
  if (exponent == 0x1F) return float_from_bits(sign | 0x7F800000u | (mantissa << 13));  // inf, NaN (payload kept)
  if (exponent != 0) return float_from_bits(sign | ((exponent + 112u) << 23) | (mantissa << 13));
  if (mantissa == 0) return float_from_bits(sign);
  // Subnormal half: normalise the mantissa into a normal float.
  std::uint32_t e = 113;  // exponent of 2^-14 in float's bias, minus the shifts below
  while ((mantissa & 0x400u) == 0) {
    mantissa <<= 1;
    --e;
  }
  return float_from_bits(sign | (e << 23) | ((mantissa & 0x3FFu) << 13));
}

/// float -> binary16, round to nearest even; overflow gives inf, NaN gives the quiet NaN 0x7E00 (with sign).
inline std::uint16_t float_to_half(float value) noexcept {
  const std::uint32_t bits = float_bits(value);
  const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  const std::uint32_t magnitude = bits & 0x7FFFFFFFu;
  if (magnitude > 0x7F800000u) return static_cast<std::uint16_t>(sign | 0x7E00u);
  if (magnitude >= 0x47800000u) return static_cast<std::uint16_t>(sign | 0x7C00u);  // >= 2^16, or inf
  if (magnitude >= 0x38800000u) {
    // Normal half (>= 2^-14): re-bias the exponent by 127 - 15, drop 13 mantissa bits rounding to even.
    // A carry out of the mantissa correctly bumps the exponent, up to inf for values >= 65520.
    std::uint32_t rebased = magnitude - 0x38000000u;
    rebased += 0x0FFFu + ((rebased >> 13) & 1u);
    return static_cast<std::uint16_t>(sign | (rebased >> 13));
  }
  if (magnitude < 0x33000000u) return sign;  // below 2^-25: rounds to zero
  // Subnormal half: the value in units of 2^-24 is mantissa * 2^(exponent - 126).
  const std::uint32_t exponent = magnitude >> 23;
  const std::uint32_t mantissa = (magnitude & 0x7FFFFFu) | 0x800000u;
  const std::uint32_t shift = 126u - exponent;  // 14..24
  std::uint32_t result = mantissa >> shift;
  const std::uint32_t remainder = mantissa & ((1u << shift) - 1u);
  const std::uint32_t halfway = 1u << (shift - 1u);
  if (remainder > halfway || (remainder == halfway && (result & 1u) != 0)) ++result;
  return static_cast<std::uint16_t>(sign | result);
}

/// bfloat16 -> float: exact (bfloat16 is float's upper half).
inline float bfloat16_to_float(std::uint16_t b) noexcept {
  return float_from_bits(static_cast<std::uint32_t>(b) << 16);
}

/// float -> bfloat16, round to nearest even; NaN gives 0x7FC0 (c10's choice, sign dropped).
inline std::uint16_t float_to_bfloat16(float value) noexcept {
  const std::uint32_t bits = float_bits(value);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return 0x7FC0u;
  const std::uint32_t rounding_bias = 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>((bits + rounding_bias) >> 16);
}

}  // namespace seqnet::detail
