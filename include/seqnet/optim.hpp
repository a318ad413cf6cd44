// SPDX-License-Identifier: MIT
/// @file optim.hpp
/// `seqnet::optim`: PyTorch's optimizers (`SGD`, `Adam`, `AdamW`, `RMSprop`, `Adagrad`) with parameter
/// groups and state export, gradient clipping (`clip_grad_norm_`, `clip_grad_value_`) and the `StepLR`
/// and `CosineAnnealingLR` schedulers. See docs/training.md.
#pragma once

#include "optim/adagrad.hpp"
#include "optim/adam.hpp"
#include "optim/checkpoint.hpp"
#include "optim/clip_grad.hpp"
#include "optim/lr_scheduler.hpp"
#include "optim/optimizer.hpp"
#include "optim/rmsprop.hpp"
#include "optim/sgd.hpp"
