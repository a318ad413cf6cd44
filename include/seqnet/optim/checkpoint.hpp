// SPDX-License-Identifier: MIT
/// @file checkpoint.hpp
/// A training checkpoint in one safetensors file: a model's parameters and its optimizer's state, saved and
/// restored together so that training resumes on the identical trajectory.
#pragma once

#include <string>
#include <utility>

#include "../safetensors.hpp"
#include "../state_dict.hpp"
#include "optimizer.hpp"

namespace seqnet::optim {

/// The model's parameters under `model.` and the optimizer's `state_dict()` under `optimizer.`: PyTorch's
/// `{'model': model.state_dict(), 'optimizer': optimizer.state_dict()}` as one flat state dict. Values are
/// doubles, so a float model's parameters are kept exactly. `model` is a module or anything with
/// `named_parameters()` (a model built with `seqnet::join`).
template <typename M, typename T>
StateDict<double> checkpoint_state_dict(const M& model, const Optimizer<T>& optimizer) {
  StateDict<double> dict;
  for (const auto& [name, tensor] : state_dict(model))
    dict.insert("model." + name, tensor.shape, std::vector<double>(tensor.values.begin(), tensor.values.end()));
  for (const auto& [name, tensor] : optimizer.state_dict()) dict.insert("optimizer." + name, tensor.shape, tensor.values);
  return dict;
}

/// Writes `checkpoint_state_dict(model, optimizer)` to `path` as safetensors (F64). In PyTorch:
/// `sd = safetensors.torch.load_file(path)`, then `model.load_state_dict({k[6:]: v for k, v in sd.items()
/// if k.startswith('model.')})` (load_state_dict converts to the model's dtype).
template <typename M, typename T>
void save_checkpoint(const std::string& path, const M& model, const Optimizer<T>& optimizer) {
  save_safetensors(path, checkpoint_state_dict(model, optimizer), Dtype::F64);
}

/// Restores what `save_checkpoint` wrote into `model` and `optimizer` (objects built as the saved ones were,
/// e.g. fresh ones in a new process), so that the next steps are those the saved run would have taken.
/// The file must hold every parameter of the model and nothing else under `model.` (`state_dict_error`
/// otherwise, PyTorch's messages), and fit the optimizer as its `load_state_dict` requires. Nothing
/// changes unless both fit. Tapes recorded before the load are stale (their `backward` throws).
template <typename M, typename T>
void load_checkpoint(const std::string& path, M& model, Optimizer<T>& optimizer) {
  const Safetensors file = Safetensors::read(path);
  const StateDict<double> saved_optimizer = file.state_dict<double>("optimizer");
  SEQNET_CHECK(key_error, !saved_optimizer.empty(), "'", path, "' holds no optimizer.* entries: not a checkpoint");
  StateDict<double> previous = optimizer.state_dict();
  optimizer.load_state_dict(saved_optimizer);
  try {
    load_safetensors(file, model, "model");
  } catch (...) {
    optimizer.load_state_dict(previous);  // all or nothing
    throw;
  }
}

}  // namespace seqnet::optim
