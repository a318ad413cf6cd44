// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <cuda_runtime.h>

#include "../detail/rnn/recurrent_module.hpp"
#include "../random.hpp"
#include "../sequence_lengths.hpp"
#include "../state.hpp"
#include "detail/backend.hpp"
#include "detail/context.hpp"
#include "detail/engine.hpp"
#include "device_tensor.hpp"
#include "error.hpp"

namespace seqnet::cuda {

/// One parameter of a GPU module: its device memory and PyTorch shape.
template <typename T>
struct DeviceParameter {
  T* data;
  Shape shape;
  Index size() const noexcept { return shape.numel(); }
};

template <typename T>
using NamedDeviceParameters = std::vector<std::pair<std::string, DeviceParameter<T>>>;

namespace detail {

/// A device tensor as a read-only argument of any rank: the CPU modules' `TensorArg`, with a device
/// pointer (states are rank-checked at run time, as on the CPU).
template <typename T>
using DeviceArg = seqnet::detail::TensorArg<T>;

template <typename T, int R>
DeviceArg<T> device_arg(const DeviceTensor<T, R>& tensor) {
  return {tensor.data(), tensor.shape()};
}

/// `DeviceTensor<T, R>`, spelled so that R is deduced from the input alone (a result may be `nullptr`).
template <typename T, int R>
using ResultOf = typename std::enable_if<true, DeviceTensor<T, R>>::type;

/// Base of every GPU module: the CPU module's spec, parameter layout and names, with the parameters in
/// device memory (one flat buffer in `named_parameters()` order, like the CPU's), a `Context` to run on,
/// and the checked forward driver shared by the stacked modules and the cells.
template <typename T>
class DeviceModule {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "GPU modules take float or double");

 public:
  using Scalar = T;

  DeviceModule(DeviceModule&&) noexcept = default;
  /// Releases this module's memory and streams (as the destructor does) before taking `other`'s.
  DeviceModule& operator=(DeviceModule&& other) noexcept {
    if (this != &other) {
      release();
      spec_ = std::move(other.spec_);
      layout_ = std::move(other.layout_);
      context_ = std::move(other.context_);
      params_ = std::move(other.params_);
      training_ = other.training_;
      graphs_ = other.graphs_;
      poison_ = other.poison_;
      tf32_ = other.tf32_;
      generator_ = other.generator_;
    }
    return *this;
  }
  virtual ~DeviceModule() { release(); }

  /// What Python's `repr(module)` prints for the CPU module.
  std::string repr() const { return spec_.repr(); }
  const seqnet::detail::RecurrentSpec& spec() const noexcept { return spec_; }

  /// Parameters in PyTorch's order, as device pointers with their shapes.
  NamedDeviceParameters<T> named_parameters() const {
    NamedDeviceParameters<T> out;
    for (const auto& entry : layout_.table.entries)
      out.emplace_back(entry.name, DeviceParameter<T>{params_.data() + entry.offset, entry.shape});
    return out;
  }
  /// One parameter by PyTorch name; an unknown name throws `key_error`.
  DeviceParameter<T> parameter(const std::string& name) const {
    const auto* entry = layout_.table.find(name);
    seqnet::detail::check<key_error>(entry != nullptr, "'", spec_.name(), "' object has no attribute '", name, "'");
    return {params_.data() + entry->offset, entry->shape};
  }
  Index num_parameters() const noexcept { return layout_.table.total_size; }
  /// All parameters back to back in device memory, in the CPU module's `flat_parameters()` layout.
  T* flat_parameters() const noexcept { return params_.data(); }

