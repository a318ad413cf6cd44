// SPDX-License-Identifier: MIT
/// @file packed.hpp
/// A GEMM for the recurrent layers, `out[M, N] = in[M, K] * W[N, K]^T + bias[N]` (PyTorch's `F.linear`
/// layout, row-major), with the weight packed once and reused for many products.
///
/// Usage (no heap allocation after the first two lines, so it can sit inside a time-step loop):
/// @code
///   PackedWeight<float> w_hh(weight_hh, 4 * H, H, H);          // pack W[N, K] once (row stride H)
///   std::vector<float> ws(packed_linear_workspace_size<float>(batch, H));  // once, before the loop
///   for (t ...)                                                // per step: packs only the input rows
///     packed_linear<float>({h_prev, batch, H, h_stride}, w_hh, bias_hh, {gates, batch, 4 * H, 4 * H},
///                          ws.data(), static_cast<Index>(ws.size()));
/// @endcode
///
/// - `PackedWeight<T>` owns 64-byte aligned storage; `pack()` with the same shape reuses it, so a module
///   can re-pack after a parameter update without reallocating.
/// - The workspace is any `T` buffer of at least `packed_linear_workspace_size<T>(rows, depth)`
///   elements (alignment is handled inside). The size grows with `rows` and `depth` only up to one
///   cache block (`gemm_row_block` rows, at most 512, of up to three depth slices, plus 64 bytes), never
///   depends on the kernel, and a buffer sized for the largest call serves every smaller one (e.g. the
///   input projection and the steps).
/// - Input and output rows may be strided (`stride` >= `cols`); the output must not overlap the input.
///   `bias` may be null; with `accumulate` the product (and bias) is added to `out` instead of
///   overwriting it.
/// - Kernels: AVX-512F, AVX2+FMA (x86 with GCC or clang, compiled with target attributes, so a default
///   build without -march flags carries them) and portable C++. `GemmKernel::Auto` picks the best the
///   CPU supports, decided once per process; a weight records the kernel it was packed for
///   (`PackedWeight::kernel()`), and every product with it uses that kernel. Passing a kernel
///   explicitly forces it (tests, benchmarks); `gemm_kernel_supported()` says which may be forced.
/// - Cost: packing is a transpose (~20 us for a 1024 x 256 fp32 weight, ~1 ms for 4096 x 1024), so a
///   weight is best packed once per forward call at the latest, ideally once per parameter update.
///   One path serves every M: a batch of 1 (GEMV) runs the 1-row register tile, which keeps several
///   partial sums per output vector so the FMA latency stays hidden; it reads the packed weight once.
/// - Eigen: an overload takes `Eigen::Map<[const] RowMajor matrix, Unaligned, OuterStride<>>` (gemm.hpp's
///   ConstMatrixView / MatrixView) for `in` and `out`.
/// - Thread safety: a packed weight is read-only during products, so any number of threads may use one
///   weight at the same time, each with its own workspace. There is no mutable global state besides
///   the once-initialised CPU detection. To split one product across threads, give each thread a
///   disjoint range of the weight's column panels (`packed_linear_panels`) and its own workspace.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <Eigen/Core>

#include "kernels/gemm_avx2.hpp"
#include "kernels/gemm_avx512.hpp"
#include "kernels/gemm_config.hpp"
#include "kernels/gemm_portable.hpp"

