// SPDX-License-Identifier: MIT
#pragma once

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "gates.hpp"
#include "gemm.hpp"
#include "spec.hpp"
#include "tiny_step.hpp"

namespace seqnet::detail {

/// Scratch of one direction of a layer: the input projections of all steps, the running state of a
/// packed batch, and the per-step GEMM buffers. Two of them let both directions run at once.
template <typename T>
struct DirectionScratch {
  AlignedVector<T> input_gates;  ///< [seq * batch, G * H]
  AlignedVector<T> state;        ///< [batch, H_out]: zeros or h_0, and a packed batch's running state
  std::vector<AlignedVector<T>> thread_gemm;  ///< packing space of the helper threads sharing this direction
  std::unique_ptr<StepWorkspace<T>> step;
  Index step_batch = 0;

  /// Packing space for `threads - 1` helper threads (the caller uses the products' own).
  void reserve_threads(int threads, Index gemm_space) {
    if (static_cast<int>(thread_gemm.size()) < threads - 1) thread_gemm.resize(static_cast<std::size_t>(threads - 1));
    for (int i = 0; i < threads - 1; ++i) ensure_size(thread_gemm[static_cast<std::size_t>(i)], gemm_space);
  }
  /// Thread `thread`'s part in a team of `threads` (after `reserve_threads(threads, ...)`).
  StepTeam<T> team(int thread, int threads, SpinBarrier& barrier) {
    return {thread, threads, threads > 1 ? &barrier : nullptr,
            thread == 0 ? nullptr : thread_gemm[static_cast<std::size_t>(thread - 1)].data()};
  }

  void reserve(const RecurrentSpec& spec, Index seq_len, Index batch) {
    ensure_size(input_gates, seq_len * batch * spec.gate_size());
    ensure_size(state, batch * spec.output_size());
    if (batch > step_batch) {
      step = std::make_unique<StepWorkspace<T>>(spec, batch);
      step_batch = batch;
    }
  }
};

/// Everything a forward pass of a whole stack needs besides its inputs and results, sized for the
/// largest `(seq_len, batch)` seen so far. Kept by a module (or a stream) between calls, it makes a
/// steady-state forward allocation-free.
template <typename T>
struct StackWorkspace {
  AlignedVector<T> between_layers[2];  ///< ping-pong outputs of the inner layers, [seq * batch, D * H_out]
  DirectionScratch<T> directions[2];
  AlignedVector<T> sorted[4];          ///< a packed batch in sorted order: input, output, h, c
  std::vector<PackedDirection<T>> weights;  ///< per layer and direction, packed from the parameters
  PackedDirection<T> cell_weights;          ///< a cell's weights, packed (several rows, or frozen)
  PackedDirection<T> cell_gemv;             ///< a cell's weights for unfrozen one-row steps (used in place)
  /// Per layer (or the cell's one), packed for single-row steps (`TinyStep`); a stream or a frozen module.
  std::vector<TinyStep<T>> tiny;
  /// Keep the packed weights (`weights`, `cell_weights`, `tiny`) from one call to the next (a stream, a
  /// frozen module) instead of packing the parameters again on every call (they may have been written).
  bool keep_weights = false;
  bool weights_current = false;  ///< `weights` and `cell_weights` hold the current parameters
  bool tiny_current = false;     ///< `tiny` holds the current parameters

  /// The parameters may have changed: every packed copy is packed again before its next use.
  void weights_changed() noexcept {
    weights_current = false;
    tiny_current = false;
  }

  void reserve(const RecurrentSpec& spec, Index seq_len, Index batch) {
    const Index width = spec.directions() * spec.output_size();
    if (static_cast<Index>(weights.size()) != spec.num_layers * spec.directions()) {
      weights.clear();
      weights.resize(static_cast<std::size_t>(spec.num_layers * spec.directions()));
      weights_current = false;
    }
    for (Index i = 0; i < std::min<Index>(spec.num_layers - 1, 2); ++i) ensure_size(between_layers[i], seq_len * batch * width);
    for (Index dir = 0; dir < spec.directions(); ++dir) directions[dir].reserve(spec, seq_len, batch);
  }
  void reserve_sorted(const RecurrentSpec& spec, Index seq_len, Index batch) {
    const Index stacked = spec.num_layers * spec.directions();
    ensure_size(sorted[0], seq_len * batch * spec.input_size);
    ensure_size(sorted[1], seq_len * batch * spec.directions() * spec.output_size());
    ensure_size(sorted[2], stacked * batch * spec.output_size());
    ensure_size(sorted[3], spec.kind == CellKind::LSTM ? stacked * batch * spec.hidden_size : 0);
  }
};

/// A module's own workspace, reused by its forward calls so that repeated calls stop allocating.
/// Forward is const and may run on several threads at once: a call that finds the cached workspace
/// busy runs with a fresh one of its own instead of waiting. Copies start with an empty cache.
template <typename T>
class WorkspaceCache {
 public:
  WorkspaceCache() = default;
  WorkspaceCache(const WorkspaceCache&) {}
  WorkspaceCache(WorkspaceCache&&) noexcept {}
  // The module's parameters were replaced: what was packed from the old ones must go.
  WorkspaceCache& operator=(const WorkspaceCache&) {
    invalidate();
    return *this;
  }
  WorkspaceCache& operator=(WorkspaceCache&&) noexcept {
    invalidate();
    return *this;
  }

  /// Makes the next call pack the weights again. Not for use while a call runs.
  void invalidate() noexcept { workspace_.weights_changed(); }

  /// Calls `f(StackWorkspace<T>&)` with the cached workspace, or with a temporary one if another
  /// thread is using it.
  template <typename F>
  decltype(auto) with(F&& f) const {
    std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
    if (lock.owns_lock()) return std::forward<F>(f)(workspace_);
    StackWorkspace<T> temporary;
    return std::forward<F>(f)(temporary);
  }

 private:
  mutable std::mutex mutex_;
  mutable StackWorkspace<T> workspace_;
};

}  // namespace seqnet::detail