  /// Copies the parameters of a CPU module of the same configuration in (on `stream()`).
  void load_parameters(const seqnet::detail::RecurrentModule<T>& cpu) {
    check_same_spec(cpu.spec());
    DeviceGuard guard(context_->device());
    check_cuda(cudaMemcpyAsync(params_.data(), cpu.flat_parameters(), bytes(), cudaMemcpyHostToDevice, stream()),
               "cudaMemcpyAsync (parameters to device)");
  }
  /// Copies the parameters out into a CPU module of the same configuration; waits for `stream()`.
  void store_parameters(seqnet::detail::RecurrentModule<T>& cpu) const {
    check_same_spec(cpu.spec());
    DeviceGuard guard(context_->device());
    check_cuda(cudaMemcpyAsync(cpu.flat_parameters(), params_.data(), bytes(), cudaMemcpyDeviceToHost, stream()),
               "cudaMemcpyAsync (parameters to host)");
    check_cuda(cudaStreamSynchronize(stream()), "cudaStreamSynchronize");
  }

  /// Training mode: inter-layer dropout is active (masks drawn on the host from `set_generator`'s
  /// generator, the same elements the CPU module would drop). Starts as the CPU module was.
  void train(bool on = true) noexcept { training_ = on; }
  void eval() noexcept { training_ = false; }
  bool is_training() const noexcept { return training_; }
  void set_generator(Generator& generator) noexcept { generator_ = &generator; }

  /// The stream every forward call is issued on, and its results allocated on. By default the device's
  /// seqnet stream, shared by every module on that device (created once, blocking, so it is ordered
  /// with work on the legacy default stream): modules chained on one device need no events.
  cudaStream_t stream() const noexcept { return context_->stream(); }
  /// Moves the module to `stream` (`nullptr`: the legacy default stream). Modules on one stream share
  /// its cuBLAS handles and workspaces. Not to be called while another thread calls this module.
  void set_stream(cudaStream_t stream) { context_->set_stream(stream); }
  /// Replay each forward call's launches as one CUDA graph while shapes and buffers repeat (default on;
  /// never on the legacy default stream, nor in training mode with dropout).
  void use_cuda_graphs(bool on) noexcept { graphs_ = on; }
  bool uses_cuda_graphs() const noexcept { return graphs_; }
  /// A debugging aid: fill every result with NaN (all bytes 0xFF) before the forward pass writes it, so
  /// an element the pass fails to write shows up. Off by default (it costs a memset per result).
  void poison_results(bool on) noexcept { poison_ = on; }
  /// Lets cuBLAS use TF32 tensor cores for fp32 products (faster, about 1e-3 relative error; off by default).
  void allow_tf32(bool on) noexcept { tf32_ = on; }
  /// CUDA graphs this module keeps, at most `Context::graph_cache_size` (for tests and diagnostics).
  std::size_t cached_graphs() const noexcept { return context_->cached_graphs(); }

 protected:
  explicit DeviceModule(const seqnet::detail::RecurrentModule<T>& cpu)
      : spec_(cpu.spec()),
        layout_(spec_),
        context_(std::make_unique<Context<T>>()),
        params_(layout_.table.total_size, context_->stream()),
        training_(cpu.is_training()) {
    load_parameters(cpu);
  }

  /// A CPU module of type `HostModule` built from `options`, with this module's parameters and mode
  /// (waits for `stream()`): what every `to_host()` returns.
  template <typename HostModule, typename Options>
  HostModule host_copy(const Options& options) const {
    Generator unused;  // the parameters are overwritten; the caller's generator stays untouched
    HostModule host(options, unused);
    store_parameters(host);
    host.train(is_training());
    return host;
  }

