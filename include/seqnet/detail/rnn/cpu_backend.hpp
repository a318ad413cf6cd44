// SPDX-License-Identifier: MIT
/// @file cpu_backend.hpp
/// The plan's backend on the CPU (see plan.hpp for the operations): the products run on the packed GEMM
/// (gemm/), the pointwise half on the SIMD gates or gate_math.hpp (math/cpu_gates.hpp), single-row steps
/// of small prepacked layers on `TinyStep`, and a direction's steps on a team of pool threads that meet
/// at a spin barrier. The barriers live in the team's operations, not in the plan.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <atomic>
#include <utility>
#include <vector>

#include "../../random.hpp"
#include "../../threads.hpp"
#include "../gemm/linear.hpp"
#include "../math/cpu_gates.hpp"
#include "../util/thread_pool.hpp"
#include "layout.hpp"
#include "plan.hpp"
#include "spec.hpp"
#include "tiny_step.hpp"

namespace seqnet::detail {

/// One layer-direction's (or a cell's) weights ready for its products: W_ih, W_hh and W_hr.
template <typename T>
struct PackedDirection {
  PreparedLinear<T> input;
  PreparedLinear<T> recurrent;
  PreparedLinear<T> projection;

  /// Takes the current weights; `reused` as for `PreparedLinear::pack` (false for a single step).
  void pack(const RecurrentSpec& spec, const DirectionWeights<T>& w, bool reused) {
    input.pack(w.weight_ih, spec.gate_size(), w.input_size, reused);
    recurrent.pack(w.weight_hh, spec.gate_size(), spec.output_size(), reused);
    if (spec.proj_size > 0) projection.pack(w.weight_hr, spec.proj_size, spec.hidden_size, reused);
  }
  /// Sizes the products for `input_rows` rows of input projection and `batch` rows per step.
  void reserve(const RecurrentSpec& spec, Index input_rows, Index batch) {
    input.reserve(input_rows);
    recurrent.reserve(batch);
    if (spec.proj_size > 0) projection.reserve(batch);
  }
  Index workspace_size() const {
    return std::max({input.workspace_size(), recurrent.workspace_size(), projection.workspace_size()});
  }
};

/// Rows `[begin, end)` of a view.
template <typename View>
View row_range(View view, Index begin, Index end) {
  return View(view.data() + begin * view.outerStride(), end - begin, view.cols(), Eigen::OuterStride<>(view.outerStride()));
}

/// Threads worth using for one direction's steps: a barrier per step costs about a microsecond, so a
/// step must carry enough multiply-adds to pay for it.
inline int step_threads(const RecurrentSpec& spec, Index batch, int available) {
  const Index work_per_step = batch * spec.gate_size() * spec.output_size();
  return work_per_step >= (Index(1) << 17) ? available : 1;
}

/// Whether a bidirectional layer runs its two directions on two threads: each direction's recurrent
/// work (`seq * batch * G*H * H_out` multiply-adds) must outweigh handing it to a pool thread.
inline bool concurrent_directions(const RecurrentSpec& spec, Index seq_len, Index batch, int available) {
  return spec.directions() == 2 && available >= 2 &&
         seq_len * batch * spec.gate_size() * spec.output_size() >= (Index(1) << 18);
}

/// How a call may use the weights it packs. `version` is the parameters' version (`ParameterStore`);
/// with `keep`, packed forms made at that version are kept for later calls at the same version (a
/// prepacked module, a stream). `tiny`: single-row steps of small layers may take `TinyStep`, whose sums
/// run in another order than the general path's.
struct WeightUse {
  std::uint64_t version = 0;
  bool keep = false;
  bool tiny = false;
};

/// `c = a b` (or `c += a b`) for row-major `a [m, k]`, `b [k, n]`: the backward pass's products.
template <typename T>
void multiply_nn(Index m, Index n, Index k, const T* a, Index lda, const T* b, Index ldb, T* c, Index ldc,
                 bool accumulate) {
  if (m == 0 || n == 0) return;
  auto out = matrix_view(c, m, n, ldc);
  if (k == 0) {
    if (!accumulate) out.setZero();
    return;
  }
  if (accumulate) {
    out.noalias() += matrix_view(a, m, k, lda) * matrix_view(b, k, n, ldb);
  } else {
    out.noalias() = matrix_view(a, m, k, lda) * matrix_view(b, k, n, ldb);
  }
}

template <typename T>
void add_matrix_rows(const T* src, Index lds, T* dst, Index ldd, Index rows, Index cols) {
  for (Index r = 0; r < rows; ++r)
    for (Index j = 0; j < cols; ++j) dst[r * ldd + j] += src[r * lds + j];
}

/// Everything the CPU backend keeps between calls of one module (or stream): the packed weights, tagged
/// with the parameter version they were packed from, and the buffers, sized for the largest call so far,
/// so a steady-state call allocates nothing.
template <typename T>
struct CpuWorkspace {
  enum class Mode { Packed, OneShot, Tiny };

