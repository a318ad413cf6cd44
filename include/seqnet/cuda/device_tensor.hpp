// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "../detail/util/half.hpp"
#include "../module.hpp"
#include "../tensor.hpp"
#include "error.hpp"

namespace seqnet::cuda {

/// fp16 and bf16 element types of device tensors (CUDA's own).
using half = __half;
using bfloat16 = __nv_bfloat16;

namespace detail {

/// Device memory for `count` elements of `T`, allocated and freed in stream order (`cudaMallocAsync`),
/// so allocating a result inside a forward call neither synchronises nor waits for the device.
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(Index count, cudaStream_t stream) : count_(count), stream_(stream) {
    if (count > 0) {
      void* data = nullptr;
      check_cuda(cudaMallocAsync(&data, static_cast<std::size_t>(count) * sizeof(T), stream), "cudaMallocAsync");
      data_ = static_cast<T*>(data);
    }
  }
  DeviceBuffer(DeviceBuffer&& other) noexcept { swap(other); }
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    DeviceBuffer(std::move(other)).swap(*this);
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() {
    if (data_ != nullptr) (void)cudaFreeAsync(data_, stream_);  // a destructor cannot report it
  }

  T* data() const noexcept { return data_; }
  Index size() const noexcept { return count_; }
  cudaStream_t stream() const noexcept { return stream_; }
  /// Makes room for `count` elements (contents are not kept).
  void reserve(Index count, cudaStream_t stream) {
    if (count > count_) *this = DeviceBuffer(count, stream);
  }
  void swap(DeviceBuffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(count_, other.count_);
    std::swap(stream_, other.stream_);
  }

 private:
  T* data_ = nullptr;
  Index count_ = 0;
  cudaStream_t stream_ = nullptr;
};

template <typename T>
constexpr bool is_half_type = std::is_same_v<T, half> || std::is_same_v<T, bfloat16>;

}  // namespace detail

/// A dense row-major tensor in device memory, owning it (move-only): the GPU counterpart of
/// `seqnet::Tensor<T, R>`. `T` is float, double, `cuda::half` or `cuda::bfloat16`. Copies between host
/// and device are explicit and take a stream; memory is allocated and freed in that stream's order.
/// Example:
/// ```
/// auto x_dev = seqnet::cuda::to_device(x, stream);      // Tensor<float, 3> -> DeviceTensor<float, 3>
/// auto out = x_dev.to_host(stream);                      // waits for `stream`, returns Tensor<float, 3>
/// ```
template <typename T, int R>
class DeviceTensor {
  static_assert(std::is_floating_point_v<T> || detail::is_half_type<T>,
                "DeviceTensor holds float, double, cuda::half or cuda::bfloat16");

 public:
  using Scalar = T;
  static constexpr int rank = R;

  /// Empty: shape `[0, ..., 0]` (rank `R`), no memory. (A rank-0 `Shape` would report one element
  /// behind a null pointer.)
  DeviceTensor() : shape_(std::vector<Index>(static_cast<std::size_t>(R), 0)) {}
  /// Uninitialised device memory of `shape` (rank `R`), allocated on `stream`.
  explicit DeviceTensor(const Shape& shape, cudaStream_t stream = nullptr)
      : shape_(checked(shape)), buffer_(shape.numel(), stream) {}

  T* data() noexcept { return buffer_.data(); }
  const T* data() const noexcept { return buffer_.data(); }
  const Shape& shape() const noexcept { return shape_; }
  Index size() const noexcept { return buffer_.size(); }  // shape().numel(), 0 when nothing is allocated
  Index dimension(Index i) const { return shape_[i]; }
  /// The stream the memory was allocated on and will be freed on.
  cudaStream_t stream() const noexcept { return buffer_.stream(); }

  /// Sets every byte to `value` on `stream` (tests poison results with 0xFF: NaN in every float type).
  void fill_bytes(unsigned char value, cudaStream_t stream) {
    if (size() > 0)
      detail::check_cuda(cudaMemsetAsync(data(), value, static_cast<std::size_t>(size()) * sizeof(T), stream),
                         "cudaMemsetAsync");
  }