  /// Checks, fits the results (a result tensor of another shape is reallocated on `stream()`; one of
  /// the right shape is written in place) and issues the forward pass; never waits for the device.
  /// `h_n` is null for cells, whose hidden result is `output`; `c_n` is null unless LSTM. `h0` may be
  /// `h_n` itself and `c0` `c_n` (a state carried in place); no other argument may share a result's memory.
  template <typename In, int R>
  void run_into(const DeviceTensor<In, R>& input, const DeviceArg<T>* h0, const DeviceArg<T>* c0,
                const SequenceLengths* lengths, DeviceTensor<T, R>* output, ResultOf<T, R>* h_n,
                ResultOf<T, R>* c_n) const {
    Context<T>& context = *context_;
    DeviceGuard guard(context.device());
    const std::lock_guard<std::mutex> lock(context.lane().mutex());
    const Shape* h_shape = h0 != nullptr ? &h0->shape : nullptr;
    const Shape* c_shape = c0 != nullptr ? &c0->shape : nullptr;
    const CallShape call = spec_.is_cell ? cell_call(spec_, input.shape(), h_shape, c_shape)
                                         : module_call(spec_, input.shape(), h_shape, c_shape, lengths);
    const cudaStream_t s = stream();
    const bool lstm = spec_.kind == CellKind::LSTM;
    fit(*output, call.output, s);
    if (h_n != nullptr) fit(*h_n, call.h, s);
    if (lstm) fit(*c_n, call.c, s);
    check_not_aliased(input, h0, c0, *output, h_n, c_n);

    if (poison_) {
      for (DeviceTensor<T, R>* t : {output, h_n, c_n})
        if (t != nullptr) t->fill_bytes(0xFF, s);
    }
    context.lane().use_tf32(tf32_);
    const StackPlan<T> plan(spec_, layout_, call.dims, call.has_lengths ? &call.packed : nullptr);
    context.workspace.reserve(plan.workspace_size(), s);
    if (plan.permuted() && context.uploaded_order != call.packed.sorted_indices) {
      const auto& order = call.packed.sorted_indices;
      context.order.reserve(static_cast<Index>(order.size()), s);
      context.upload(Context<T>::Staging::order, context.order.data(), order.data(), static_cast<Index>(order.size()));
      context.uploaded_order = order;
    }
    // Every layer's dropout mask, drawn in the order the plan applies them and uploaded at once.
    const Index dropout_layers = plan.dropout_layers(training_);
    if (dropout_layers > 0) {
      context.host_mask.clear();
      for (Index layer = 0; layer < dropout_layers; ++layer)
        append_dropout_mask(context.host_mask, plan.dropout_size(), spec_.dropout, *generator_);
      context.mask.reserve(static_cast<Index>(context.host_mask.size()), s);
      context.upload(Context<T>::Staging::mask, context.mask.data(), context.host_mask.data(),
                     static_cast<Index>(context.host_mask.size()));
    }
    const T* input_data = nullptr;
    if constexpr (std::is_same_v<In, T>) {
      input_data = input.data();
    } else {
      context.converted.reserve(input.size(), s);
      input_data = context.converted.data();
    }
    seqnet::detail::StackIO<T> io;
    io.input = input_data;
    io.h0 = h0 != nullptr ? h0->data : nullptr;
    io.c0 = c0 != nullptr ? c0->data : nullptr;
    io.output = output->data();
    io.h_n = h_n != nullptr ? h_n->data() : output->data();
    io.c_n = lstm ? c_n->data() : nullptr;

    // The input's element type picks the conversion kernel; `permuted()` whether the permutes run (an
    // unsorted and a sorted batch of the same lengths have the same batch sizes and buffers); the math
    // mode which cuBLAS kernels a graph holds.
    constexpr std::int64_t input_type = std::is_same_v<In, T> ? 0 : std::is_same_v<In, half> ? 1
                                        : std::is_same_v<In, bfloat16>                     ? 2
                                        : std::is_same_v<In, float>                        ? 3
                                                                                           : 4;
    std::vector<std::int64_t> key = {call.dims.seq_len, call.dims.batch, call.dims.batched, call.dims.batch_first,
                                     call.has_lengths, training_, plan.permuted(), input_type, tf32_};
    for (Index n : call.packed.batch_sizes) key.push_back(n);
    for (const void* p : {static_cast<const void*>(input.data()), static_cast<const void*>(io.input),
                          static_cast<const void*>(io.h0), static_cast<const void*>(io.c0),
                          static_cast<const void*>(io.output), static_cast<const void*>(io.h_n),
                          static_cast<const void*>(io.c_n), static_cast<const void*>(context.workspace.data()),
                          static_cast<const void*>(context.order.data()), static_cast<const void*>(params_.data())})
      key.push_back(static_cast<std::int64_t>(reinterpret_cast<std::uintptr_t>(p)));

    // A graph would replay one call's masks: training with dropout always runs directly.
    context.launch(graphs_ && dropout_layers == 0, key, [&] {
      if constexpr (!std::is_same_v<In, T>) {
        if (input.size() > 0) {
          convert_kernel<In, T><<<grid_for(input.size()), block_threads, 0, context.issue_stream()>>>(
              input.data(), context.converted.data(), input.size());
          check_launch("seqnet convert_kernel");
        }
      }
      DeviceBackend<T> backend(context);
      plan.run(backend, params_.data(), io, context.workspace.data(), context.order.data(), training_, *generator_);
    });
  }

