// SPDX-License-Identifier: MIT
// The packed-GEMM micro-kernel and its blocking loops, written once and compiled once per instruction
// set: each kernels/gemm_<isa>.hpp opens its own namespace, defines SEQNET_GEMM_TARGET (the function
// attributes that enable the instruction set), `this_kernel` (its GemmKernel) and `Vec<T>` (the
// vector operations), then includes this file. No include guard: it is meant to be included once per
// instruction set. Every function here carries SEQNET_GEMM_TARGET so the compiler may inline the
// intrinsics into it; no lambdas, because GCC does not pass the target attribute on to them.

#if defined(__clang__)
#define SEQNET_GEMM_UNROLL _Pragma("clang loop unroll(full)")
#elif defined(__GNUC__) && !defined(__CUDACC__)  // nvcc's front end rejects GCC's unroll pragma
#define SEQNET_GEMM_UNROLL _Pragma("GCC unroll 16")
#else
#define SEQNET_GEMM_UNROLL
#endif

#if defined(__GNUC__) || defined(__clang__)
#define SEQNET_GEMM_PREFETCH_L2(address) __builtin_prefetch((address), 0, 2)
#else
#define SEQNET_GEMM_PREFETCH_L2(address) ((void)(address))
#endif

/// One register tile: `out[ROWS, VECTORS * lanes] (+)= a_tile * b_panel (+ bias)` over `depth`.
/// `a` is a packed input tile (`depth` groups of `a_stride` rows), `b` a packed weight panel slice
/// (`depth` groups of `VECTORS * lanes` columns). Only the first `tail_lanes` lanes of the last vector
/// are real columns; the rest is padding and is neither read from `bias`/`out` nor written. One cache
/// line from `prefetch` onwards is fetched into L2 per step of k, `prefetch_lines` of them (the weight
/// slice the driver takes next).
template <typename T, int ROWS, int VECTORS, int A_STRIDE>
SEQNET_GEMM_TARGET void micro_tile(Eigen::Index depth, const T* a, const T* b, T* out, Eigen::Index out_stride,
                                   int tail_lanes, const T* bias, bool add_to_out, const T* prefetch,
                                   Eigen::Index prefetch_lines) {
  using V = Vec<T>;
  using Reg = typename V::Reg;
  constexpr int L = V::lanes;
  constexpr int B_STRIDE = VECTORS * L;
  // Too few accumulators leave the FMA pipes waiting on their own latency (two pipes, four cycles),
  // so narrow tiles keep several independent sums over k. The split depends on the tile's width only,
  // never on its row count: every row is then summed in the same order whichever tile it falls in, so a
  // row's result does not depend on how many rows the product has (streaming a sequence step by step
  // gives the bits of projecting it whole). Registers stay within the full tile's ROWS x FULL.
  constexpr int FULL = gemm_tile<T>(this_kernel).vectors;
  constexpr int SPLIT = VECTORS >= FULL ? 1 : (FULL / VECTORS > 4 ? 4 : FULL / VECTORS);

  Reg acc[SPLIT][ROWS][VECTORS];
  SEQNET_GEMM_UNROLL
  for (int s = 0; s < SPLIT; ++s) {
    SEQNET_GEMM_UNROLL
    for (int r = 0; r < ROWS; ++r) {
      SEQNET_GEMM_UNROLL
      for (int v = 0; v < VECTORS; ++v) acc[s][r][v] = V::zero();
    }
  }

  Eigen::Index k = 0;
  for (; k + SPLIT <= depth; k += SPLIT) {
    if (k < prefetch_lines) SEQNET_GEMM_PREFETCH_L2(prefetch + k * (64 / sizeof(T)));
    SEQNET_GEMM_UNROLL
    for (int s = 0; s < SPLIT; ++s) {
      const T* ak = a + (k + s) * A_STRIDE;
      const T* bk = b + (k + s) * B_STRIDE;
      Reg bv[VECTORS];
      SEQNET_GEMM_UNROLL
      for (int v = 0; v < VECTORS; ++v) bv[v] = ROWS > 1 ? V::load_pinned(bk + v * L) : V::load(bk + v * L);
      SEQNET_GEMM_UNROLL
      for (int r = 0; r < ROWS; ++r) {
        const Reg ar = V::broadcast(ak + r);
        SEQNET_GEMM_UNROLL
        for (int v = 0; v < VECTORS; ++v) acc[s][r][v] = V::fmadd(ar, bv[v], acc[s][r][v]);
      }
    }
  }
  for (; k < depth; ++k) {
    const T* ak = a + k * A_STRIDE;
    const T* bk = b + k * B_STRIDE;
    SEQNET_GEMM_UNROLL
    for (int r = 0; r < ROWS; ++r) {
      const Reg ar = V::broadcast(ak + r);
      SEQNET_GEMM_UNROLL
      for (int v = 0; v < VECTORS; ++v) acc[0][r][v] = V::fmadd(ar, V::load(bk + v * L), acc[0][r][v]);
    }
  }
  SEQNET_GEMM_UNROLL
  for (int s = 1; s < SPLIT; ++s) {
    SEQNET_GEMM_UNROLL
    for (int r = 0; r < ROWS; ++r) {
      SEQNET_GEMM_UNROLL
      for (int v = 0; v < VECTORS; ++v) acc[0][r][v] = V::add(acc[0][r][v], acc[s][r][v]);
    }
  }

  SEQNET_GEMM_UNROLL
  for (int r = 0; r < ROWS; ++r) {
    T* out_row = out + r * out_stride;
    SEQNET_GEMM_UNROLL
    for (int v = 0; v < VECTORS - 1; ++v) {
      Reg x = acc[0][r][v];
      if (bias != nullptr) x = V::add(x, V::load(bias + v * L));
      if (add_to_out) x = V::add(x, V::load(out_row + v * L));
      V::store(out_row + v * L, x);
    }
    constexpr int last = VECTORS - 1;
    Reg x = acc[0][r][last];
    if (tail_lanes == L) {
      if (bias != nullptr) x = V::add(x, V::load(bias + last * L));
      if (add_to_out) x = V::add(x, V::load(out_row + last * L));
      V::store(out_row + last * L, x);
    } else {
      if (bias != nullptr) x = V::add(x, V::load_partial(bias + last * L, tail_lanes));
      if (add_to_out) x = V::add(x, V::load_partial(out_row + last * L, tail_lanes));
      V::store_partial(out_row + last * L, x, tail_lanes);
    }
  }
}

