// SPDX-License-Identifier: MIT
/// @file gates_config.hpp
/// What the per-ISA fp32 gate kernels (gates_avx512.hpp, gates_avx2.hpp) receive: the rows of one gate
/// step, each a row-major matrix inside a larger buffer.
#pragma once

#include <Eigen/Core>

namespace seqnet::detail {

/// `rows` rows of gate pre-activations `gx` and `gh` (`[rows, G * hidden]`), the LSTM cell state `c`
/// (updated in place), the previous hidden state (GRU) and the next one; unused pointers may be null.
struct GateRows {
  Eigen::Index rows, hidden;
  const float* gx;
  Eigen::Index gx_stride;
  const float* gh;
  Eigen::Index gh_stride;
  float* c;
  Eigen::Index c_stride;
  const float* h_prev;
  Eigen::Index h_prev_stride;
  float* h_next;
  Eigen::Index h_next_stride;
};

}  // namespace seqnet::detail