  /// Copies `host` in on `stream`; the shapes must match (`shape_error` otherwise).
  void copy_from(const Tensor<T, R>& host, cudaStream_t stream) {
    seqnet::detail::check<shape_error>(seqnet::shape(host) == shape_, "DeviceTensor::copy_from: expected shape ",
                                       shape_.str(), ", got ", seqnet::shape(host).str());
    copy_in(host.data(), stream);
  }

  /// Copies to a host tensor on `stream` and waits for that stream (an explicit synchronisation).
  /// fp16/bf16 tensors come back as float.
  auto to_host(cudaStream_t stream = nullptr) const {
    using Host = std::conditional_t<detail::is_half_type<T>, float, T>;
    Tensor<Host, R> host = seqnet::detail::make_tensor<Host, R>(shape_);
    if constexpr (detail::is_half_type<T>) {
      std::vector<std::uint16_t> bits(static_cast<std::size_t>(size()));
      copy_out(bits.data(), stream);
      for (Index i = 0; i < size(); ++i) host.data()[i] = to_float(bits[static_cast<std::size_t>(i)]);
    } else {
      copy_out(host.data(), stream);
    }
    return host;
  }

  /// Copies `count` elements from host memory at `source` (fp16/bf16: their 16-bit patterns).
  void copy_in(const void* source, cudaStream_t stream) {
    if (size() > 0)
      detail::check_cuda(cudaMemcpyAsync(data(), source, static_cast<std::size_t>(size()) * sizeof(T),
                                         cudaMemcpyHostToDevice, stream),
                         "cudaMemcpyAsync (host to device)");
  }

 private:
  static const Shape& checked(const Shape& shape) {
    seqnet::detail::check<shape_error>(shape.rank() == R, "DeviceTensor of rank ", R, " cannot have shape ",
                                       shape.str());
    return shape;
  }
  void copy_out(void* target, cudaStream_t stream) const {
    if (size() == 0) return;
    detail::check_cuda(cudaMemcpyAsync(target, data(), static_cast<std::size_t>(size()) * sizeof(T),
                                       cudaMemcpyDeviceToHost, stream),
                       "cudaMemcpyAsync (device to host)");
    detail::check_cuda(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  }
  static float to_float(std::uint16_t bits) {
    return std::is_same_v<T, half> ? seqnet::detail::half_to_float(bits) : seqnet::detail::bfloat16_to_float(bits);
  }

  Shape shape_;
  detail::DeviceBuffer<T> buffer_;
};

/// Copies a host tensor to a new device tensor on `stream`.
template <typename T, int R>
DeviceTensor<T, R> to_device(const Tensor<T, R>& host, cudaStream_t stream = nullptr) {
  DeviceTensor<T, R> device(seqnet::shape(host), stream);
  device.copy_in(host.data(), stream);
  return device;
}

/// Copies a float host tensor to a new fp16 or bf16 device tensor (rounded to nearest even on the host):
/// `auto x16 = seqnet::cuda::to_device_as<seqnet::cuda::half>(x, stream);`
template <typename Half, int R>
DeviceTensor<Half, R> to_device_as(const Tensor<float, R>& host, cudaStream_t stream = nullptr) {
  static_assert(detail::is_half_type<Half>, "to_device_as converts to cuda::half or cuda::bfloat16");
  std::vector<std::uint16_t> bits(static_cast<std::size_t>(host.size()));
  for (Index i = 0; i < host.size(); ++i)
    bits[static_cast<std::size_t>(i)] = std::is_same_v<Half, half> ? seqnet::detail::float_to_half(host.data()[i])
                                                                    : seqnet::detail::float_to_bfloat16(host.data()[i]);
  DeviceTensor<Half, R> device(seqnet::shape(host), stream);
  device.copy_in(bits.data(), stream);
  // The staging vector dies here: a host-to-device copy from pageable memory has read it on return.
  return device;
}

}  // namespace seqnet::cuda
