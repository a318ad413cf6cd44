// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "../error.hpp"

namespace seqnet::cuda::detail {

/// Makes `device` current for the calling thread and restores the caller's device on scope exit, so a
/// module never leaves the thread on another device than it found it.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    check_cuda(cudaGetDevice(&previous_), "cudaGetDevice");
    if (previous_ != device) {
      check_cuda(cudaSetDevice(device), "cudaSetDevice");
    } else {
      previous_ = -1;
    }
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;
  ~DeviceGuard() {
    if (previous_ >= 0) (void)cudaSetDevice(previous_);
  }

 private:
  int previous_ = -1;
};

/// Runs `destroy` (which must not throw) with `device` current if it can be made current: what the
/// destructors of device objects do, since a destructor must not throw.
template <typename Destroy>
void destroy_on(int device, Destroy&& destroy) noexcept {
  try {
    DeviceGuard guard(device);
    destroy();
  } catch (...) {
    destroy();
  }
}

/// Everything that issues work on one stream of one device, shared by every module that runs there: the
/// stream, a side stream for a bidirectional layer's reverse direction, one cuBLAS handle per stream
/// with its own workspace (so cuBLAS never allocates while a CUDA graph is captured), and the events
/// that fork and join the two streams. Modules on one stream are ordered by that stream, so they can
/// share the handles and workspaces; `mutex()` keeps two host threads from issuing through one lane at
/// once (a cuBLAS handle is not thread-safe).
class StreamLane {
 public:
  static constexpr std::size_t cublas_workspace_bytes = std::size_t(32) << 20;  // NVIDIA's figure for Hopper

  /// A lane on `stream`, or, when `own_stream`, on a new blocking stream of its own (ordered with the
  /// legacy default stream, like PyTorch's default stream). `device` must be current.
  StreamLane(int device, cudaStream_t stream, bool own_stream) : device_(device), own_stream_(own_stream) {
    try {
      if (own_stream) check_cuda(cudaStreamCreate(&stream), "cudaStreamCreate");
      stream_ = stream;
      // Only ever ordered by the fork/join events, so it need not (and must not, while a capture is in
      // progress) synchronise with the legacy default stream.
      check_cuda(cudaStreamCreateWithFlags(&side_stream_, cudaStreamNonBlocking), "cudaStreamCreate");
      check_cuda(cudaEventCreateWithFlags(&fork_, cudaEventDisableTiming), "cudaEventCreate");
      check_cuda(cudaEventCreateWithFlags(&join_, cudaEventDisableTiming), "cudaEventCreate");
      for (int i = 0; i < 2; ++i) {
        check_cublas(cublasCreate(&handles_[i]), "cublasCreate");
        check_cuda(cudaMalloc(&workspaces_[i], cublas_workspace_bytes), "cudaMalloc (cuBLAS workspace)");
        bind_handle(i, i == 0 ? stream_ : side_stream_);
      }
    } catch (...) {
      destroy();  // a constructor that throws runs no destructor
      throw;
    }
  }
  StreamLane(const StreamLane&) = delete;
  StreamLane& operator=(const StreamLane&) = delete;
  ~StreamLane() { destroy_on(device_, [this] { destroy(); }); }

  int device() const noexcept { return device_; }
  cudaStream_t stream() const noexcept { return stream_; }
  cudaStream_t side_stream() const noexcept { return side_stream_; }
  cublasHandle_t handle(int direction) const noexcept { return handles_[direction]; }
  cudaEvent_t fork_event() const noexcept { return fork_; }
  cudaEvent_t join_event() const noexcept { return join_; }
  std::mutex& mutex() noexcept { return mutex_; }

  /// Binds handle `i` (0: the main stream's, 1: the side stream's) to `stream` with its own workspace;
  /// a module binds handle 0 to its capture stream while it records a CUDA graph. Call with `mutex()`
  /// held. `cublasSetStream` resets the workspace to cuBLAS's own pool, so the workspace is set after it.
  void bind_handle(int i, cudaStream_t stream) {
    check_cublas(cublasSetStream(handles_[i], stream), "cublasSetStream");
    check_cublas(cublasSetWorkspace(handles_[i], workspaces_[i], cublas_workspace_bytes), "cublasSetWorkspace");
  }

  /// Sets both handles' math mode (TF32 tensor cores for fp32 products, or not) when it differs from the
  /// last module's; call with `mutex()` held.
  void use_tf32(bool on) {
    if (on == tf32_) return;
    for (auto handle : handles_)
      check_cublas(cublasSetMathMode(handle, on ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
                   "cublasSetMathMode");
    tf32_ = on;
  }

 private:
  void destroy() noexcept {
    if (stream_ != nullptr) (void)cudaStreamSynchronize(stream_);
    if (side_stream_ != nullptr) (void)cudaStreamSynchronize(side_stream_);
    for (int i = 0; i < 2; ++i) {
      if (handles_[i] != nullptr) (void)cublasDestroy(handles_[i]);
      handles_[i] = nullptr;
      if (workspaces_[i] != nullptr) (void)cudaFree(workspaces_[i]);
      workspaces_[i] = nullptr;
    }
    for (cudaEvent_t* event : {&fork_, &join_}) {
      if (*event != nullptr) (void)cudaEventDestroy(*event);
      *event = nullptr;
    }
    if (side_stream_ != nullptr) (void)cudaStreamDestroy(side_stream_);
    side_stream_ = nullptr;
    if (own_stream_ && stream_ != nullptr) (void)cudaStreamDestroy(stream_);
    stream_ = nullptr;
  }

  int device_;
  bool own_stream_;
  bool tf32_ = false;
  cudaStream_t stream_ = nullptr;
  cudaStream_t side_stream_ = nullptr;
  cudaEvent_t fork_ = nullptr;
  cudaEvent_t join_ = nullptr;
  cublasHandle_t handles_[2] = {nullptr, nullptr};
  void* workspaces_[2] = {nullptr, nullptr};
  std::mutex mutex_;
};

/// The lane of `stream` on the current device, shared by every module that runs there; `nullptr` is
/// the legacy default stream. A lane lives while a module uses it.
inline std::shared_ptr<StreamLane> lane_for_stream(cudaStream_t stream) {
  static std::mutex mutex;
  static std::map<std::pair<int, cudaStream_t>, std::weak_ptr<StreamLane>> lanes;
  int device = 0;
  check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  const std::lock_guard<std::mutex> lock(mutex);
  if (auto found = lanes.find({device, stream}); found != lanes.end()) {
    if (auto lane = found->second.lock()) return lane;
  }
  for (auto it = lanes.begin(); it != lanes.end();) it = it->second.expired() ? lanes.erase(it) : std::next(it);
  auto lane = std::make_shared<StreamLane>(device, stream, false);
  lanes[{device, stream}] = lane;
  return lane;
}

/// The current device's default lane: a blocking stream that seqnet creates once per device, where
/// every module runs until `set_stream` moves it, so modules chained on one device are ordered without
/// events. It lives until the process ends (deliberately never destroyed: results allocated on its
/// stream may outlive every module, and CUDA objects must not be destroyed during static destruction).
inline std::shared_ptr<StreamLane> default_lane() {
  static std::mutex mutex;
  static auto* lanes = new std::map<int, std::shared_ptr<StreamLane>>();  // never freed, see above
  int device = 0;
  check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  const std::lock_guard<std::mutex> lock(mutex);
  auto& lane = (*lanes)[device];
  if (lane == nullptr) lane = std::make_shared<StreamLane>(device, nullptr, true);
  return lane;
}

}  // namespace seqnet::cuda::detail
