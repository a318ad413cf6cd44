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
#include "kernels.hpp"
#include "plan.hpp"

namespace seqnet::cuda::detail {

/// What a GPU module runs on: its stream (and a second one, so a bidirectional layer's directions run
/// concurrently), one cuBLAS handle per stream, the events that fork and join them, and its reusable
/// device buffers. One per module; not shared between threads.
template <typename T>
class Context {
 public:
  static constexpr std::size_t cublas_workspace_bytes = std::size_t(32) << 20;  // NVIDIA's figure for Hopper

  Context() {
    require_device();
    try {
      check_cuda(cudaGetDevice(&device_), "cudaGetDevice");
      check_cuda(cudaStreamCreate(&own_stream_), "cudaStreamCreate");
      // Only ever ordered by the fork/join events, so it need not (and must not, while a capture is in
      // progress) synchronise with the legacy default stream.
      check_cuda(cudaStreamCreateWithFlags(&side_stream_, cudaStreamNonBlocking), "cudaStreamCreate");
      check_cuda(cudaEventCreateWithFlags(&fork_, cudaEventDisableTiming), "cudaEventCreate");
      check_cuda(cudaEventCreateWithFlags(&join_, cudaEventDisableTiming), "cudaEventCreate");
      for (auto& slot : staging_)
        check_cuda(cudaEventCreateWithFlags(&slot.read, cudaEventDisableTiming), "cudaEventCreate");
      stream_ = own_stream_;
      for (int i = 0; i < 2; ++i) {
        check_cublas(cublasCreate(&handles_[i]), "cublasCreate");
        // A workspace of its own keeps cuBLAS from allocating while a CUDA graph is being captured.
        cublas_workspace_[i] = DeviceBuffer<unsigned char>(static_cast<Index>(cublas_workspace_bytes), own_stream_);
        bind_handle(i, i == 0 ? own_stream_ : side_stream_);
      }
      check_cuda(cudaStreamSynchronize(own_stream_), "cudaStreamSynchronize");  // the workspaces exist
    } catch (...) {
      destroy();  // a constructor that throws runs no destructor
      throw;
    }
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context() { destroy(); }

  int device() const noexcept { return device_; }
  cudaStream_t stream() const noexcept { return stream_; }
  cudaStream_t side_stream() const noexcept { return side_stream_; }
  cublasHandle_t handle(int direction) const noexcept { return handles_[direction]; }
  cudaEvent_t fork_event() const noexcept { return fork_; }
  cudaEvent_t join_event() const noexcept { return join_; }

  /// Moves the module to `stream`. Work already issued finishes first and the reusable buffers are
  /// released on the stream they were allocated on, so nothing is ever freed on a stream the caller may
  /// destroy later (results are the caller's: each is freed on the stream it was allocated on).
  void set_stream(cudaStream_t stream) {
    check_cuda(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
    workspace = DeviceBuffer<T>();
    order = DeviceBuffer<Index>();
    uploaded_order.clear();
    mask = DeviceBuffer<T>();
    converted = DeviceBuffer<T>();
    check_cuda(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
    stream_ = stream;
    bind_handle(0, stream);
    reset_graph();
  }
  void allow_tf32(bool on) {
    for (auto handle : handles_)
      check_cublas(cublasSetMathMode(handle, on ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
                   "cublasSetMathMode");
    reset_graph();  // a captured graph holds the kernels cuBLAS chose under the old mode
  }

  /// Runs `enqueue()` (which issues the whole forward pass on `stream()`) directly, or through a CUDA
  /// graph. `key` names everything the launches depend on (shapes, lengths, buffer addresses): a key seen
  /// twice in a row is captured, and replayed while it repeats; a changed key updates the instantiated
  /// graph in place when its topology allows. A key that changes on every call is never captured, so
  /// such calls do not pay for a capture they cannot reuse.
  template <typename Enqueue>
  void launch(bool use_graph, const std::vector<std::int64_t>& key, Enqueue&& enqueue) {
    // The legacy default stream cannot be captured; a stream the caller is capturing already records
    // the launches into the caller's graph (a capture cannot be begun on it again).
    cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
    if (use_graph && stream_ != nullptr && stream_ != cudaStreamLegacy)
      check_cuda(cudaStreamIsCapturing(stream_, &capturing), "cudaStreamIsCapturing");
    if (!use_graph || stream_ == nullptr || stream_ == cudaStreamLegacy || capturing != cudaStreamCaptureStatusNone) {
      enqueue();
      return;
    }
    if (graph_exec_ != nullptr && key == graph_key_) {
      check_cuda(cudaGraphLaunch(graph_exec_, stream_), "cudaGraphLaunch");
      return;
    }
    if (key != last_key_) {
      last_key_ = key;
      enqueue();
      return;
    }
    cudaGraph_t graph = nullptr;
    check_cuda(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
    try {
      enqueue();
    } catch (...) {
      (void)cudaStreamEndCapture(stream_, &graph);
      if (graph != nullptr) (void)cudaGraphDestroy(graph);
      throw;
    }
    check_cuda(cudaStreamEndCapture(stream_, &graph), "cudaStreamEndCapture");
    bool updated = false;
    if (graph_exec_ != nullptr) {
      cudaGraphExecUpdateResultInfo info{};
      updated = cudaGraphExecUpdate(graph_exec_, graph, &info) == cudaSuccess;
      if (!updated) {
        (void)cudaGetLastError();
        reset_graph();
      }
    }
    if (!updated) {
      const cudaError_t status = cudaGraphInstantiate(&graph_exec_, graph, 0);
      if (status != cudaSuccess) {
        graph_exec_ = nullptr;
        (void)cudaGraphDestroy(graph);
        check_cuda(status, "cudaGraphInstantiate");
      }
    }
    (void)cudaGraphDestroy(graph);
    graph_key_ = key;
    check_cuda(cudaGraphLaunch(graph_exec_, stream_), "cudaGraphLaunch");
  }

  /// Where an upload's host data is staged: one slot per kind of data a call uploads, so two uploads
  /// of one call never wait for each other.
  enum class Staging { order = 0, mask = 1 };

  /// Copies `count` elements from host memory to `device` on `stream()` through a pinned staging
  /// buffer: a copy from pageable memory may wait for the stream, one from pinned memory never does.
  /// Waits only until this slot's previous upload (an earlier call's) has been read out of it.
  template <typename U>
  void upload(Staging which, U* device, const U* host, Index count) {
    const std::size_t bytes = static_cast<std::size_t>(count) * sizeof(U);
    if (bytes == 0) return;
    cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
    if (stream_ != nullptr && stream_ != cudaStreamLegacy)
      check_cuda(cudaStreamIsCapturing(stream_, &capturing), "cudaStreamIsCapturing");
    if (capturing != cudaStreamCaptureStatusNone)
      throw cuda_error("seqnet::cuda: this call uploads host data (an unsorted batch order that changed, or "
                       "dropout masks), which cannot be recorded into the caller's CUDA graph",
                       static_cast<int>(cudaErrorStreamCaptureUnsupported));
    StagingSlot& slot = staging_[static_cast<int>(which)];
    check_cuda(cudaEventSynchronize(slot.read), "cudaEventSynchronize (staging buffer)");
    if (bytes > slot.bytes) {
      if (slot.data != nullptr) check_cuda(cudaFreeHost(slot.data), "cudaFreeHost");
      slot.data = nullptr;
      slot.bytes = 0;
      check_cuda(cudaMallocHost(&slot.data, bytes), "cudaMallocHost");
      slot.bytes = bytes;
    }
    std::memcpy(slot.data, host, bytes);
    check_cuda(cudaMemcpyAsync(device, slot.data, bytes, cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync (upload)");
    check_cuda(cudaEventRecord(slot.read, stream_), "cudaEventRecord");
  }

  /// Binds cuBLAS handle `i` to `stream` with its own workspace. `cublasSetStream` resets the handle's
  /// workspace to cuBLAS's default pool, so `cublasSetWorkspace` must follow it every time.
  void bind_handle(int i, cudaStream_t stream) {
    check_cublas(cublasSetStream(handles_[i], stream), "cublasSetStream");
    check_cublas(cublasSetWorkspace(handles_[i], cublas_workspace_[i].data(), cublas_workspace_bytes),
                 "cublasSetWorkspace");
  }

  /// Releases everything this context created, in stream order; tolerates a partly built context.
  void destroy() noexcept {
    reset_graph();
    workspace = DeviceBuffer<T>();
    order = DeviceBuffer<Index>();
    mask = DeviceBuffer<T>();
    converted = DeviceBuffer<T>();
    if (own_stream_ != nullptr) (void)cudaStreamSynchronize(stream_);
    for (int i = 0; i < 2; ++i) {
      if (handles_[i] != nullptr) (void)cublasDestroy(handles_[i]);
      handles_[i] = nullptr;
      cublas_workspace_[i] = DeviceBuffer<unsigned char>();
    }
    if (own_stream_ != nullptr) (void)cudaStreamSynchronize(own_stream_);
    for (auto& slot : staging_) {
      if (slot.read != nullptr) {
        (void)cudaEventSynchronize(slot.read);
        (void)cudaEventDestroy(slot.read);
      }
      if (slot.data != nullptr) (void)cudaFreeHost(slot.data);
      slot = StagingSlot();
    }
    for (cudaEvent_t* event : {&fork_, &join_}) {
      if (*event != nullptr) (void)cudaEventDestroy(*event);
      *event = nullptr;
    }
    for (cudaStream_t* stream : {&side_stream_, &own_stream_}) {
      if (*stream != nullptr) (void)cudaStreamDestroy(*stream);
      *stream = nullptr;
    }
  }

  void reset_graph() noexcept {
    if (graph_exec_ != nullptr) (void)cudaGraphExecDestroy(graph_exec_);
    graph_exec_ = nullptr;
    graph_key_.clear();
    last_key_.clear();
  }

  DeviceBuffer<T> workspace;  ///< the plan's workspace, grown when a call needs more
  DeviceBuffer<Index> order;  ///< a packed batch's sorted order
  std::vector<Index> uploaded_order;  ///< what `order` holds (uploaded again only when it changes)
  DeviceBuffer<T> mask;       ///< dropout multipliers of every layer of one call
  DeviceBuffer<T> converted;  ///< an fp16/bf16 input converted to T
  std::vector<T> host_mask;

 private:
  int device_ = 0;
  cudaStream_t own_stream_ = nullptr;
  cudaStream_t side_stream_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t fork_ = nullptr;
  cudaEvent_t join_ = nullptr;
  struct StagingSlot {
    void* data = nullptr;  ///< pinned host memory
    std::size_t bytes = 0;
    cudaEvent_t read = nullptr;  ///< recorded after the slot's upload: the memory may be reused
  };
  StagingSlot staging_[2];
  cublasHandle_t handles_[2] = {nullptr, nullptr};
  DeviceBuffer<unsigned char> cublas_workspace_[2];
  cudaGraphExec_t graph_exec_ = nullptr;
  std::vector<std::int64_t> graph_key_;
  std::vector<std::int64_t> last_key_;
};

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
    const T one = 1, zero = 0;
    check_cublas(gemm_call(context_.handle(direction_), CUBLAS_OP_T, CUBLAS_OP_N, narrow(n), narrow(m), narrow(k),
                           &one, w, narrow(k), a, narrow(lda), &zero, c, narrow(ldc)),
                 "cublas gemm");
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
  void dropout(T* data, Index count, double, Generator&) {
    multiply_kernel<T><<<grid_for(count), block_threads, 0, stream()>>>(data, context_.mask.data() + mask_used_, count);
    check_launch("seqnet multiply_kernel");
    mask_used_ += count;
  }
  void fork() {
    check_cuda(cudaEventRecord(context_.fork_event(), context_.stream()), "cudaEventRecord");
    check_cuda(cudaStreamWaitEvent(context_.side_stream(), context_.fork_event(), 0), "cudaStreamWaitEvent");
  }
  void direction(Index dir) { direction_ = dir == 0 ? 0 : 1; }
  void join() {
    check_cuda(cudaEventRecord(context_.join_event(), context_.side_stream()), "cudaEventRecord");
    check_cuda(cudaStreamWaitEvent(context_.stream(), context_.join_event(), 0), "cudaStreamWaitEvent");
    direction_ = 0;
  }

 private:
  cudaStream_t stream() const { return direction_ == 0 ? context_.stream() : context_.side_stream(); }
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