template <typename T>
using MicroTileFunction = void (*)(Eigen::Index, const T*, const T*, T*, Eigen::Index, int, const T*, bool, const T*,
                                   Eigen::Index);

/// Every (rows, vectors) edge variant of the register tile, indexed by `(rows - 1) * VECTORS + vectors - 1`,
/// so edge tiles compute only what they store.
template <typename T, int MR, int VECTORS, int... I>
constexpr std::array<MicroTileFunction<T>, sizeof...(I)> micro_tile_table(std::integer_sequence<int, I...>) {
  return {{&micro_tile<T, I / VECTORS + 1, I % VECTORS + 1, MR>...}};
}

/// Whether `V` interleaves six rows of one vector each (`V::pack6`) for full 6-row input tiles.
template <typename V, typename = void>
struct HasPack6 : std::false_type {};
template <typename V>
struct HasPack6<V, std::void_t<decltype(V::has_pack6)>> : std::bool_constant<V::has_pack6> {};

/// How a block of input rows is cut into register tiles: whole tiles of MR rows, then the rest. A short
/// rest joins the last whole tile and the two are cut in nearly equal halves, since a tile of very few
/// rows runs far below the full tile's rate per row (measurements: docs/performance.md, "Kernel design
/// measurements"). The count stays ceil(rows / MR), each tile packed MR rows apart. Tile heights never change a row's result (see micro_tile), so the cut may depend on the
/// row count.
template <int MR>
struct RowTiles {
  Eigen::Index count = 0;  ///< tiles
  Eigen::Index whole = 0;  ///< leading tiles of MR rows
  int last[2] = {0, 0};    ///< heights of the tiles after them

  explicit RowTiles(Eigen::Index rows) {
    const Eigen::Index quotient = rows / MR;
    const int rest = static_cast<int>(rows % MR);
    count = quotient + (rest > 0 ? 1 : 0);
    whole = quotient;
    if (rest > 0 && rest <= MR / 2 && (rest == 1 ? quotient >= 1 : quotient >= 2)) {
      whole = quotient - 1;
      last[0] = (MR + rest + 1) / 2;
      last[1] = (MR + rest) / 2;
    } else {
      last[0] = rest;
    }
  }
  Eigen::Index begin(Eigen::Index tile) const { return tile <= whole ? tile * MR : whole * MR + last[0]; }
  int height(Eigen::Index tile) const { return tile < whole ? MR : last[tile - whole]; }
};

