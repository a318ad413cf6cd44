// SPDX-License-Identifier: MIT
/// @file fp_mode.hpp
/// The calling thread's denormal handling (x86 MXCSR flush-to-zero and denormals-are-zero bits), read and
/// set cheaply so that seqnet's worker threads can run a region in the mode of the thread that started it.
#pragma once

#if defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
#include <xmmintrin.h>
#define SEQNET_HAVE_FP_MODE 1
#else
#define SEQNET_HAVE_FP_MODE 0
#endif

namespace seqnet::detail {

#if SEQNET_HAVE_FP_MODE
/// MXCSR's FTZ (bit 15: denormal results become zero) and DAZ (bit 6: denormal operands read as zero).
constexpr unsigned flush_denormal_bits = 0x8040u;
inline unsigned fp_mode() noexcept { return _mm_getcsr() & flush_denormal_bits; }
inline void set_fp_mode(unsigned mode) noexcept {
  const unsigned csr = _mm_getcsr();
  if ((csr & flush_denormal_bits) != mode) _mm_setcsr((csr & ~flush_denormal_bits) | mode);
}
#else
constexpr unsigned flush_denormal_bits = 0;
inline unsigned fp_mode() noexcept { return 0; }
inline void set_fp_mode(unsigned) noexcept {}
#endif

}  // namespace seqnet::detail
