// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>

#include "../../module.hpp"
#include "../../random.hpp"
#include "../../recurrent_tape.hpp"
#include "cpu_backend.hpp"
#include "layout.hpp"
#include "plan.hpp"
#include "spec.hpp"

namespace seqnet::detail {

/// Base of the recurrent modules (RNN, LSTM, GRU and their cells): one `RecurrentSpec` fixes the
/// parameter layout, the checks, the repr and the forward pass, which is one `StackPlan` run on the CPU
/// backend.
template <typename T>
class RecurrentModule : public Module<T> {
 public:
  /// Re-draws every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch's `reset_parameters`,
  /// one draw per element (a cell of hidden_size 0 has none; PyTorch's bound is 0 then).
  void reset_parameters(Generator& generator = default_generator()) {
    const double bound = spec_.hidden_size > 0 ? 1.0 / std::sqrt(static_cast<double>(spec_.hidden_size)) : 0.0;
    T* values = this->params_.data();
    for (Index i = 0; i < this->params_.size(); ++i) values[i] = static_cast<T>(generator.uniform(-bound, bound));
  }

  /// The generator dropout masks are drawn from; by default `default_generator()`. A training-mode
  /// forward with dropout > 0 advances it, so modules running concurrently in training mode need
  /// generators of their own (eval-mode forwards touch no shared state).
  void set_generator(Generator& generator) noexcept { generator_ = &generator; }

  std::string repr() const override { return spec_.repr(); }

  /// Keeps the weights packed for the GEMM from one call to the next (the next call packs them), instead
  /// of packing on every call (at H=1024 an LSTM's packing takes about 1 ms; a small cell step spends
  /// most of its time on it). A prepacked cell's single-row steps also take the one-product real-time
  /// path (`TinyStep`), whose sums run in another order: equal to the unpacked results up to rounding.
  /// The packed weights are tied to the parameters' version (`parameter_version()`): any writable
  /// accessor call (`named_parameters()`, `parameter()`, `flat_parameters()`, the weight accessors,
  /// `load_state_dict`, `load_safetensors`, `reset_parameters`) starts a new version and ends the
  /// prepacking, so every later call reads the parameters again, which is always correct; call
  /// `prepack()` again to resume. Reading through a const module (`state_dict`, `save_safetensors`)
  /// keeps it. A write through a view obtained earlier is the one thing no accessor sees: call
  /// `prepack()` (or `touch_parameters()`) after it. (PyTorch's "freeze" means "no gradient", which
  /// `Embedding::from_pretrained(freeze)` follows; this is not that.)
  /// `prepack(false)` ends it: every forward call reads the parameters again.
  void prepack(bool on = true) noexcept {
    if (!on) {
      prepacked_version_ = 0;
      return;
    }
    this->params_.touch();  // re-read the values even if nothing since the last prepack() was seen
    prepacked_version_ = this->params_.version();
  }
  /// Whether forward calls reuse packed weights (`prepack()` and no writable access since).
  bool is_prepacked() const noexcept { return prepacked_version_ == this->params_.version(); }

  /// The shape description the forward pass, the checks and the parameter layout are derived from.
  const RecurrentSpec& spec() const noexcept { return spec_; }

 protected:
  RecurrentModule(const RecurrentSpec& spec, Generator& generator)
      : Module<T>(spec.name(), ParameterLayout(validated(spec)).table), spec_(spec), layout_(spec_) {
    reset_parameters(generator);
  }

  Generator& generator() const noexcept { return generator_ != nullptr ? *generator_ : default_generator(); }

  /// How this call may use and keep packed weights. A prepacked cell's single-row step takes `TinyStep`;
  /// a stacked module's call gives the same bits prepacked or not (a `Stream` over a prepacked module is
  /// where its layers take `TinyStep`).
  WeightUse weight_use() const noexcept {
    const bool kept = is_prepacked();
    return {this->params_.version(), kept, kept && spec_.is_cell};
  }

  /// Runs the plan of one checked call on the module's cached workspace.
  void run_plan(const SequenceDims& dims, const PackedBatch* packed, const StackIO<T>& io) const {
    const WeightUse use = weight_use();
    if (packed == nullptr && takes_tiny_step<T>(spec_, dims, use, this->training_)) {
      workspace_.with([&](CpuWorkspace<T>& workspace) {
        run_tiny_step_on_cpu(spec_, layout_, this->params_.data(), io, workspace, use);
      });
      return;
    }
    const StackPlan<T> plan(spec_, layout_, dims, packed);
    workspace_.with([&](CpuWorkspace<T>& workspace) {
      run_on_cpu(plan, spec_, layout_, this->params_.data(), packed, io, this->training_, generator(), workspace, use);
    });
  }