/// Copies `rows x depth` inputs (row stride `stride`) into tiles of up to MR rows cut as RowTiles says:
/// tile t, at `packed + t * MR * depth`, holds for each k its rows' values side by side (MR apart), so the
/// micro-kernel reads them with unit stride.
template <typename T, int MR>
SEQNET_GEMM_TARGET void pack_input(const T* input, Eigen::Index stride, Eigen::Index rows, Eigen::Index depth, T* packed) {
  const RowTiles<MR> tiles(rows);
  for (Eigen::Index t = 0; t < tiles.count; ++t) {
    const int tile_rows = tiles.height(t);
    T* tile = packed + t * MR * depth;
    const T* source = input + tiles.begin(t) * stride;
    Eigen::Index k = 0;
    if constexpr (MR == 6 && HasPack6<Vec<T>>::value) {
      for (; k + Vec<T>::lanes <= depth; k += Vec<T>::lanes) Vec<T>::pack6(source + k, stride, tile_rows, tile + k * MR);
    }
    if (tile_rows == MR) {
      for (; k < depth; ++k) {
        SEQNET_GEMM_UNROLL
        for (int r = 0; r < MR; ++r) tile[k * MR + r] = source[r * stride + k];
      }
    } else {
      for (; k < depth; ++k)
        for (int r = 0; r < tile_rows; ++r) tile[k * MR + r] = source[r * stride + k];
    }
  }
}

/// Copies columns `[c_begin, c_end)` of a weight panel over depth `[k_begin, k_end)` one element at a
/// time, in small depth blocks that keep both the reads (along weight rows) and the writes (along panel
/// rows) within a few cache lines.
template <typename T>
SEQNET_GEMM_TARGET void copy_panel_elements(const T* source, Eigen::Index stride, T* panel, Eigen::Index width,
                                            Eigen::Index c_begin, Eigen::Index c_end, Eigen::Index k_begin,
                                            Eigen::Index k_end) {
  constexpr Eigen::Index depth_step = 16;
  for (Eigen::Index k0 = k_begin; k0 < k_end; k0 += depth_step) {
    const Eigen::Index k1 = k_end - k0 < depth_step ? k_end : k0 + depth_step;
    for (Eigen::Index c = c_begin; c < c_end; ++c)
      for (Eigen::Index k = k0; k < k1; ++k) panel[k * width + c] = source[c * stride + k];
  }
}

/// Packs `W[out_features, in_features]` (rows `stride` apart) into the panel layout GemmProblem describes.
/// Whole groups of `lanes` columns go through the vector unit's transpose when `Vec<T>` has one (in a
/// partial last panel too: a small layer is all partial panel); the other columns and the depth past the
/// last whole group are copied one element at a time, and the padding columns are zeroed.
template <typename T>
SEQNET_GEMM_TARGET void pack_weight(const T* weight, Eigen::Index out_features, Eigen::Index in_features,
                                    Eigen::Index stride, T* packed) {
  constexpr GemmTile tile = gemm_tile<T>(this_kernel);
  constexpr Eigen::Index NR = tile.panel_width(), L = tile.lanes;
  for (Eigen::Index col0 = 0; col0 < out_features; col0 += NR) {
    const Eigen::Index real = out_features - col0 < NR ? out_features - col0 : NR;
    const Eigen::Index width = (real + L - 1) / L * L;
    const T* source = weight + col0 * stride;
    T* panel = packed + col0 * in_features;
    const Eigen::Index transposed_cols = Vec<T>::has_transpose ? real / L * L : 0;
    Eigen::Index k_done = 0;
    if (transposed_cols > 0) {
      for (; k_done + L <= in_features; k_done += L)
        for (Eigen::Index c0 = 0; c0 < transposed_cols; c0 += L)
          Vec<T>::transpose(source + c0 * stride + k_done, stride, panel + k_done * width + c0, width);
    }
    copy_panel_elements(source, stride, panel, width, transposed_cols, real, 0, k_done);
    copy_panel_elements(source, stride, panel, width, 0, real, k_done, in_features);
    if (real < width)
      for (Eigen::Index k = 0; k < in_features; ++k)
        for (Eigen::Index c = real; c < width; ++c) panel[k * width + c] = T(0);
  }
}

