// SPDX-License-Identifier: MIT
#pragma once

#include <stdexcept>
#include <string>

#include <cublas_v2.h>
#include <cuda_runtime.h>

namespace seqnet::cuda {

/// Thrown when the CUDA runtime or cuBLAS reports an error, or no CUDA device is usable. The message
/// names the call and carries CUDA's own error string, e.g.
/// `cudaMallocAsync: out of memory (cudaErrorMemoryAllocation)`.
class cuda_error : public std::runtime_error {
 public:
  cuda_error(const std::string& message, int code) : std::runtime_error(message), code_(code) {}
  /// The `cudaError_t` or `cublasStatus_t` value.
  int code() const noexcept { return code_; }

 private:
  int code_;
};

namespace detail {

inline void check_cuda(cudaError_t status, const char* call) {
  if (status != cudaSuccess)
    throw cuda_error(std::string(call) + ": " + cudaGetErrorString(status) + " (" + cudaGetErrorName(status) + ")",
                     static_cast<int>(status));
}

inline void check_cublas(cublasStatus_t status, const char* call) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw cuda_error(std::string(call) + ": " + cublasGetStatusString(status) + " (" + cublasGetStatusName(status) +
                         ")",
                     static_cast<int>(status));
}

/// Checks the launch of the kernel just issued (a bad configuration is reported here; a fault while it
/// runs surfaces at the next synchronising call, as always in CUDA).
inline void check_launch(const char* kernel) { check_cuda(cudaGetLastError(), kernel); }

}  // namespace detail

/// Number of CUDA devices this process can use; 0 when there is none or no driver (never throws).
inline int device_count() noexcept {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky "no device" error so later calls are not blamed for it
    return 0;
  }
  return count;
}

/// Whether a CUDA device is available.
inline bool is_available() noexcept { return device_count() > 0; }

/// Throws `cuda_error` naming the reason when no device can be used.
inline void require_device() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();
    detail::check_cuda(status, "no usable CUDA device: cudaGetDeviceCount");
  }
  if (count == 0) throw cuda_error("no usable CUDA device: cudaGetDeviceCount found 0 devices", 100);
}

}  // namespace seqnet::cuda