  /// The call `tape` recorded, after checking that this module recorded it and has not changed since.
  const CallShape& recorded_call(const RecurrentTape<T>& tape) const {
    SEQNET_CHECK(value_error, tape.owner_ != nullptr, spec_.name(), ".backward: the tape holds no recorded forward call");
    SEQNET_CHECK(value_error, tape.owner_ == this, spec_.name(),
                 ".backward: the tape was recorded by another module (or by this module before it was moved)");
    SEQNET_CHECK(value_error, tape.version_ == this->params_.version(), spec_.name(),
                 ".backward: the parameters were written, or accessed for writing, after forward_train recorded "
                 "this tape; record it again (PyTorch: one of the variables needed for gradient computation has "
                 "been modified by an inplace operation)");
    return tape.call_;
  }
  static const Shape& recorded_input_shape(const RecurrentTape<T>& tape) noexcept { return tape.input_shape_; }
  /// A gradient must have the shape of what it is the gradient of.
  static void check_gradient_shape(const char* what, const Shape& given, const Shape& expected) {
    SEQNET_CHECK(shape_error, given == expected, what, " has shape ", given.str(), ", expected ", expected.str(),
                 " (the shape of the recorded call's result)");
  }

  /// Runs the plan of one checked call and records it into `tape` for `run_backward`.
  void run_plan_recorded(const CallShape& call, const Shape& input_shape, const StackIO<T>& io,
                         RecurrentTape<T>& tape) const {
    tape.owner_ = nullptr;  // stays unrecorded if the call throws
    tape.call_ = call;      // copy-assigned: reuses the tape's vectors at an unchanged shape
    tape.input_shape_ = input_shape;
    tape.training_ = this->training_;
    const PackedBatch* packed = call.has_lengths ? &tape.call_.packed : nullptr;
    const StackPlan<T> plan(spec_, layout_, tape.call_.dims, packed);
    plan.tape_layout_into(tape.layout_, this->training_);
    ensure_size(tape.data_, tape.layout_.total);
    const bool replay = tape.replay_pending_;
    if (replay) place_replayed_masks(tape, input_shape);
    const TapeView<T> view{&tape.layout_, tape.data_.data(), replay};
    const WeightUse use = weight_use();  // a recording call never takes TinyStep (CpuWorkspace::prepare)
    workspace_.with([&](CpuWorkspace<T>& workspace) {
      run_on_cpu(plan, spec_, layout_, this->params_.data(), packed, io, this->training_, generator(), workspace, use,
                 view);
    });
    tape.owner_ = this;
    tape.version_ = this->params_.version();
    tape.replay_pending_ = false;
  }

  /// Checks the masks given to `RecurrentTape::replay_dropout_masks` against this call and copies them
  /// into the tape's mask slots, where the plan applies them and backward finds them.
  void place_replayed_masks(RecurrentTape<T>& tape, const Shape& input_shape) const {
    const Index masks = spec_.num_layers - 1;
    SEQNET_CHECK(value_error, this->training_ && spec_.dropout > 0 && masks > 0, spec_.name(),
                 ".forward_train: dropout masks were given, but this call applies no dropout (that needs "
                 "training mode, dropout > 0 and more than one layer)");
    SEQNET_CHECK(value_error, static_cast<Index>(tape.replay_shapes_.size()) == masks, spec_.name(),
                 ".forward_train: expected ", masks, " dropout masks (one per layer but the last), got ",
                 tape.replay_shapes_.size());
    std::vector<Index> dims(input_shape.begin(), input_shape.end());
    dims.back() = spec_.directions() * spec_.output_size();
    const Shape expected(dims);
    const T* values = tape.replay_values_.data();
    for (Index layer = 0; layer < masks; ++layer) {
      const Shape& given = tape.replay_shapes_[static_cast<std::size_t>(layer)];
      SEQNET_CHECK(shape_error, given == expected, spec_.name(), ".forward_train: dropout mask ", layer, " has shape ",
                   given.str(), ", expected ", expected.str(), " (the shape of layer ", layer, "'s output)");
      const Index count = expected.numel();
      std::copy(values, values + count, tape.data_.data() + tape.layout_.mask[static_cast<std::size_t>(layer)]);
      values += count;
    }
  }

  /// The backward pass of the call recorded in `tape`, which the caller has checked with
  /// `recorded_call` (it needed the call's shapes first); `io.grad_params` is set here (the module's
  /// gradients, which it adds to).
  void backward_recorded(RecurrentTape<T>& tape, StackGradIO<T> io) {
    const PackedBatch* packed = tape.call_.has_lengths ? &tape.call_.packed : nullptr;
    const StackPlan<T> plan(spec_, layout_, tape.call_.dims, packed);
    ensure_size(tape.scratch_, plan.backward_workspace_size());
    io.grad_params = this->params_.gradients();
    const TapeView<T> view{&tape.layout_, tape.data_.data()};
    const T* params = std::as_const(this->params_).data();
    workspace_.with([&](CpuWorkspace<T>& workspace) {
      backward_on_cpu(plan, params, packed, io, workspace, tape.scratch_.data(), view);
    });
  }

  RecurrentSpec spec_;
  ParameterLayout layout_;
  Generator* generator_ = nullptr;
  WorkspaceCache<T> workspace_;
  std::uint64_t prepacked_version_ = 0;

 private:
  static const RecurrentSpec& validated(const RecurrentSpec& spec) {
    spec.validate();
    return spec;
  }
};

}  // namespace seqnet::detail
