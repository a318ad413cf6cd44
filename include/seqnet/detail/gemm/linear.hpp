// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "../../tensor.hpp"
#include "packed.hpp"

namespace seqnet::detail {

template <typename T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using RowVector = Eigen::Matrix<T, 1, Eigen::Dynamic, Eigen::RowMajor>;
/// A row-major matrix inside a larger buffer: rows may be `outer_stride` elements apart, which is how
/// one time step of a `[seq, batch, F]` or `[batch, seq, F]` buffer, or one direction's half of a
/// bidirectional output, is addressed without copying.
template <typename T>
using MatrixView = Eigen::Map<RowMatrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <typename T>
using ConstMatrixView = Eigen::Map<const RowMatrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

template <typename T>
MatrixView<T> matrix_view(T* data, Index rows, Index cols, Index stride) {
  return MatrixView<T>(data, rows, cols, Eigen::OuterStride<>(stride));
}
template <typename T>
ConstMatrixView<T> matrix_view(const T* data, Index rows, Index cols, Index stride) {
  return ConstMatrixView<T>(data, rows, cols, Eigen::OuterStride<>(stride));
}

/// The first `rows` rows of a view.
template <typename T>
MatrixView<T> top_rows(MatrixView<T> view, Index rows) {
  return matrix_view(view.data(), rows, view.cols(), view.outerStride());
}
template <typename T>
ConstMatrixView<T> top_rows(const ConstMatrixView<T>& view, Index rows) {
  return matrix_view(view.data(), rows, view.cols(), view.outerStride());
}

template <typename T>
ConstMatrixView<T> as_const(const MatrixView<T>& view) {
  return ConstMatrixView<T>(view.data(), view.rows(), view.cols(), Eigen::OuterStride<>(view.outerStride()));
}

/// `out = input * weight^T + bias` for a PyTorch-layout weight `[n, k]` (PyTorch's `F.linear`).
/// Packing buffers are allocated once, at construction, for one problem size, so a time-step loop
/// that calls `run` repeatedly allocates nothing.
template <typename T>
class LinearGemm {
 public:
  /// Sized for at most `rows` input rows. `row_invariant` keeps every row's result independent of how
  /// many rows a call has (no matrix-vector shortcut for one row), so projecting a sequence step by
  /// step gives the same bits as projecting it whole (what streaming relies on).
  LinearGemm(Index rows, Index cols, Index depth, bool row_invariant = false)
      : rows_(rows),
        cols_(cols),
        depth_(depth),
        row_invariant_(row_invariant),
        blocking_(std::max<Index>(rows, 1), std::max<Index>(cols, 1), std::max<Index>(depth, 1), 1, true) {
    if (!use_coefficient_product() && (rows_ > 1 || row_invariant_)) blocking_.allocateAll();
  }
  LinearGemm(const LinearGemm&) = delete;
  LinearGemm& operator=(const LinearGemm&) = delete;

  /// `bias` may be null (bias=False). `input` may have fewer rows than the product was sized for (a
  /// packed sequence's shrinking batch); the packing buffers still fit.
  void run(ConstMatrixView<T> input, ConstMatrixView<T> weight, const T* bias, MatrixView<T> out) {
    const Index rows = input.rows();
    eigen_assert(rows <= rows_ && out.rows() == rows && input.cols() == depth_ && weight.rows() == cols_ &&
                 weight.cols() == depth_);
    if (bias != nullptr) {
      out.rowwise() = Eigen::Map<const RowVector<T>>(bias, cols_);
    } else {
      out.setZero();
    }
    if (rows == 0 || cols_ == 0 || depth_ == 0) return;
    if (use_coefficient_product()) {
      out.noalias() += input.lazyProduct(weight.transpose());
      return;
    }
    if (rows == 1 && !row_invariant_) {
      // A single row is a matrix-vector product: Eigen's GEMV reads the weight in place instead of
      // packing it, and needs no heap buffer for contiguous operands.
      out.row(0).noalias() += input.row(0) * weight.transpose();
      return;
    }
    // Eigen's own GEMM kernel, called with our pre-allocated blocking so no per-call allocation happens.
    Eigen::internal::general_matrix_matrix_product<Index, T, Eigen::RowMajor, false, T, Eigen::ColMajor, false,
                                                   Eigen::RowMajor, 1>::run(rows, cols_, depth_, input.data(),
                                                                            input.outerStride(), weight.data(),
                                                                            weight.outerStride(), out.data(), 1,
                                                                            out.outerStride(), T(1), blocking_,
                                                                            nullptr);
  }

 private:
  // Same cut-off Eigen uses to prefer its coefficient-based product for tiny problems.
  bool use_coefficient_product() const { return rows_ + cols_ + depth_ < EIGEN_GEMM_TO_COEFFBASED_THRESHOLD; }

  Index rows_, cols_, depth_;
  bool row_invariant_;
  Eigen::internal::gemm_blocking_space<Eigen::RowMajor, T, T, Eigen::Dynamic, Eigen::Dynamic, Eigen::Dynamic>
      blocking_;
};

/// Allocates on 64-byte boundaries. Eigen vectorizes an element-wise expression from the first
/// packet-aligned element of its destination and computes the elements before it with scalar code, whose
/// exp, tanh and logistic round differently from the packet versions (fp64 under AVX). Workspace buffers
/// from plain `new` (16-byte aligned) therefore gave results that depended on where the heap put them;
/// aligned to a cache line (every packet size up to AVX-512), each element takes the same path on every call.
template <typename T>
struct CachelineAllocator {
  using value_type = T;
  static constexpr std::size_t alignment = 64;
  CachelineAllocator() noexcept = default;
  template <typename U>
  CachelineAllocator(const CachelineAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(alignment))); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t(alignment)); }
  template <typename U>
  bool operator==(const CachelineAllocator<U>&) const noexcept { return true; }
  template <typename U>
  bool operator!=(const CachelineAllocator<U>&) const noexcept { return false; }
};