namespace seqnet::detail {

/// Whether this build has `kernel` and the running CPU can execute it (`Auto` and `Portable`: always).
inline bool gemm_kernel_supported(GemmKernel kernel) {
  switch (kernel) {
    case GemmKernel::Auto:
    case GemmKernel::Portable: return true;
#if SEQNET_GEMM_HAVE_X86_KERNELS
    case GemmKernel::Avx2: __builtin_cpu_init(); return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case GemmKernel::Avx512: __builtin_cpu_init(); return __builtin_cpu_supports("avx512f");
#else
    case GemmKernel::Avx2:
    case GemmKernel::Avx512: return false;
#endif
  }
  return false;
}

/// The kernel `GemmKernel::Auto` stands for on this CPU (detected once, thread-safely). Defining
/// SEQNET_GEMM_NO_AVX512 makes it stop at AVX2 (the GEMM and the fused gates an AVX2-only CPU runs), so an
/// AVX-512 machine can test that path end to end (tests/CMakeLists.txt: seqnet_avx2_tests).
inline GemmKernel best_gemm_kernel() {
#if defined(SEQNET_GEMM_NO_AVX512)
  constexpr bool avx512_allowed = false;
#else
  constexpr bool avx512_allowed = true;
#endif
  static const GemmKernel best = avx512_allowed && gemm_kernel_supported(GemmKernel::Avx512) ? GemmKernel::Avx512
                                 : gemm_kernel_supported(GemmKernel::Avx2) ? GemmKernel::Avx2
                                                                           : GemmKernel::Portable;
  return best;
}

/// Calls `f(GemmKernelImpl<isa, Types>{})`: the kernel of the key (`isa`, `Types`), or the portable one
/// where this build has no `isa` kernel for these types.
template <typename Types, typename F>
void with_gemm_kernel(GemmKernel isa, F&& f) {
  (void)isa;  // builds without x86 kernels have only the portable one
#if SEQNET_GEMM_HAVE_X86_KERNELS
  if constexpr (GemmKernelImpl<GemmKernel::Avx512, Types>::available) {
    if (isa == GemmKernel::Avx512) return f(GemmKernelImpl<GemmKernel::Avx512, Types>{});
  }
  if constexpr (GemmKernelImpl<GemmKernel::Avx2, Types>::available) {
    if (isa == GemmKernel::Avx2) return f(GemmKernelImpl<GemmKernel::Avx2, Types>{});
  }
#endif
  static_assert(GemmKernelImpl<GemmKernel::Portable, Types>::available, "no portable GEMM kernel for these types");
  f(GemmKernelImpl<GemmKernel::Portable, Types>{});
}

/// Workspace elements a `packed_linear` call on `rows x depth` inputs needs, whatever the kernel.
template <typename T>
Eigen::Index packed_linear_workspace_size(Eigen::Index rows, Eigen::Index depth) {
  Eigen::Index size = 0;
  for (GemmKernel kernel : {GemmKernel::Portable, GemmKernel::Avx2, GemmKernel::Avx512})
    size = std::max(size, packed_input_elements<T>(kernel, rows, depth));
  return size + static_cast<Eigen::Index>(gemm_alignment / sizeof(T));  // room to align the start
}

/// A read-only row-major matrix inside a larger buffer: `rows` rows of `cols` elements, `stride` apart.
template <typename T>
struct ConstRowsView {
  const T* data;
  Eigen::Index rows;
  Eigen::Index cols;
  Eigen::Index stride;
};
/// A writable row-major matrix inside a larger buffer.
template <typename T>
struct RowsView {
  T* data;
  Eigen::Index rows;
  Eigen::Index cols;
  Eigen::Index stride;
};

/// A weight `W[N, K]` (PyTorch layout: one row per output) packed into column panels for one kernel.
template <typename T>
class PackedWeight {
  static_assert(std::is_same<T, float>::value || std::is_same<T, double>::value, "PackedWeight<float or double>");

 public:
  /// An empty weight to be packed later, laid out for `kernel`.
  explicit PackedWeight(GemmKernel kernel = GemmKernel::Auto)
      : kernel_(resolve(kernel)), blocking_(gemm_blocking<T>(kernel_)) {}
  /// Packs `weight` (`out_features` rows of `in_features` elements, rows `stride` apart).
  PackedWeight(const T* weight, Eigen::Index out_features, Eigen::Index in_features, Eigen::Index stride,
               GemmKernel kernel = GemmKernel::Auto)
      : kernel_(resolve(kernel)), blocking_(gemm_blocking<T>(kernel_)) {
    pack(weight, out_features, in_features, stride);
  }
  PackedWeight(const PackedWeight& other) : kernel_(other.kernel_), blocking_(other.blocking_) { copy_from(other); }
  PackedWeight& operator=(const PackedWeight& other) {
    if (this != &other) {
      kernel_ = other.kernel_;
      blocking_ = other.blocking_;
      copy_from(other);
    }
    return *this;
  }
  PackedWeight(PackedWeight&&) noexcept = default;
  PackedWeight& operator=(PackedWeight&&) noexcept = default;
  ~PackedWeight() = default;

