// SPDX-License-Identifier: MIT
#pragma once

// The device-neutral engine the CUDA backend plugs into (detail/rnn/plan.hpp, detail/math/gate_math.hpp),
// with the names the CUDA code uses brought into seqnet::cuda::detail.

#include "../../detail/math/gate_math.hpp"
#include "../../detail/rnn/checks.hpp"
#include "../../detail/rnn/layout.hpp"
#include "../../detail/rnn/plan.hpp"

namespace seqnet::cuda::detail {

using seqnet::Index;
using seqnet::detail::append_dropout_mask;
using seqnet::detail::CallShape;
using seqnet::detail::cell_call;
using seqnet::detail::CellKind;
using seqnet::detail::gate_element;
using seqnet::detail::max_gates;
using seqnet::detail::module_call;
using seqnet::detail::PackedBatch;
using seqnet::detail::ParameterLayout;
using seqnet::detail::PointwiseArgs;
using seqnet::detail::pointwise_element;
using seqnet::detail::project_after;
using seqnet::detail::ProjectArgs;
using seqnet::detail::recurrent_by_products;
using seqnet::detail::RecurrentSpec;
using seqnet::detail::SequenceBuffer;
using seqnet::detail::SequenceDims;
using seqnet::detail::StackIO;
using seqnet::detail::StackPlan;
using seqnet::detail::StepArgs;

}  // namespace seqnet::cuda::detail
