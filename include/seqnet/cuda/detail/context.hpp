// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include <cuda_runtime.h>

#include "../device_tensor.hpp"
#include "../error.hpp"
#include "stream_lane.hpp"

namespace seqnet::cuda::detail {

/// What one GPU module runs with: the lane of its stream (shared with every module on that stream),
/// its own reusable device buffers and pinned staging memory, and its CUDA graphs. Calls are serialised
/// by the lane's mutex, which the module holds for a whole call.
template <typename T>
class Context {
 public:
  /// Graphs kept per module: a loop that alternates between a few sets of buffers (a caller who keeps
  /// the previous results alive while the next call allocates new ones) replays each of them.
  static constexpr std::size_t graph_cache_size = 4;

  /// On the current device's default lane. Throws `cuda_error` when no device is usable.
  Context() {
    require_device();
    check_cuda(cudaGetDevice(&device_), "cudaGetDevice");
    lane_ = default_lane();
    try {
      for (auto& slot : staging_)
        check_cuda(cudaEventCreateWithFlags(&slot.read, cudaEventDisableTiming), "cudaEventCreate");
    } catch (...) {
      destroy();  // a constructor that throws runs no destructor
      throw;
    }
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context() { destroy_on(device_, [this] { destroy(); }); }

  int device() const noexcept { return device_; }
  StreamLane& lane() const noexcept { return *lane_; }
  cudaStream_t stream() const noexcept { return lane_->stream(); }
  /// Where the forward pass issues its main-direction work: `stream()`, or the module's capture stream
  /// while `launch` records a graph.
  cudaStream_t issue_stream() const noexcept { return recording_ ? capture_stream_ : lane_->stream(); }

  /// Moves the module to `stream` (its lane is shared with the other modules there). Work already
  /// issued finishes first and the reusable buffers are released on the stream they were allocated on,
  /// so nothing is ever freed on a stream the caller may destroy later (results are the caller's: each
  /// is freed on the stream it was allocated on).
  void set_stream(cudaStream_t stream) {
    DeviceGuard guard(device_);
    check_cuda(cudaStreamSynchronize(this->stream()), "cudaStreamSynchronize");
    release_buffers();
    check_cuda(cudaStreamSynchronize(this->stream()), "cudaStreamSynchronize");
    lane_ = lane_for_stream(stream);
    reset_graphs();
  }

  /// Runs `enqueue()` (which issues the whole forward pass on `stream()`) directly, or through a CUDA
  /// graph. `key` names everything the launches depend on (shapes, lengths, buffer addresses, math
  /// mode). A key seen again among the recent ones is captured and kept (up to `graph_cache_size`
  /// graphs, the least recently used one updated in place when its topology allows), and replayed
  /// while it recurs; a key never seen before runs directly, so a pattern that changes on every call
  /// never pays for a capture it cannot reuse.
  template <typename Enqueue>
  void launch(bool use_graph, const std::vector<std::int64_t>& key, Enqueue&& enqueue) {
    const cudaStream_t s = stream();
    // The legacy default stream cannot be captured; a stream the caller is capturing already records
    // the launches into the caller's graph (a capture cannot be begun on it again).
    cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
    if (use_graph && s != nullptr && s != cudaStreamLegacy)
      check_cuda(cudaStreamIsCapturing(s, &capturing), "cudaStreamIsCapturing");
    if (!use_graph || s == nullptr || s == cudaStreamLegacy || capturing != cudaStreamCaptureStatusNone) {
      enqueue();
      return;
    }
    ++clock_;
    for (auto& cached : graphs_) {
      if (cached.key == key) {
        cached.used = clock_;
        check_cuda(cudaGraphLaunch(cached.exec, s), "cudaGraphLaunch");
        return;
      }
    }
    const auto seen = std::find(seen_.begin(), seen_.end(), key);
    if (seen == seen_.end()) {
      if (seen_.size() == graph_cache_size) seen_.erase(seen_.begin());
      seen_.push_back(key);
      enqueue();
      return;
    }
    seen_.erase(seen);

    // Recorded on a stream of the module's own, not on `stream()`: other threads and modules keep
    // issuing work to a shared stream, which a capture of that stream would swallow. The graph is
    // then launched on `stream()`, in its order.
    if (capture_stream_ == nullptr)
      check_cuda(cudaStreamCreateWithFlags(&capture_stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    const cudaGraph_t graph = record(enqueue);
    CachedGraph* slot = nullptr;
    if (graphs_.size() < graph_cache_size) {
      graphs_.emplace_back();
      slot = &graphs_.back();
    } else {
      slot = &*std::min_element(graphs_.begin(), graphs_.end(),
                                [](const CachedGraph& a, const CachedGraph& b) { return a.used < b.used; });
      cudaGraphExecUpdateResultInfo info{};
      if (cudaGraphExecUpdate(slot->exec, graph, &info) != cudaSuccess) {
        (void)cudaGetLastError();
        (void)cudaGraphExecDestroy(slot->exec);
        slot->exec = nullptr;
      }
    }
    if (slot->exec == nullptr) {
      const cudaError_t status = cudaGraphInstantiate(&slot->exec, graph, 0);
      if (status != cudaSuccess) {
        slot->exec = nullptr;
        graphs_.erase(graphs_.begin() + (slot - graphs_.data()));
        (void)cudaGraphDestroy(graph);
        check_cuda(status, "cudaGraphInstantiate");
      }
    }
    (void)cudaGraphDestroy(graph);
    slot->key = key;
    slot->used = clock_;
    check_cuda(cudaGraphLaunch(slot->exec, s), "cudaGraphLaunch");
  }
  /// Graphs this module holds (for tests and diagnostics).
  std::size_t cached_graphs() const noexcept { return graphs_.size(); }

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
    const cudaStream_t s = stream();
    cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
    if (s != nullptr && s != cudaStreamLegacy) check_cuda(cudaStreamIsCapturing(s, &capturing), "cudaStreamIsCapturing");
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
    check_cuda(cudaMemcpyAsync(device, slot.data, bytes, cudaMemcpyHostToDevice, s), "cudaMemcpyAsync (upload)");
    check_cuda(cudaEventRecord(slot.read, s), "cudaEventRecord");
  }

  DeviceBuffer<T> workspace;  ///< the plan's workspace, grown when a call needs more
  DeviceBuffer<Index> order;  ///< a packed batch's sorted order
  std::vector<Index> uploaded_order;  ///< what `order` holds (uploaded again only when it changes)
  DeviceBuffer<T> mask;       ///< dropout multipliers of every layer of one call
  DeviceBuffer<T> converted;  ///< an fp16/bf16 input converted to T
  std::vector<T> host_mask;

 private:
  /// Captures `enqueue()` on the capture stream, with the lane's main cuBLAS handle bound to it for
  /// the while.
  template <typename Enqueue>
  cudaGraph_t record(Enqueue&& enqueue) {
    struct Recording {
      Context& context;
      explicit Recording(Context& c) : context(c) {
        context.lane_->bind_handle(0, context.capture_stream_);
        context.recording_ = true;
      }
      ~Recording() {
        context.recording_ = false;
        try {
          context.lane_->bind_handle(0, context.lane_->stream());
        } catch (...) {
        }
      }
    } recording(*this);
    cudaGraph_t graph = nullptr;
    check_cuda(cudaStreamBeginCapture(capture_stream_, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
    try {
      enqueue();
    } catch (...) {
      (void)cudaStreamEndCapture(capture_stream_, &graph);
      if (graph != nullptr) (void)cudaGraphDestroy(graph);
      throw;
    }
    check_cuda(cudaStreamEndCapture(capture_stream_, &graph), "cudaStreamEndCapture");
    return graph;
  }

  struct CachedGraph {
    std::vector<std::int64_t> key;
    cudaGraphExec_t exec = nullptr;
    std::uint64_t used = 0;
  };
  struct StagingSlot {
    void* data = nullptr;  ///< pinned host memory
    std::size_t bytes = 0;
    cudaEvent_t read = nullptr;  ///< recorded after the slot's upload: the memory may be reused
  };

  void release_buffers() noexcept {
    workspace = DeviceBuffer<T>();
    order = DeviceBuffer<Index>();
    uploaded_order.clear();
    mask = DeviceBuffer<T>();
    converted = DeviceBuffer<T>();
  }
  void reset_graphs() noexcept {
    for (auto& cached : graphs_) (void)cudaGraphExecDestroy(cached.exec);
    graphs_.clear();
    seen_.clear();
  }
  /// Releases everything this context created, in stream order; tolerates a partly built context.
  void destroy() noexcept {
    reset_graphs();
    release_buffers();
    if (lane_ != nullptr) (void)cudaStreamSynchronize(lane_->stream());
    for (auto& slot : staging_) {
      if (slot.read != nullptr) {
        (void)cudaEventSynchronize(slot.read);
        (void)cudaEventDestroy(slot.read);
      }
      if (slot.data != nullptr) (void)cudaFreeHost(slot.data);
      slot = StagingSlot();
    }
    if (capture_stream_ != nullptr) (void)cudaStreamDestroy(capture_stream_);
    capture_stream_ = nullptr;
    lane_.reset();
  }

  int device_ = 0;
  std::shared_ptr<StreamLane> lane_;
  cudaStream_t capture_stream_ = nullptr;  ///< where graphs are recorded (created at the first capture)
  bool recording_ = false;
  StagingSlot staging_[2];
  std::vector<CachedGraph> graphs_;
  std::vector<std::vector<std::int64_t>> seen_;  ///< recent keys not (yet) captured
  std::uint64_t clock_ = 0;
};

}  // namespace seqnet::cuda::detail