  /// (Re)packs `weight`; reuses the storage when it is large enough (always, for an unchanged shape).
  void pack(const T* weight, Eigen::Index out_features, Eigen::Index in_features, Eigen::Index stride) {
    if (out_features < 0 || in_features < 0 || stride < in_features)
      throw std::invalid_argument("PackedWeight::pack: bad shape or stride");
    reserve(packed_elements(out_features, in_features));
    out_features_ = out_features;
    in_features_ = in_features;
    set_shape_constants();
    T* packed = storage_.get();
    with_gemm_kernel<GemmTypes<T>>(kernel_, [&](auto kernel) {
      decltype(kernel)::pack_weight(weight, out_features, in_features, stride, packed);
    });
  }

  Eigen::Index out_features() const { return out_features_; }  ///< N
  /// Column panels: the units in which `packed_linear_panels` splits the columns (e.g. across threads).
  Eigen::Index panel_count() const { return panel_count_; }
  Eigen::Index panel_width() const { return gemm_tile<T>(kernel_).panel_width(); }  ///< columns per panel
  Eigen::Index in_features() const { return in_features_; }    ///< K
  GemmKernel kernel() const { return kernel_; }                ///< the kernel its layout is for
  /// Input rows the kernel packs at a time: the unit in which a tall product splits its rows.
  Eigen::Index row_block() const { return blocking_.row_block; }
  /// Workspace elements a product with this weight on `rows` input rows needs (see
  /// `packed_linear_workspace_size`, which covers every kernel).
  Eigen::Index workspace_elements(Eigen::Index rows) const {
    if (rows >= blocking_.row_block) return full_block_workspace_;
    return packed_input_elements(blocking_, rows, in_features_) + static_cast<Eigen::Index>(gemm_alignment / sizeof(T));
  }
  const T* data() const { return storage_.get(); }

 private:
  struct AlignedDelete {
    void operator()(T* p) const { ::operator delete(p, std::align_val_t(gemm_alignment)); }
  };

  static GemmKernel resolve(GemmKernel kernel) {
    if (kernel == GemmKernel::Auto) return best_gemm_kernel();
    if (!gemm_kernel_supported(kernel))
      throw std::invalid_argument(std::string("PackedWeight: GEMM kernel '") + gemm_kernel_name(kernel) +
                                  "' is not supported by this build or CPU");
    return kernel;
  }

  Eigen::Index packed_elements(Eigen::Index out_features, Eigen::Index in_features) const {
    const GemmTile tile = gemm_tile<T>(kernel_);
    const Eigen::Index rounded = (out_features + tile.lanes - 1) / tile.lanes * tile.lanes;
    return rounded * in_features;
  }

  void reserve(Eigen::Index elements) {
    if (elements <= capacity_ && storage_) return;
    const Eigen::Index allocate = std::max<Eigen::Index>(elements, 1);
    storage_.reset(static_cast<T*>(
        ::operator new(static_cast<std::size_t>(allocate) * sizeof(T), std::align_val_t(gemm_alignment))));
    capacity_ = allocate;
  }

  void copy_from(const PackedWeight& other) {
    if (!other.storage_) {
      storage_.reset();
      capacity_ = 0;
    } else {
      const Eigen::Index elements = other.packed_elements(other.out_features_, other.in_features_);
      reserve(elements);
      std::memcpy(storage_.get(), other.storage_.get(), static_cast<std::size_t>(elements) * sizeof(T));
    }
    out_features_ = other.out_features_;
    in_features_ = other.in_features_;
    panel_count_ = other.panel_count_;
    full_block_workspace_ = other.full_block_workspace_;
  }

  /// What products ask for on every call, computed once per shape (divisions cost more than the rest of a
  /// small product's bookkeeping).
  void set_shape_constants() {
    const Eigen::Index width = panel_width();
    panel_count_ = (out_features_ + width - 1) / width;
    full_block_workspace_ = packed_input_elements(blocking_, blocking_.row_block, in_features_) +
                            static_cast<Eigen::Index>(gemm_alignment / sizeof(T));
  }

