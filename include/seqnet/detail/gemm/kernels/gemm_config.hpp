// SPDX-License-Identifier: MIT
/// @file gemm_config.hpp
/// Shared vocabulary of the packed GEMM (see gemm/packed.hpp): what selects a kernel (`GemmKey`: the
/// instruction set and the input, weight and accumulator types), each kernel's register tile, the cache
/// blocking derived from the CPU's caches, the panel layout of a packed weight, and the problem
/// descriptor the kernels receive. Kept apart from the kernels so the workspace can be sized without
/// compiling any of them.
#pragma once

#include <cstddef>
#include <cstdint>

#include <Eigen/Core>

#if defined(__linux__)
#include <unistd.h>
#endif

#include "../../../dtype.hpp"

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
// tiles of 2 to 4 rows become load-bound.
#define SEQNET_GEMM_PIN_REGISTER(x) __asm__("" : "+v"(x))
#endif

namespace seqnet::detail {

/// The instruction sets a packed weight can be laid out for. `Auto` picks the best one the running CPU
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

/// The element types of one product: the input rows, the packed weight, and the sums (bias and output
/// are accumulator-typed). Today's kernels all have one type for the three; a bf16 kernel would be
/// `GemmTypes<bf16, bf16, float>`, an int8 one `GemmTypes<std::uint8_t, std::int8_t, std::int32_t>`.
template <typename Input, typename Weight = Input, typename Accumulator = Input>
struct GemmTypes {
  using input = Input;
  using weight = Weight;
  using accumulator = Accumulator;
};

/// What selects a kernel: its instruction set and the element types it multiplies.
struct GemmKey {
  GemmKernel isa;
  Dtype input;
  Dtype weight;
  Dtype accumulator;
};

template <typename Types>
constexpr GemmKey gemm_key(GemmKernel isa) {
  return {isa, dtype_of<typename Types::input>(), dtype_of<typename Types::weight>(),
          dtype_of<typename Types::accumulator>()};
}

/// A kernel's register tile (`rows` x `vectors * lanes` outputs held in registers) and its depth
/// blocking: the depth is cut into slices of at most `depth_block` so that one packed weight panel
/// slice (`depth_block x vectors * lanes`) stays in L1 or L2 while every row tile of a row block passes
/// over it. These are fixed per key, never read from the machine: the depth slices fix the order of the
/// sums, so a kernel gives the same bits on every CPU that runs it. The row block (`gemm_row_block`) is
/// derived from the CPU's L2 and changes no result.
struct GemmTile {
  int rows;         ///< MR: output rows per micro-tile
  int vectors;      ///< output vectors per micro-tile row
  int lanes;        ///< elements per vector register
  int depth_block;  ///< KC
  /// Depth slices packed together for one row block (their inputs stay in L2 side by side), so each
  /// output tile takes all of them while it is in L1 instead of one pass over the outputs per slice.
  int slices_per_block = 1;
  constexpr int panel_width() const { return vectors * lanes; }  ///< NR
  constexpr bool exists() const { return rows > 0; }
};

/// The tile of each key that has a kernel (performance.md has the measurements behind them); keys
/// without a kernel get an empty tile (`exists()` false).
constexpr GemmTile gemm_tile(const GemmKey& key) {
  const bool same = key.input == key.weight && key.weight == key.accumulator;
  const bool f32 = same && key.accumulator == Dtype::F32, f64 = same && key.accumulator == Dtype::F64;
  if (!f32 && !f64) return GemmTile{0, 0, 0, 0, 1};
  switch (key.isa) {
    case GemmKernel::Avx512: return f32 ? GemmTile{6, 4, 16, 384, 3} : GemmTile{6, 4, 8, 256, 2};
    case GemmKernel::Avx2: return f32 ? GemmTile{6, 2, 8, 256} : GemmTile{6, 2, 4, 256};
    default: return f32 ? GemmTile{4, 2, 8, 256} : GemmTile{4, 2, 4, 256};
  }
}

/// The tile of the same-type kernel for `T` on `kernel`.
template <typename T>
constexpr GemmTile gemm_tile(GemmKernel kernel) {
  return gemm_tile(gemm_key<GemmTypes<T>>(kernel));
}

/// The data cache sizes the CPU reports for one core, in bytes (Linux: sysconf, which reads CPUID on x86
/// and the device tree or sysfs elsewhere). Where nothing is reported: 32 KiB and 1 MiB. Defining
/// SEQNET_GEMM_L2_BYTES overrides the L2 size (cross-builds for a known target, experiments).
struct CacheSizes {
  Eigen::Index l1d;
  Eigen::Index l2;
};

inline CacheSizes read_cache_sizes() {
  CacheSizes sizes{32 * 1024, 1024 * 1024};
#if defined(__linux__) && defined(_SC_LEVEL2_CACHE_SIZE)
  const long l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE), l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
  if (l1 > 0) sizes.l1d = l1;
  if (l2 > 0) sizes.l2 = l2;
#endif
#if defined(SEQNET_GEMM_L2_BYTES)
  sizes.l2 = SEQNET_GEMM_L2_BYTES;
#endif
  return sizes;
}