  std::vector<PackedDirection<T>> packed;  ///< per layer-direction
  std::vector<TinyStep<T>> tiny;           ///< per layer-direction
  std::uint64_t packed_version = 0;        ///< 0: `packed` holds nothing reusable
  std::uint64_t tiny_version = 0;
  AlignedVector<T> buffer;                 ///< the plan's workspace
  std::vector<AlignedVector<T>> thread_gemm[2];  ///< packing space of helper threads, per direction

  /// Packs what a call of `dims` needs from `params` and sizes the buffers for `plan`; returns the mode.
  Mode prepare(const RecurrentSpec& spec, const ParameterLayout& layout, const T* params, const SequenceDims& dims,
               const WeightUse& use, bool recording, Index workspace_elements) {
    const Index slots = spec.num_layers * spec.directions(), S = dims.seq_len, B = dims.batch;
    auto weights = [&](Index slot) { return slot_weights(spec, layout, params, slot); };
    ensure_size(buffer, workspace_elements);
    if (use.tiny && !recording && TinyStep<T>::suits(spec, B)) {
      prepare_tiny(spec, layout, params, use);
      return Mode::Tiny;
    }
    if (static_cast<Index>(packed.size()) != slots) {
      packed.clear();
      packed.resize(static_cast<std::size_t>(slots));
      packed_version = 0;
    }
    // A single row stepped once with weights nobody keeps: packing would cost more than the product, so
    // the products read the parameters in place.
    const bool one_shot = spec.is_cell && B == 1 && !use.keep;
    if (one_shot) {
      for (Index slot = 0; slot < slots; ++slot) {
        PackedDirection<T>& p = packed[static_cast<std::size_t>(slot)];
        p.pack(spec, weights(slot), false);
        p.reserve(spec, 1, 1);
      }
      packed_version = 0;
      return Mode::OneShot;
    }
    const bool current = use.keep && packed_version == use.version;
    for (Index slot = 0; slot < slots; ++slot) {
      PackedDirection<T>& p = packed[static_cast<std::size_t>(slot)];
      if (!current) p.pack(spec, weights(slot), true);
      p.reserve(spec, S * B, B);
    }
    packed_version = use.keep ? use.version : 0;
    return Mode::Packed;
  }

  /// Packs every layer-direction's `TinyStep`, unless they were packed at `use.version` and kept.
  void prepare_tiny(const RecurrentSpec& spec, const ParameterLayout& layout, const T* params, const WeightUse& use) {
    const Index slots = spec.num_layers * spec.directions();
    if (use.keep && tiny_version == use.version && static_cast<Index>(tiny.size()) == slots) return;
    tiny.resize(static_cast<std::size_t>(slots));
    for (Index slot = 0; slot < slots; ++slot)
      tiny[static_cast<std::size_t>(slot)].pack(spec, slot_weights(spec, layout, params, slot));
    tiny_version = use.keep ? use.version : 0;
  }

  /// The parameters of layer-direction `slot` (layer * directions + direction) inside the flat `params`.
  static DirectionWeights<T> slot_weights(const RecurrentSpec& spec, const ParameterLayout& layout, const T* params,
                                          Index slot) {
    return DirectionWeights<T>::at(params, layout.directions[static_cast<std::size_t>(slot)],
                                   spec.layer_input_size(slot / spec.directions()));
  }

  /// Packing space for `threads - 1` helper threads of direction `dir`.
  void reserve_threads(Index dir, int threads, Index gemm_space) {
    auto& spaces = thread_gemm[dir];
    if (static_cast<int>(spaces.size()) < threads - 1) spaces.resize(static_cast<std::size_t>(threads - 1));
    for (int i = 0; i < threads - 1; ++i) ensure_size(spaces[static_cast<std::size_t>(i)], gemm_space);
  }
};

/// One thread's part in running one direction: its index among `threads`, meeting at `barrier` (null for
/// one thread). Products split their output columns by whole panels and the gates split the batch rows,
/// so every element is computed the same way whatever the thread count: results are bitwise identical.
template <typename T>
class CpuTeam {
 public:
  CpuTeam(CpuWorkspace<T>& workspace, typename CpuWorkspace<T>::Mode mode, int thread, int threads,
          SpinBarrier* barrier, T* gemm_workspace)
      : ws_(workspace), mode_(mode), thread_(thread), threads_(threads), barrier_(barrier), gemm_(gemm_workspace) {}

