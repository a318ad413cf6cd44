// SPDX-License-Identifier: MIT
#pragma once

// The GPU backend's kernels. Compiled by nvcc only (include <seqnet/cuda.hpp> from a .cu file).

#include <algorithm>
#include <type_traits>

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "../error.hpp"
#include "engine.hpp"

namespace seqnet::cuda::detail {

constexpr int block_threads = 256;

/// Blocks for a grid-stride loop over `count` elements: enough to fill the device, never more than needed.
inline unsigned grid_for(Index count) {
  const Index blocks = (count + block_threads - 1) / block_threads;
  return static_cast<unsigned>(std::clamp<Index>(blocks, 1, 8192));
}

template <typename T>
__global__ void pointwise_kernel(PointwiseArgs<T> a) {
  const Index total = a.rows * a.hidden;
  for (Index i = Index(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += Index(gridDim.x) * blockDim.x)
    pointwise_element(a, i / a.hidden, i % a.hidden);
}

/// Operands of the fused step: the pointwise operands (`gh` unused) plus W_hh `[G*H, k]`, where `k` is
/// the width of `h_prev` (H_out).
template <typename T>
struct FusedStepArgs {
  PointwiseArgs<T> p;
  const T* weight_hh = nullptr;
  Index k = 0;
};

/// Rows a fused step handles at most: its accumulators (gates x rows) live in registers.
constexpr int fused_max_rows = 8;
/// Threads per block of the fused step (a warp per unit): small blocks spread a small hidden size over
/// more multiprocessors (H = 256 gives 64 blocks).
constexpr int fused_block_threads = 128;

/// One step of a small batch in one launch: a warp per hidden unit computes that unit's gate rows of
/// `h_prev W_hh^T` for every batch row (lanes stride over k, so W_hh and h_prev are read coalesced),
/// reduces them with shuffles, and lane r applies the gates to row r. Replaces a GEMM launch, a
/// pointwise launch and the round trip of `gh` through memory, which dominate at batch 1-8.
template <typename T, int Rows>
__global__ void fused_step_kernel(FusedStepArgs<T> a) {
  const int lane = threadIdx.x & 31;
  const Index unit = Index(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (unit >= a.p.hidden) return;  // the whole warp leaves together
  const int gates = a.p.kind == CellKind::LSTM ? 4 : a.p.kind == CellKind::GRU ? 3 : 1;
  const Index rows = a.p.rows, H = a.p.hidden;
  T acc[max_gates][Rows];
#pragma unroll
  for (int g = 0; g < max_gates; ++g)
#pragma unroll
    for (int r = 0; r < Rows; ++r) acc[g][r] = T(0);
  // Unrolled so each lane has several independent loads of W_hh in flight.
#pragma unroll 4
  for (Index k = lane; k < a.k; k += 32) {
    T h[Rows];
#pragma unroll
    for (int r = 0; r < Rows; ++r) h[r] = r < rows ? a.p.h_prev[r * a.p.ld_h_prev + k] : T(0);
#pragma unroll
    for (int g = 0; g < max_gates; ++g) {
      if (g < gates) {
        const T w = a.weight_hh[(g * H + unit) * a.k + k];
#pragma unroll
        for (int r = 0; r < Rows; ++r) acc[g][r] += w * h[r];
      }
    }
  }
#pragma unroll
  for (int g = 0; g < max_gates; ++g)
#pragma unroll
    for (int r = 0; r < Rows; ++r)
#pragma unroll
      for (int offset = 16; offset > 0; offset /= 2) acc[g][r] += __shfl_xor_sync(0xffffffffu, acc[g][r], offset);
#pragma unroll
  for (int r = 0; r < Rows; ++r) {
    if (lane == r && r < rows) {
      T sums[max_gates];
#pragma unroll
      for (int g = 0; g < max_gates; ++g) sums[g] = acc[g][r];
      gate_element(a.p, r, unit, [&](int g) { return sums[g]; });
    }
  }
}

/// `to` row i = `from` row order[i] (or, `inverse`, `to` row order[i] = `from` row i), for every step of
/// a `[seq, batch, width]` (or batch-first) buffer.
template <typename T>
__global__ void permute_kernel(const T* from, T* to, const Index* order, Index seq, Index batch, Index width,
                               bool batch_first, bool inverse) {
  const Index total = seq * batch * width;
  for (Index i = Index(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += Index(gridDim.x) * blockDim.x) {
    const Index f = i % width, row = (i / width) % batch, t = i / (width * batch);
    const Index other = order[row];
    auto at = [&](Index b) { return (batch_first ? b * seq + t : t * batch + b) * width + f; };
    if (inverse) {
      to[at(other)] = from[at(row)];
    } else {
      to[at(row)] = from[at(other)];
    }
  }
}

template <typename T>
__global__ void multiply_kernel(T* data, const T* by, Index count) {
  for (Index i = Index(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += Index(gridDim.x) * blockDim.x)
    data[i] *= by[i];
}

/// fp16/bf16 (or any element type) to the module's type; half types go through float.
template <typename From, typename To>
__global__ void convert_kernel(const From* from, To* to, Index count) {
  for (Index i = Index(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += Index(gridDim.x) * blockDim.x) {
    if constexpr (std::is_floating_point_v<From>) {
      to[i] = static_cast<To>(from[i]);
    } else {
      to[i] = static_cast<To>(static_cast<float>(from[i]));
    }
  }
}

}  // namespace seqnet::cuda::detail