/// This CPU's cache sizes, read once per process.
inline const CacheSizes& cpu_cache_sizes() {
  static const CacheSizes sizes = read_cache_sizes();
  return sizes;
}

/// MC: input rows a kernel packs at a time, for a core with `l1_bytes` of L1 data cache and `l2_bytes` of
/// L2. Two limits, each from what the blocking keeps where:
///   - L2 holds the packed input block (`MC x depth_block x slices_per_block` inputs): it may take 5/8 of
///     L2, the rest being for the weight panel slices streaming through;
///   - L1 holds the block's output rows of one weight panel (`MC x NR` sums) from one depth slice to the
///     next when several slices are packed together: they may take 3/4 of L1.
/// The L2 limit is rounded to the nearest whole tile, the L1 limit down; then at least 8 tiles and at
/// most 512 rows. On a Zen 5 core (48 KiB L1, 1 MiB L2) this gives the 144 rows tuned there by hand, and
/// on an Intel Xeon with 2 MiB of L2 the L1 keeps it at 144 (282 from L2 alone measured up to 5% slower).
inline Eigen::Index gemm_row_block(const GemmKey& key, Eigen::Index l1_bytes, Eigen::Index l2_bytes) {
  const GemmTile tile = gemm_tile(key);
  if (!tile.exists()) return 1;
  const Eigen::Index input_bytes = static_cast<Eigen::Index>(dtype_size(key.input));
  const Eigen::Index row_bytes = Eigen::Index(tile.depth_block) * tile.slices_per_block * input_bytes;
  const Eigen::Index fit = l2_bytes * 5 / 8 / row_bytes;
  Eigen::Index rows = (fit + tile.rows / 2) / tile.rows * tile.rows;
  if (tile.slices_per_block > 1) {
    const Eigen::Index output_row_bytes =
        Eigen::Index(tile.panel_width()) * static_cast<Eigen::Index>(dtype_size(key.accumulator));
    const Eigen::Index l1_rows = l1_bytes * 3 / 4 / output_row_bytes / tile.rows * tile.rows;
    rows = rows < l1_rows ? rows : l1_rows;
  }
  const Eigen::Index lowest = Eigen::Index(8) * tile.rows, highest = 512 / tile.rows * tile.rows;
  return rows < lowest ? lowest : rows > highest ? highest : rows;
}

/// MC on this CPU.
inline Eigen::Index gemm_row_block(const GemmKey& key) {
  return gemm_row_block(key, cpu_cache_sizes().l1d, cpu_cache_sizes().l2);
}

