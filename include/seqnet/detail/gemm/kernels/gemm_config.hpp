// SPDX-License-Identifier: MIT
/// @file gemm_config.hpp
/// Shared vocabulary of the packed GEMM (see packed_gemm.hpp): the kernel identifiers, each kernel's
/// register tile and cache blocking, the panel layout of a packed weight, and the problem descriptor
/// the per-ISA drivers receive. Kept apart from the kernels so the workspace can be sized without
/// compiling any of them.
#pragma once

#include <cstddef>
#include <cstdint>

#include <Eigen/Core>

// The x86 kernels use GCC/clang function multiversioning (`__attribute__((target))` plus
// `__builtin_cpu_supports`), so a default build without -march flags still carries them. Other
// compilers and architectures get the portable kernel only. Define SEQNET_GEMM_PORTABLE_ONLY to opt out.
#if !defined(SEQNET_GEMM_PORTABLE_ONLY) && (defined(__GNUC__) || defined(__clang__)) && !defined(_MSC_VER) && \
    (defined(__x86_64__) || defined(__i386__))
#define SEQNET_GEMM_HAVE_X86_KERNELS 1
#else
#define SEQNET_GEMM_HAVE_X86_KERNELS 0
#endif

#if SEQNET_GEMM_HAVE_X86_KERNELS
// Forces the vector variable `x` into a register (an empty asm that claims to read and write it there).
// The x86 kernels' `Vec::load_pinned` use it: GCC otherwise folds a weight vector that several rows of a
// narrow tile multiply into each of their FMAs as a memory operand, turning one load into one per row, and
// tiles of 2 to 4 rows become load-bound (a 4 x 64 fp32 tile ran at 70% of the 6 x 64 tile's rate per row).
#define SEQNET_GEMM_PIN_REGISTER(x) __asm__("" : "+v"(x))
#endif

namespace seqnet::detail {

/// The micro-kernels a packed weight can be laid out for. `Auto` picks the best one the running CPU
/// supports (decided once per process).
enum class GemmKernel { Auto, Portable, Avx2, Avx512 };

inline const char* gemm_kernel_name(GemmKernel kernel) {
  switch (kernel) {
    case GemmKernel::Auto: return "auto";
    case GemmKernel::Portable: return "portable";
    case GemmKernel::Avx2: return "avx2";
    case GemmKernel::Avx512: return "avx512";
  }
  return "unknown";
}

/// A kernel's register tile (`rows` x `vectors * lanes` outputs held in registers) and its cache
/// blocking: `row_block` rows of the input are packed at a time (`row_block x depth_block` elements
/// should stay in L2), and the depth is cut into slices of at most `depth_block` so that one packed
/// weight panel slice (`depth_block x vectors * lanes`) stays in L1 or L2 while every row tile of the
/// block passes over it.
struct GemmTile {
  int rows;         ///< MR: output rows per micro-tile
  int vectors;      ///< output vectors per micro-tile row
  int lanes;        ///< elements per vector register
  int row_block;    ///< MC, a multiple of `rows`
  int depth_block;  ///< KC
  /// Depth slices packed together for one row block (their inputs stay in L2 side by side), so each
  /// output tile takes all of them while it is in L1 instead of one pass over the outputs per slice.
  int slices_per_block = 1;
  constexpr int panel_width() const { return vectors * lanes; }  ///< NR
};

/// AVX-512: tuned on an AMD EPYC Zen 5 core (48 KiB L1d, 1 MiB L2, full-width 512-bit FMA), where the
/// 6 x 64 fp32 tile runs at ~97% of the FMA peak; 144 rows keep a 128-row recurrent batch in one row
/// block, so the weight streams from L3 once per product. A depth block of 384 fp32 (a 96 KiB panel
/// slice, which lives in L2 rather than L1) measured as fast as 256; three of them (K up to 1152, a
/// 650 KiB input block) are packed together, so an output tile is read and written once for all three.
/// AVX2: sized for 32 KiB L1d / 256 KiB L2 cores. See bench/bench_gemm.cpp.
template <typename T>
constexpr GemmTile gemm_tile(GemmKernel kernel) {
  constexpr bool is_float = sizeof(T) == 4;
  switch (kernel) {
    case GemmKernel::Avx512: return is_float ? GemmTile{6, 4, 16, 144, 384, 3} : GemmTile{6, 4, 8, 144, 256, 2};
    case GemmKernel::Avx2: return is_float ? GemmTile{6, 2, 8, 96, 256} : GemmTile{6, 2, 4, 96, 256};
    default: return is_float ? GemmTile{4, 2, 8, 64, 256} : GemmTile{4, 2, 4, 64, 256};
  }
}

/// Everything a kernel driver needs for `c = a * w^T + bias` (or `c += ...`), all sizes checked by
/// the caller. `packed_weight` holds ceil(cols / NR) panels; panel `j` starts at `j * NR * depth` and
/// stores, for each k, `width` consecutive output columns (`width` = NR, or the last panel's column
/// count rounded up to whole vectors, zero-padded).
template <typename T>
struct GemmProblem {
  const T* input;
  Eigen::Index input_stride;
  Eigen::Index rows;   ///< M
  Eigen::Index depth;  ///< K
  const T* packed_weight;
  Eigen::Index cols;  ///< N
  Eigen::Index panel_begin;  ///< first weight panel to compute (a thread's share of the columns)
  Eigen::Index panel_end;    ///< one past the last
  T* output;
  Eigen::Index output_stride;
  const T* bias;    ///< null: no bias
  bool accumulate;  ///< add to `output` instead of overwriting it
  T* workspace;     ///< 64-byte aligned, at least `packed_input_elements` elements
};

inline constexpr std::size_t gemm_alignment = 64;

/// Elements of packed-input space a kernel needs for `rows x depth` inputs.
template <typename T>
constexpr Eigen::Index packed_input_elements(GemmKernel kernel, Eigen::Index rows, Eigen::Index depth) {
  const GemmTile tile = gemm_tile<T>(kernel);
  const Eigen::Index block_rows = rows < tile.row_block ? rows : tile.row_block;
  const Eigen::Index rounded_rows = (block_rows + tile.rows - 1) / tile.rows * tile.rows;
  const Eigen::Index grouped_depth = Eigen::Index(tile.depth_block) * tile.slices_per_block;
  return rounded_rows * (depth < grouped_depth ? depth : grouped_depth);
}

}  // namespace seqnet::detail
