// SPDX-License-Identifier: MIT
/// @file cuda.hpp
/// seqnet's CUDA backend: `seqnet::cuda::RNN`, `GRU`, `LSTM` and the cells on the GPU, with the CPU
/// modules' options, parameter names and results, plus `DeviceTensor`. Include it from a file compiled by
/// nvcc and link the `seqnet::cuda` CMake target (CUDA runtime and cuBLAS). `seqnet.hpp` never includes it.
#pragma once

#if !defined(__CUDACC__)
#error "<seqnet/cuda.hpp> contains CUDA kernels: include it from a .cu file compiled by nvcc"
#endif

// seqnet uses Eigen on the host only; this keeps Eigen from marking its code __host__ __device__
// (the seqnet::cuda target also defines it, for files that include Eigen first).
#if !defined(EIGEN_NO_CUDA)
#define EIGEN_NO_CUDA
#endif

#include "seqnet.hpp"

#include "cuda/cell.hpp"
#include "cuda/device_tensor.hpp"
#include "cuda/error.hpp"
#include "cuda/module.hpp"
#include "cuda/rnn.hpp"