/// What sizes a kernel's packed input block, per same-type kernel for `T` on this CPU.
struct GemmBlocking {
  Eigen::Index row_block;      ///< MC
  Eigen::Index tile_rows;      ///< MR
  Eigen::Index grouped_depth;  ///< KC times the slices packed together
};

inline GemmBlocking blocking_of(const GemmKey& key) {
  const GemmTile tile = gemm_tile(key);
  return {gemm_row_block(key), tile.rows, Eigen::Index(tile.depth_block) * tile.slices_per_block};
}

/// The blocking of each kernel (indexed by `GemmKernel`), derived once: products ask for it on every call.
template <typename T>
const GemmBlocking& gemm_blocking(GemmKernel kernel) {
  static const GemmBlocking table[4] = {GemmBlocking{1, 1, 1}, blocking_of(gemm_key<GemmTypes<T>>(GemmKernel::Portable)),
                                        blocking_of(gemm_key<GemmTypes<T>>(GemmKernel::Avx2)),
                                        blocking_of(gemm_key<GemmTypes<T>>(GemmKernel::Avx512))};
  return table[static_cast<int>(kernel)];
}

/// Everything a kernel needs for `c = a * w^T + bias` (or `c += ...`), all sizes checked by the
/// caller. `packed_weight` holds ceil(cols / NR) panels; panel `j` starts at `j * NR * depth` and
/// stores, for each k, `width` consecutive output columns (`width` = NR, or the last panel's column
/// count rounded up to whole vectors, zero-padded).
template <typename Types>
struct GemmProblemOf {
  using Input = typename Types::input;
  using Weight = typename Types::weight;
  using Accumulator = typename Types::accumulator;
  const Input* input;
  Eigen::Index input_stride;
  Eigen::Index rows;   ///< M
  Eigen::Index depth;  ///< K
  const Weight* packed_weight;
  Eigen::Index cols;         ///< N
  Eigen::Index panel_begin;  ///< first weight panel to compute (a thread's share of the columns)
  Eigen::Index panel_end;    ///< one past the last
  Accumulator* output;
  Eigen::Index output_stride;
  const Accumulator* bias;  ///< null: no bias
  bool accumulate;          ///< add to `output` instead of overwriting it
  Input* workspace;         ///< 64-byte aligned, at least `packed_input_elements` elements
  Eigen::Index row_block;   ///< MC (`gemm_row_block`), a multiple of the tile's rows
};
template <typename T>
using GemmProblem = GemmProblemOf<GemmTypes<T>>;

/// The kernel of one key. Each kernels/gemm_<isa>.hpp specializes it for the element types it
/// multiplies, with `static void pack_weight(const Weight*, N, K, stride, Weight* packed)` and
/// `static void gemm(const GemmProblemOf<Types>&)`; a bf16 or int8 kernel is a sibling file adding its
/// own specialization (and its tile to `gemm_tile`). Keys nobody specializes are not available.
template <GemmKernel Isa, typename Types, typename Enable = void>
struct GemmKernelImpl {
  static constexpr bool available = false;
};

inline constexpr std::size_t gemm_alignment = 64;

/// Elements of packed-input space a kernel blocked as `b` needs for `rows x depth` inputs.
inline Eigen::Index packed_input_elements(const GemmBlocking& b, Eigen::Index rows, Eigen::Index depth) {
  const Eigen::Index block_rows = rows < b.row_block ? rows : b.row_block;
  const Eigen::Index rounded_rows = (block_rows + b.tile_rows - 1) / b.tile_rows * b.tile_rows;
  return rounded_rows * (depth < b.grouped_depth ? depth : b.grouped_depth);
}

/// The same for the same-type kernel `kernel` of `T` on this CPU.
template <typename T>
Eigen::Index packed_input_elements(GemmKernel kernel, Eigen::Index rows, Eigen::Index depth) {
  return packed_input_elements(gemm_blocking<T>(kernel), rows, depth);
}

}  // namespace seqnet::detail