  void zero(T* data, Index count) {
    settle();
    if (thread_ == 0) std::fill(data, data + count, T(0));
    sync();
  }
  void copy_rows(const T* src, Index lds, T* dst, Index ldd, Index rows, Index cols) {
    settle();
    if (thread_ == 0)
      for (Index r = 0; r < rows; ++r) std::copy(src + r * lds, src + r * lds + cols, dst + r * ldd);
    sync();
  }

  /// `out = input W_ih^T + b_ih` over all steps. A product with enough rows for whole row blocks per
  /// thread is split by rows (split by columns, every thread would pack every input row); either way each
  /// element is computed as on one thread (a row's result never depends on the rows around it).
  void project_input(const ProjectArgs<T>& a) {
    if (mode_ == Mode::Tiny) return;  // TinyStep multiplies each step's input itself
    settle();
    PreparedLinear<T>& product = ws_.packed[static_cast<std::size_t>(a.slot)].input;
    const Index G = product.output_size();
    const ConstMatrixView<T> input = matrix_view(a.input, a.rows, a.in_width, a.in_width);
    const MatrixView<T> out = matrix_view(a.out, a.rows, G, G);
    // No barrier at the end: the projections are read only by the pointwise half of a step, which
    // `recurrent` runs after the barrier that follows its own product.
    if (threads_ == 1 || !product.packed()) {
      run(product, input, a.bias_ih, out);
      return;
    }
    const Index unit = product.row_block();
    const Index units = (a.rows + unit - 1) / unit;
    if (units < 2 * threads_) {
      run(product, input, a.bias_ih, out);
    } else {
      const auto [first, last] = share(units);
      const Index begin = first * unit, end = std::min(last * unit, a.rows);
      product.run_panels(row_range(input, begin, end), a.bias_ih, row_range(out, begin, end), 0, product.panels(),
                         gemm_);
    }
  }

  /// One step: `gh = h_prev W_hh^T + b_hh`, the gates, then (LSTMP) `h = h_full W_hr^T`. Returns when
  /// every member's part is done.
  void recurrent(const RecurrentSpec& spec, const StepArgs<T>& s) {
    const Index rows = s.rows, G = spec.gate_size(), H = spec.hidden_size, H_out = spec.output_size();
    if (rows == 0) return;
    settle();
    if (mode_ == Mode::Tiny) {
      // One row, no projection (`TinyStep::suits`), on one thread.
      ws_.tiny[static_cast<std::size_t>(s.slot)].step(s.x, s.h_prev, s.c, s.h_out);
      return;
    }
    PackedDirection<T>& weights = ws_.packed[static_cast<std::size_t>(s.slot)];
    const MatrixView<T> gh = matrix_view(s.gh, rows, G, G);
    run(weights.recurrent, matrix_view(s.h_prev, rows, H_out, s.ld_h_prev), s.bias_hh, gh);
    sync();
    const auto [r0, r1] = share(rows);
    PointwiseArgs<T> pointwise = s.pointwise(spec);
    pointwise.bias_ih = nullptr;  // the products' epilogues added both biases
    pointwise.bias_hh = nullptr;
    cpu_pointwise(pointwise, r0, r1);
    if (spec.proj_size > 0) {
      sync();
      run(weights.projection, matrix_view(static_cast<const T*>(s.h_full), rows, H, H), nullptr,
          matrix_view(s.h_out, rows, H_out, s.ld_h_out));
    }
    // The members' rows of h must meet before anyone reads them: at the start of the team's next
    // operation, or, after a direction's last step, when the pool joins its threads.
    pending_ = threads_ > 1;
  }