 private:
  template <int R>
  static void fit(DeviceTensor<T, R>& result, const Shape& shape, cudaStream_t stream) {
    if (result.shape() != shape) result = DeviceTensor<T, R>(shape, stream);
  }
  /// The plan reads the input and initial states while it writes the results (a bidirectional layer's
  /// directions run concurrently), so only the in-place state (`h0` is `h_n`, `c0` is `c_n`; for a cell,
  /// `h0` is `output`) may share memory.
  template <typename In, int R>
  static void check_not_aliased(const DeviceTensor<In, R>& input, const DeviceArg<T>* h0, const DeviceArg<T>* c0,
                                const DeviceTensor<T, R>& output, const DeviceTensor<T, R>* h_n,
                                const DeviceTensor<T, R>* c_n) {
    // A cell's hidden result is `output` (no `h_n`), and that is what its h0 may be.
    const bool cell = h_n == nullptr;
    const void* results[] = {cell ? nullptr : output.data(), cell ? output.data() : h_n->data(),
                             c_n != nullptr ? c_n->data() : nullptr};
    const void* inputs[] = {input.data(), h0 != nullptr ? h0->data : nullptr, c0 != nullptr ? c0->data : nullptr};
    for (int r = 0; r < 3; ++r) {
      for (int i = 0; i < 3; ++i) {
        if (results[r] == nullptr || results[r] != inputs[i] || (r == i && r > 0)) continue;
        static const char* const result_names[] = {"output", "h_n", "c_n"};
        static const char* const input_names[] = {"input", "h0", "c0"};
        throw value_error(std::string("forward_into: ") + result_names[r] + " shares memory with " + input_names[i] +
                          " (only h0 may be h_n and c0 c_n)");
      }
    }
  }
  std::size_t bytes() const { return static_cast<std::size_t>(num_parameters()) * sizeof(T); }
  /// The parameters are freed on the device's default stream (where they were allocated, and which
  /// never ends) but read on `stream()`, which `set_stream` may have made another: wait for `stream()`
  /// first, then free them, then the context.
  void release() noexcept {
    if (context_ != nullptr) (void)cudaStreamSynchronize(context_->stream());
    params_ = DeviceBuffer<T>();
    context_.reset();
  }
  void check_same_spec(const seqnet::detail::RecurrentSpec& other) const {
    seqnet::detail::check<value_error>(other.repr() == spec_.repr() && other.kind == spec_.kind &&
                                           other.nonlinearity == spec_.nonlinearity,
                                       "parameters of ", other.repr(), " do not fit ", spec_.repr());
  }

  seqnet::detail::RecurrentSpec spec_;
  seqnet::detail::ParameterLayout layout_;
  std::unique_ptr<Context<T>> context_;  // declared before params_: its (default) stream allocates them
  DeviceBuffer<T> params_;
  bool training_ = true;
  bool graphs_ = true;
  bool poison_ = false;
  bool tf32_ = false;
  Generator* generator_ = &default_generator();
};

}  // namespace detail
}  // namespace seqnet::cuda
