// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "../device_tensor.hpp"
#include "../error.hpp"
#include "context.hpp"
#include "kernels.hpp"
#include "engine.hpp"

namespace seqnet::cuda::detail {

inline cublasStatus_t gemm_call(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                const float* alpha, const float* a, int lda, const float* b, int ldb,
                                const float* beta, float* c, int ldc) {
  return cublasSgemm(h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline cublasStatus_t gemm_call(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                const double* alpha, const double* a, int lda, const double* b, int ldb,
                                const double* beta, double* c, int ldc) {
  return cublasDgemm(h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/// The plan's operations as cuBLAS calls and kernel launches on the context's streams. Nothing here
/// synchronises with the host.
template <typename T>
class DeviceBackend {
 public:
  explicit DeviceBackend(Context<T>& context) : context_(context) {}

  /// `c = a w^T`, all row-major: in cuBLAS's column-major terms `c^T = w a^T`, i.e. op(W^T) = T, op(A^T) = N.
  void gemm(Index m, Index n, Index k, const T* a, Index lda, const T* w, T* c, Index ldc) {
    if (m == 0 || n == 0) return;
    if (k == 0) {  // an empty sum (a cell of input_size 0): cuBLAS refuses leading dimensions of 0
      const std::size_t pitch = static_cast<std::size_t>(ldc) * sizeof(T), width = static_cast<std::size_t>(n) * sizeof(T);
      check_cuda(cudaMemset2DAsync(c, pitch, 0, width, static_cast<std::size_t>(m), stream()), "cudaMemset2DAsync");
      return;
    }
    const T one = 1, zero = 0;
    check_cublas(gemm_call(context_.lane().handle(direction_), CUBLAS_OP_T, CUBLAS_OP_N, narrow(n), narrow(m), narrow(k),
                           &one, w, narrow(k), a, narrow(lda), &zero, c, narrow(ldc)),
                 "cublas gemm");
  }
  /// The layer's input projection, without bias: the pointwise kernel adds both biases.
  void project_input(const ProjectArgs<T>& a) {
    gemm(a.rows, a.out_width, a.in_width, a.input, a.in_width, a.weight_ih, a.out, a.out_width);
  }
  /// Directions of a layer: the reverse one is issued on the lane's side stream, between fork and join,
  /// so the two run concurrently; every operation of a direction is issued by this backend itself.
  template <typename Body>
  void for_each_direction(const RecurrentSpec& spec, const SequenceDims&, Index, Body&& body) {
    const Index D = spec.directions();
    if (D > 1) fork();
    for (Index dir = 0; dir < D; ++dir) {
      direction(dir);
      body(dir, *this);
    }
    if (D > 1) join();
  }
  void pointwise(const PointwiseArgs<T>& args) {
    const Index total = args.rows * args.hidden;
    if (total == 0) return;
    pointwise_kernel<T><<<grid_for(total), block_threads, 0, stream()>>>(args);
    check_launch("seqnet pointwise_kernel");
  }
  /// Up to `fused_max_rows` rows: one fused launch; more: a cuBLAS product and the pointwise kernel.
  void recurrent(const RecurrentSpec& spec, const StepArgs<T>& step) {
    if (step.rows == 0) return;  // a packed batch past its longest sequence
    if (step.rows > fused_max_rows) {
      recurrent_by_products(*this, spec, step);
      return;
    }
    project_after(*this, spec, step, [&] {
      FusedStepArgs<T> args;
      args.p = step.pointwise(spec);
      args.weight_hh = step.weight_hh;
      args.k = spec.output_size();
      constexpr int warps = fused_block_threads / 32;
      const unsigned blocks = static_cast<unsigned>((spec.hidden_size + warps - 1) / warps);
      if (step.rows <= 1) {
        fused_step_kernel<T, 1><<<blocks, fused_block_threads, 0, stream()>>>(args);
      } else if (step.rows <= 2) {
        fused_step_kernel<T, 2><<<blocks, fused_block_threads, 0, stream()>>>(args);
      } else if (step.rows <= 4) {
        fused_step_kernel<T, 4><<<blocks, fused_block_threads, 0, stream()>>>(args);
      } else {
        fused_step_kernel<T, fused_max_rows><<<blocks, fused_block_threads, 0, stream()>>>(args);
      }
      check_launch("seqnet fused_step_kernel");
    });
  }
  void copy_rows(const T* src, Index lds, T* dst, Index ldd, Index rows, Index cols) {
    if (rows == 0 || cols == 0) return;
    check_cuda(cudaMemcpy2DAsync(dst, static_cast<std::size_t>(ldd) * sizeof(T), src,
                                 static_cast<std::size_t>(lds) * sizeof(T), static_cast<std::size_t>(cols) * sizeof(T),
                                 static_cast<std::size_t>(rows), cudaMemcpyDeviceToDevice, stream()),
               "cudaMemcpy2DAsync");
  }
  void zero(T* data, Index count) {
    if (count > 0)
      check_cuda(cudaMemsetAsync(data, 0, static_cast<std::size_t>(count) * sizeof(T), stream()), "cudaMemsetAsync");
  }
  void permute(const T* src, T* dst, const Index* order, Index seq, Index batch, Index width, bool batch_first,
               bool inverse) {
    const Index total = seq * batch * width;
    if (total == 0) return;
    permute_kernel<T><<<grid_for(total), block_threads, 0, stream()>>>(src, dst, order, seq, batch, width,
                                                                       batch_first, inverse);
    check_launch("seqnet permute_kernel");
  }
  /// Multiplies by the next `count` values of `context.mask`, which the module drew on the host from its
  /// generator (the CPU's sequence, `append_dropout_mask`) and uploaded before the pass.
  /// No recording on the device yet: `mask` is null (the plan records only with a tape).
  void dropout(const T* src, T* data, Index count, double, Generator&, T*) {
    if (src != data) copy_rows(src, count, data, count, 1, count);
    multiply_kernel<T><<<grid_for(count), block_threads, 0, stream()>>>(data, context_.mask.data() + mask_used_, count);
    check_launch("seqnet multiply_kernel");
    mask_used_ += count;
  }
  /// dst = src * mask, `mask` in device memory (masks a caller gave, replayed).
  void apply_mask(const T* src, T* dst, const T* mask, Index count) {
    if (count == 0) return;
    if (src != dst) copy_rows(src, count, dst, count, 1, count);
    multiply_kernel<T><<<grid_for(count), block_threads, 0, stream()>>>(dst, mask, count);
    check_launch("seqnet multiply_kernel");
  }
  void fork() {
    StreamLane& lane = context_.lane();
    check_cuda(cudaEventRecord(lane.fork_event(), context_.issue_stream()), "cudaEventRecord");
    check_cuda(cudaStreamWaitEvent(lane.side_stream(), lane.fork_event(), 0), "cudaStreamWaitEvent");
  }
  void direction(Index dir) { direction_ = dir == 0 ? 0 : 1; }
  void join() {
    StreamLane& lane = context_.lane();
    check_cuda(cudaEventRecord(lane.join_event(), lane.side_stream()), "cudaEventRecord");
    check_cuda(cudaStreamWaitEvent(context_.issue_stream(), lane.join_event(), 0), "cudaStreamWaitEvent");
    direction_ = 0;
  }

 private:
  cudaStream_t stream() const { return direction_ == 0 ? context_.issue_stream() : context_.lane().side_stream(); }
  static int narrow(Index value) {
    seqnet::detail::check<value_error>(value <= 0x7fffffff, "seqnet::cuda: a matrix extent of ", value,
                                       " exceeds cuBLAS's int range");
    return static_cast<int>(value);
  }

  Context<T>& context_;
  int direction_ = 0;
  Index mask_used_ = 0;
};

}  // namespace seqnet::cuda::detail