/// A workspace buffer: a vector whose data starts on a cache line (see CachelineAllocator).
template <typename T>
using AlignedVector = std::vector<T, CachelineAllocator<T>>;

/// Grows `buffer` to at least `size` elements; never shrinks it, so a reused workspace stops allocating
/// once it has seen its largest problem.
template <typename T, typename Allocator>
void ensure_size(std::vector<T, Allocator>& buffer, Index size) {
  if (static_cast<Index>(buffer.size()) < size) buffer.resize(static_cast<std::size_t>(size));
}

/// `out = input * W^T + bias` with `W` fixed for a run of products (a layer's weight over all its time
/// steps). For float and double, `pack` copies `W` once into the packed GEMM's panels (see
/// packed_gemm.hpp) and every product packs only its input rows; a weight used for a single small
/// product (a cell step) and other scalar types use Eigen's product on `W` in place instead.
/// With the packed kernel each row's result does not depend on how many rows a product has, so
/// projecting a sequence step by step gives the same bits as projecting it whole, and splitting the
/// columns across threads (`run_panels`) gives the same bits as one thread. Nothing is allocated once sized.
template <typename T>
class PreparedLinear {
 public:
  static constexpr bool packable = std::is_same_v<T, float> || std::is_same_v<T, double>;

  /// Takes `weight` `[n, k]` (rows `k` apart). `reused`: it serves several products (worth packing).
  void pack(const T* weight, Index n, Index k, bool reused = true) {
    // The Eigen product was sized for the previous shape and use; rebuild it on the next reserve.
    if (fallback_ && (n != n_ || k != k_ || reused != reused_)) fallback_.reset();
    packed_ = packable && reused;
    reused_ = reused;
    if constexpr (packable) {
      if (packed_) weight_.pack(weight, n, k, k);
    }
    weight_pointer_ = weight;
    n_ = n;
    k_ = k;
  }
  /// Sizes the buffers for products of up to `max_rows` rows.
  void reserve(Index max_rows) {
    if (packed_) {
      if (max_rows > reserved_rows_ || k_ != reserved_depth_) {
        ensure_size(workspace_, packed_linear_workspace_size<T>(std::max<Index>(max_rows, 1), k_));
        reserved_rows_ = max_rows;
        reserved_depth_ = k_;
      }
    } else if (!fallback_ || max_rows > rows_) {
      // A weight used once (a cell step) may take the matrix-vector shortcut for one row; a reused one
      // keeps its rows independent of the row count, as the packed kernel does.
      fallback_ = std::make_unique<LinearGemm<T>>(max_rows, n_, k_, reused_);
      rows_ = max_rows;
    }
  }

  void run(ConstMatrixView<T> input, const T* bias, MatrixView<T> out) { run_panels(input, bias, out, 0, panels()); }

  /// Units in which `run_panels` may split the output columns (1 without packing).
  Index panels() const {
    if constexpr (packable) {
      if (packed_) return weight_.panel_count();
    }
    return 1;
  }
  /// Only the output columns of panels `[begin, end)`; concurrent calls on disjoint ranges need their own
  /// `workspace` (`workspace_size()` elements each), the default uses this object's.
  void run_panels(ConstMatrixView<T> input, const T* bias, MatrixView<T> out, Index begin, Index end,
                  T* workspace = nullptr) {
    if constexpr (packable) {
      if (packed_) {
        packed_linear_panels<T>(ConstRowsView<T>{input.data(), input.rows(), input.cols(), input.outerStride()},
                                weight_, bias, RowsView<T>{out.data(), out.rows(), out.cols(), out.outerStride()},
                                workspace != nullptr ? workspace : workspace_.data(),
                                static_cast<Index>(workspace_.size()), false, begin, end);
        return;
      }
    }
    if (begin < end) fallback_->run(input, matrix_view(weight_pointer_, n_, k_, k_), bias, out);
  }
  Index workspace_size() const { return static_cast<Index>(workspace_.size()); }
  Index output_size() const { return n_; }
  /// Rows the packed kernel packs at a time (the unit a tall product is split in across threads).
  Index row_block() const {
    if constexpr (packable) {
      if (packed_) return weight_.row_block();
    }
    return 1;
  }
  /// Whether products run on the packed kernel (which any number of threads may share, each with its
  /// own workspace); the Eigen fallback is for one thread at a time.
  bool packed() const { return packed_; }

 private:
  Index n_ = 0, k_ = 0, rows_ = 0;
  Index reserved_rows_ = -1, reserved_depth_ = -1;  ///< what `workspace_` is sized for (packed)
  bool packed_ = false;
  bool reused_ = true;
  PackedWeight<std::conditional_t<packable, T, float>> weight_;
  std::vector<T> workspace_;
  std::unique_ptr<LinearGemm<T>> fallback_;
  const T* weight_pointer_ = nullptr;
};

}  // namespace seqnet::detail