  // The backward pass's operations (plan.hpp `backward`). They run on the team's first thread; the
  // others wait at the barrier, so the results do not depend on the thread count.
  void add_rows(const T* src, Index lds, T* dst, Index ldd, Index rows, Index cols) {
    settle();
    if (thread_ == 0) add_matrix_rows(src, lds, dst, ldd, rows, cols);
    sync();
  }
  void gemm_nn(Index m, Index n, Index k, const T* a, Index lda, const T* b, Index ldb, T* c, Index ldc,
               bool accumulate) {
    settle();
    if (thread_ == 0) multiply_nn(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
    sync();
  }
  void pointwise_backward(const PointwiseBackwardArgs<T>& a) {
    settle();
    const auto [r0, r1] = share(a.rows);
    for (Index row = r0; row < r1; ++row)
      for (Index unit = 0; unit < a.hidden; ++unit) pointwise_backward_element(a, row, unit);
    sync();
  }

 private:
  using Mode = typename CpuWorkspace<T>::Mode;

  void sync() const {
    if (barrier_ != nullptr) barrier_->arrive_and_wait();
  }
  /// Meets the barrier a previous operation left pending.
  void settle() {
    if (pending_) {
      sync();
      pending_ = false;
    }
  }
  std::pair<Index, Index> share(Index count) const {
    if (threads_ == 1) return {0, count};
    return {count * thread_ / threads_, count * (thread_ + 1) / threads_};
  }
  void run(PreparedLinear<T>& product, ConstMatrixView<T> input, const T* bias, MatrixView<T> out) const {
    const auto [begin, end] = share(product.panels());
    product.run_panels(input, bias, out, begin, end, gemm_);
  }

  CpuWorkspace<T>& ws_;
  Mode mode_;
  int thread_, threads_;
  SpinBarrier* barrier_;
  T* gemm_;
  bool pending_ = false;
};

/// The plan's backend on the CPU for one call.
template <typename T>
class CpuBackend {
 public:
  using Mode = typename CpuWorkspace<T>::Mode;

  CpuBackend(CpuWorkspace<T>& workspace, Mode mode) : ws_(workspace), mode_(mode) {}

  void zero(T* data, Index count) { std::fill(data, data + count, T(0)); }
  void copy_rows(const T* src, Index lds, T* dst, Index ldd, Index rows, Index cols) {
    for (Index r = 0; r < rows; ++r) std::copy(src + r * lds, src + r * lds + cols, dst + r * ldd);
  }
  void permute(const T* src, T* dst, const Index* order, Index seq, Index batch, Index width, bool batch_first,
               bool inverse) {
    permute_batch<T>({src, seq, batch, width, batch_first}, {dst, seq, batch, width, batch_first}, order, inverse);
  }
  void dropout(const T* src, T* dst, Index count, double p, Generator& generator, T* mask) {
    dropout_into(src, dst, count, p, generator, mask);
  }
  void apply_mask(const T* src, T* dst, const T* mask, Index count) {
    for (Index i = 0; i < count; ++i) dst[i] = src[i] * mask[i];
  }

