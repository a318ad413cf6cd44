// SPDX-License-Identifier: MIT
/// @file seqnet.hpp
/// Umbrella header: PyTorch-compatible recurrent networks on Eigen. CPU code only: the CUDA backend is
/// opt-in through <seqnet/cuda.hpp> and never pulled in here.
#pragma once

#include "cell.hpp"
#include "cell_conversion.hpp"
#include "denormals.hpp"
#include "dtype.hpp"
#include "embedding.hpp"
#include "errors.hpp"
#include "linear.hpp"
#include "loss.hpp"
#include "module.hpp"
#include "optim.hpp"
#include "options.hpp"
#include "parameter.hpp"
#include "random.hpp"
#include "rnn.hpp"
#include "safetensors.hpp"
#include "sequence_lengths.hpp"
#include "sequential.hpp"
#include "state_dict.hpp"
#include "state.hpp"
#include "stream.hpp"
#include "tensor.hpp"
#include "threads.hpp"
#include "version.hpp"
#include "word_vectors.hpp"
