// SPDX-License-Identifier: MIT
/// @file denormals.hpp
/// `set_flush_denormal`, like `torch.set_flush_denormal`.
#pragma once

#include "detail/util/fp_mode.hpp"

namespace seqnet {

/// Makes the calling thread treat denormal (subnormal) floats as zero, like `torch.set_flush_denormal`:
/// operands below the smallest normal number read as zero and such results are written as zero. Both
/// are the x86 MXCSR's FTZ and DAZ bits, so this returns false (and does nothing) on a CPU without SSE2.
/// seqnet's worker threads run each forward call in the mode of the thread that made it.
///
/// Why: arithmetic on denormals is microcoded on x86, and a recurrence whose state decays towards zero
/// (or inputs of about 1e-39) can make a forward call tens of times slower (docs/reliability.md
/// measures it). Flushed, those values become 0, which changes results only below about 1.2e-38 (fp32)
/// or 2.2e-308 (fp64). Like every MXCSR setting, it applies to all code on the thread, not only seqnet's.
inline bool set_flush_denormal(bool on) noexcept {
  if (!SEQNET_HAVE_FP_MODE) return false;
  detail::set_fp_mode(on ? detail::flush_denormal_bits : 0u);
  return true;
}

/// Whether the calling thread flushes denormals (`set_flush_denormal(true)` was called on it).
inline bool flush_denormal() noexcept {
  return SEQNET_HAVE_FP_MODE && detail::fp_mode() == detail::flush_denormal_bits;
}

}  // namespace seqnet