  void gemm_nn(Index m, Index n, Index k, const T* a, Index lda, const T* b, Index ldb, T* c, Index ldc,
               bool accumulate) {
    multiply_nn(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
  }
  void gemm_tn(Index m, Index n, Index k, const T* a, Index lda, const T* b, Index ldb, T* c, Index ldc) {
    if (m == 0 || n == 0 || k == 0) return;
    matrix_view(c, m, n, ldc).noalias() +=
        matrix_view(a, k, m, lda).transpose() * matrix_view(b, k, n, ldb);
  }
  void column_sums(Index rows, Index cols, const T* a, Index lda, T* out) {
    if (rows == 0 || cols == 0) return;
    Eigen::Map<RowVector<T>>(out, cols) += matrix_view(a, rows, cols, lda).colwise().sum();
  }
  void multiply(T* data, const T* factors, Index count) {
    for (Index i = 0; i < count; ++i) data[i] *= factors[i];
  }

  /// Runs `body(dir, team)` for each direction of `layer`: both at once on two threads when each carries
  /// enough work, else one after the other, each on as many threads as its steps pay for.
  template <typename Body>
  void for_each_direction(const RecurrentSpec& spec, const SequenceDims& dims, Index layer, Body&& body) {
    const Index D = spec.directions();
    const int available = mode_ == Mode::Packed ? get_num_threads() : 1;
    if (concurrent_directions(spec, dims.seq_len, dims.batch, available)) {
      auto both = [&](int thread, int threads) {
        for (Index dir = thread; dir < D; dir += threads) {
          CpuTeam<T> team(ws_, mode_, 0, 1, nullptr, nullptr);
          body(dir, team);
        }
      };
      ThreadPool::instance().run(2, both);
      return;
    }
    const int threads = step_threads(spec, dims.batch, available);
    for (Index dir = 0; dir < D; ++dir) {
      if (threads == 1) {
        CpuTeam<T> team(ws_, mode_, 0, 1, nullptr, nullptr);
        body(dir, team);
        continue;
      }
      ws_.reserve_threads(dir, threads, ws_.packed[static_cast<std::size_t>(layer * D + dir)].workspace_size());
      SpinBarrier barrier(threads);
      auto region = [&](int thread, int team_size) {
        T* space = thread == 0 ? nullptr : ws_.thread_gemm[dir][static_cast<std::size_t>(thread - 1)].data();
        CpuTeam<T> team(ws_, mode_, thread, team_size, team_size > 1 ? &barrier : nullptr, space);
        body(dir, team);
      };
      ThreadPool::instance().run(threads, region);
    }
  }

 private:
  CpuWorkspace<T>& ws_;
  Mode mode_;
};

/// A forward call on the CPU: packs what it needs (see `WeightUse`), sizes the workspace and runs the
/// plan. `tape.data` non-null records the pass (tape.hpp).
template <typename T>
void run_on_cpu(const StackPlan<T>& plan, const RecurrentSpec& spec, const ParameterLayout& layout, const T* params,
                const PackedBatch* packed, const StackIO<T>& io, bool training, Generator& generator,
                CpuWorkspace<T>& workspace, const WeightUse& use, TapeView<T> tape = {}) {
  if (plan.dims().batch == 0) return;  // every result is empty
  const auto mode = workspace.prepare(spec, layout, params, plan.dims(), use, tape.data != nullptr, plan.workspace_size());
  CpuBackend<T> backend(workspace, mode);
  plan.run(backend, params, io, workspace.buffer.data(), packed != nullptr ? packed->sorted_indices.data() : nullptr,
           training, generator, tape);
}

/// Whether a forward call of `dims` may take `run_tiny_step_on_cpu`: one step of one row through a
/// unidirectional stack whose layers all suit `TinyStep`, on weights kept prepacked, with no dropout.
template <typename T>
bool takes_tiny_step(const RecurrentSpec& spec, const SequenceDims& dims, const WeightUse& use, bool training) {
  return use.tiny && dims.seq_len == 1 && dims.batch == 1 && spec.directions() == 1 &&
         !(training && spec.dropout > 0.0 && spec.num_layers > 1) && TinyStep<T>::suits(spec, 1);
}

/// What `run_on_cpu` computes in `Mode::Tiny` for a call that `takes_tiny_step`, with the same kernel
/// and so the same bits, without laying out a plan (`StackPlan::run_single_row_step`).
template <typename T>
void run_tiny_step_on_cpu(const RecurrentSpec& spec, const ParameterLayout& layout, const T* params,
                          const StackIO<T>& io, CpuWorkspace<T>& workspace, const WeightUse& use) {
  workspace.prepare_tiny(spec, layout, params, use);
  StackPlan<T>::run_single_row_step(spec, io, [&](Index layer, const T* x, const T* h_prev, T* c, T* h_out) {
    workspace.tiny[static_cast<std::size_t>(layer)].step(x, h_prev, c, h_out);
  });
}

/// The backward pass of a recorded call on the CPU (plan.hpp `backward`), with `workspace` (at least
/// `plan.backward_workspace_size()` elements) as scratch. One thread per direction for now.
template <typename T>
void backward_on_cpu(const StackPlan<T>& plan, const T* params, const PackedBatch* packed, const StackGradIO<T>& io,
                     CpuWorkspace<T>& workspace, T* scratch, TapeView<T> tape) {
  CpuBackend<T> backend(workspace, CpuWorkspace<T>::Mode::OneShot);
  plan.backward(backend, params, io, scratch, packed != nullptr ? packed->sorted_indices.data() : nullptr, tape);
}

/// A module's own workspace, reused by its forward calls so that repeated calls stop allocating.
/// Forward is const and may run on several threads at once: a call that finds the cached workspace busy
/// runs with a fresh one of its own instead of waiting. Copies start with an empty cache.
template <typename T>
class WorkspaceCache {
 public:
  WorkspaceCache() = default;
  WorkspaceCache(const WorkspaceCache&) {}
  WorkspaceCache(WorkspaceCache&&) noexcept {}
  WorkspaceCache& operator=(const WorkspaceCache&) { return *this; }
  WorkspaceCache& operator=(WorkspaceCache&&) noexcept { return *this; }

  /// Calls `f(CpuWorkspace<T>&)` with the cached workspace, or with a temporary one if another thread is
  /// using it.
  /// Nobody ever waits for the cache, so a flag taken with one atomic exchange guards it (a mutex's
  /// try-lock and unlock cost more, on every call of a small cell).
  template <typename F>
  decltype(auto) with(F&& f) const {
    if (!busy_.exchange(true, std::memory_order_acquire)) {
      struct Release {
        std::atomic<bool>& flag;
        ~Release() { flag.store(false, std::memory_order_release); }
      } release{busy_};
      return std::forward<F>(f)(workspace_);
    }
    CpuWorkspace<T> temporary;
    return std::forward<F>(f)(temporary);
  }

 private:
  mutable std::atomic<bool> busy_{false};
  mutable CpuWorkspace<T> workspace_;
};

}  // namespace seqnet::detail
