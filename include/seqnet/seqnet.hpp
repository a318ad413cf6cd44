// SPDX-License-Identifier: MIT
/// @file seqnet.hpp
/// Umbrella header: PyTorch-compatible recurrent networks on Eigen. CPU only; the CUDA backend has its
/// own opt-in include.
#pragma once

#include "cell.hpp"
#include "errors.hpp"
#include "module.hpp"
#include "options.hpp"
#include "parameter.hpp"
#include "random.hpp"
#include "rnn.hpp"
#include "state.hpp"
#include "tensor.hpp"
#include "version.hpp"