/// The blocking loops (BLIS order without the outer column block, since the weight is packed already):
/// for each block of MC input rows and each group of up to `slices_per_block` KC slices of the depth,
/// pack that input block (L2), then for each weight panel run every row tile over the group's slices in
/// depth order (the panel slice from L2, the output tile staying in L1 between slices). Every output
/// element is summed slice by slice in the same order whatever the grouping, row count or panel range.
template <typename T>
SEQNET_GEMM_TARGET void gemm(const GemmProblem<T>& p) {
  constexpr GemmTile tile = gemm_tile<T>(this_kernel);
  constexpr int MR = tile.rows, VECTORS = tile.vectors, L = tile.lanes, NR = tile.panel_width();
  static_assert(L == Vec<T>::lanes, "tile and vector width disagree");
  static constexpr auto table = micro_tile_table<T, MR, VECTORS>(std::make_integer_sequence<int, MR * VECTORS>());

  // Equal depth slices (K = 512 as 256 + 256 rather than 384 + 128): a short last slice would pay a
  // full pass over the output for little work.
  const Eigen::Index slices = (p.depth + tile.depth_block - 1) / tile.depth_block;
  const Eigen::Index slice_depth = (p.depth + slices - 1) / slices;
  const Eigen::Index group_depth = slice_depth * tile.slices_per_block;
  for (Eigen::Index row0 = 0; row0 < p.rows; row0 += p.row_block) {
    const Eigen::Index block_rows = p.rows - row0 < p.row_block ? p.rows - row0 : p.row_block;
    const RowTiles<MR> tiles(block_rows);
    const Eigen::Index tile_rows = tiles.count * MR;
    for (Eigen::Index g0 = 0; g0 < p.depth; g0 += group_depth) {
      const Eigen::Index g1 = p.depth - g0 < group_depth ? p.depth : g0 + group_depth;
      // Slice k0 of the group is packed at workspace + tile_rows * (k0 - g0).
      for (Eigen::Index k0 = g0; k0 < g1; k0 += slice_depth) {
        const Eigen::Index block_depth = g1 - k0 < slice_depth ? g1 - k0 : slice_depth;
        pack_input<T, MR>(p.input + row0 * p.input_stride + k0, p.input_stride, block_rows, block_depth,
                          p.workspace + tile_rows * (k0 - g0));
      }
      for (Eigen::Index panel = p.panel_begin; panel < p.panel_end; ++panel) {
        const Eigen::Index col0 = panel * NR;
        const Eigen::Index width = p.cols - col0 < NR ? p.cols - col0 : NR;
        const int vectors = static_cast<int>((width + L - 1) / L);
        const int tail_lanes = static_cast<int>(width - (vectors - 1) * L);
        T* out = p.output + row0 * p.output_stride + col0;
        for (Eigen::Index k0 = g0; k0 < g1; k0 += slice_depth) {
          const Eigen::Index block_depth = g1 - k0 < slice_depth ? g1 - k0 : slice_depth;
          const bool first_slice = k0 == 0;
          const bool add_to_out = !first_slice || p.accumulate;
          const T* b = p.packed_weight + col0 * p.depth + k0 * vectors * L;
          const T* bias = first_slice && p.bias != nullptr ? p.bias + col0 : nullptr;
          const T* a = p.workspace + tile_rows * (k0 - g0);
          // The weight slice taken next (the panel's next slice, or the next panel's first of this group)
          // is fetched into L2 while this one runs, a share per row tile: the hardware prefetcher sees
          // each tile re-read the current slice from its start and does not run ahead into the next. It
          // pays on deep slices only (docs/performance.md, "Kernel design measurements").
          const bool prefetch_next = block_depth > 256;
          const T* next = !prefetch_next              ? nullptr
                          : k0 + slice_depth < g1     ? b + block_depth * vectors * L
                          : panel + 1 < p.panel_end ? p.packed_weight + (col0 + NR) * p.depth + g0 * NR
                                                    : nullptr;
          const Eigen::Index next_lines = next != nullptr ? (block_depth * NR * Eigen::Index(sizeof(T)) + 63) / 64 : 0;
          const Eigen::Index lines_per_tile = (next_lines + tiles.count - 1) / tiles.count;
          for (Eigen::Index t = 0; t < tiles.count; ++t) {
            const int rows = tiles.height(t);
            const Eigen::Index first_line = t * lines_per_tile;
            const Eigen::Index lines = next_lines - first_line < lines_per_tile ? next_lines - first_line : lines_per_tile;
            table[static_cast<std::size_t>((rows - 1) * VECTORS + vectors - 1)](
                block_depth, a + t * MR * block_depth, b, out + tiles.begin(t) * p.output_stride, p.output_stride,
                tail_lanes, bias, add_to_out, next != nullptr ? next + first_line * (64 / Eigen::Index(sizeof(T))) : nullptr,
                lines > 0 ? lines : 0);
          }
        }
      }
    }
  }
}

#undef SEQNET_GEMM_UNROLL
#undef SEQNET_GEMM_PREFETCH_L2