  GemmKernel kernel_;
  GemmBlocking blocking_;
  Eigen::Index panel_count_ = 0;
  Eigen::Index full_block_workspace_ = 0;
  Eigen::Index out_features_ = 0;
  Eigen::Index in_features_ = 0;
  Eigen::Index capacity_ = 0;
  std::unique_ptr<T[], AlignedDelete> storage_;
};

template <typename T>
struct NoDeduce {
  using type = T;
};

/// `packed_linear` restricted to output columns `[panel_begin * panel_width, min(panel_end * panel_width, N))`
/// (see `PackedWeight::panel_count`): threads given disjoint panel ranges, each with its own workspace,
/// together compute the whole product. `in`, `out` and `bias` describe the whole product as in
/// `packed_linear`; columns outside the range are not touched.
template <typename T>
void packed_linear_panels(typename NoDeduce<ConstRowsView<T>>::type in, const PackedWeight<T>& weight, const T* bias,
                          typename NoDeduce<RowsView<T>>::type out, T* workspace, Eigen::Index workspace_size,
                          bool accumulate, Eigen::Index panel_begin, Eigen::Index panel_end) {
  const Eigen::Index M = in.rows, K = in.cols, N = out.cols;
  if (K != weight.in_features() || N != weight.out_features() || out.rows != M || in.stride < K || out.stride < N)
    throw std::invalid_argument("packed_linear: shapes do not match the packed weight");
  if (panel_begin < 0 || panel_end > weight.panel_count() || panel_begin > panel_end)
    throw std::invalid_argument("packed_linear: panel range outside the packed weight");
  if (M == 0 || panel_begin == panel_end) return;
  if (K == 0) {  // an empty sum: only the bias
    const Eigen::Index col_begin = panel_begin * weight.panel_width();
    const Eigen::Index col_end = std::min(N, panel_end * weight.panel_width());
    for (Eigen::Index r = 0; r < M; ++r) {
      T* row = out.data + r * out.stride;
      for (Eigen::Index c = col_begin; c < col_end; ++c)
        row[c] = (accumulate ? row[c] : T(0)) + (bias != nullptr ? bias[c] : T(0));
    }
    return;
  }
  // The weight's own kernel is all this product needs (packed_linear_workspace_size covers every kernel).
  if (workspace_size < weight.workspace_elements(M))
    throw std::invalid_argument("packed_linear: workspace smaller than packed_linear_workspace_size()");

  void* aligned = workspace;
  std::size_t space = static_cast<std::size_t>(workspace_size) * sizeof(T);
  std::align(gemm_alignment, sizeof(T), aligned, space);
  const GemmProblem<T> problem{in.data,    in.stride, M,          K,    weight.data(), N,
                               panel_begin, panel_end, out.data,   out.stride, bias,     accumulate,
                               static_cast<T*>(aligned), weight.row_block()};
  with_gemm_kernel<GemmTypes<T>>(weight.kernel(), [&](auto kernel) { decltype(kernel)::gemm(problem); });
}

/// `out = in * W^T + bias` (or `out += in * W^T + bias` with `accumulate`) for a packed `W[N, K]`:
/// `in` is `[M, K]`, `out` `[M, N]`, `bias` `[N]` or null. `workspace` holds at least
/// `packed_linear_workspace_size<T>(M, K)` elements. Runs the kernel `weight` was packed for.
/// Allocates nothing; throws std::invalid_argument on mismatched shapes or a short workspace.
template <typename T>
void packed_linear(typename NoDeduce<ConstRowsView<T>>::type in, const PackedWeight<T>& weight, const T* bias,
                   typename NoDeduce<RowsView<T>>::type out, T* workspace, Eigen::Index workspace_size,
                   bool accumulate = false) {
  packed_linear_panels<T>(in, weight, bias, out, workspace, workspace_size, accumulate, 0, weight.panel_count());
}

/// Convenience overload for Eigen row-major maps with an outer stride (gemm.hpp's MatrixView types).
template <typename T>
void packed_linear(
    const Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, Eigen::Unaligned,
                     Eigen::OuterStride<>>& in,
    const PackedWeight<T>& weight, const T* bias,
    Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, Eigen::Unaligned, Eigen::OuterStride<>> out,
    T* workspace, Eigen::Index workspace_size, bool accumulate = false) {
  packed_linear<T>(ConstRowsView<T>{in.data(), in.rows(), in.cols(), in.outerStride()}, weight, bias,
                   RowsView<T>{out.data(), out.rows(), out.cols(), out.outerStride()}, workspace, workspace_size,
                   accumulate);
}

}  // namespace seqnet::detail
