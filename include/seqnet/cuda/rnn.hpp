// SPDX-License-Identifier: MIT
#pragma once

#include <utility>

#include "../rnn.hpp"
#include "../state.hpp"
#include "module.hpp"

namespace seqnet::cuda {

/// `(h, c)` of a GPU LSTM or LSTMCell: `auto [h_n, c_n] = hc;`
template <typename T, int R>
using LSTMState = std::pair<DeviceTensor<T, R>, DeviceTensor<T, R>>;

/// `(h, c)` as a GPU LSTM or LSTMCell takes it, as the CPU's `seqnet::LSTMStateRef` does: built from
/// `{h0, c0}` or from a returned `LSTMState`, it only points at the tensors (use it as a call argument).
template <typename T>
class LSTMStateRef {
 public:
  template <int RH, int RC>
  LSTMStateRef(const DeviceTensor<T, RH>& h SEQNET_LIFETIMEBOUND, const DeviceTensor<T, RC>& c SEQNET_LIFETIMEBOUND)
      : h_{h.data(), h.shape()}, c_{c.data(), c.shape()} {}
  template <int R>
  LSTMStateRef(const LSTMState<T, R>& state SEQNET_LIFETIMEBOUND)  // NOLINT: implicit so a returned state can be passed back
      : LSTMStateRef(state.first, state.second) {}

  const detail::DeviceArg<T>& h_arg() const noexcept { return h_; }
  const detail::DeviceArg<T>& c_arg() const noexcept { return c_; }

 private:
  detail::DeviceArg<T> h_;
  detail::DeviceArg<T> c_;
};

namespace detail {

/// RNN and GRU on the GPU: one hidden state, `(output, h_n)` results. `In` is `T`, or `cuda::half` /
/// `cuda::bfloat16` (converted to `T` on the device; all arithmetic in `T`).
///
/// Every `forward` has a `forward_into(result, ...)` twin that writes into the caller's tensors: a
/// result of the right shape is written in place (no allocation, and the same addresses every call, so
/// the call's CUDA graph replays), one of another shape is reallocated on `stream()`. `h0` may be the
/// result's own `h_n`, which carries the state in place: `gru.forward_into(result, x, result.second)`.
template <typename T, typename Options, typename HostModule>
class HiddenStateDeviceModule : public DeviceModule<T> {
 public:
  template <int R>
  using Output = std::pair<DeviceTensor<T, R>, DeviceTensor<T, R>>;

  const Options& options() const noexcept { return options_; }

  /// A CPU module with this module's options and the parameters copied back (waits for `stream()`).
  HostModule to_host() const { return this->template host_copy<HostModule>(options_); }

  /// From zero initial state.
  template <typename In, int R>
  void forward_into(Output<R>& result, const DeviceTensor<In, R>& input) const {
    this->run_into(input, nullptr, nullptr, nullptr, &result.first, &result.second, nullptr);
  }
  /// From `h0`.
  template <typename In, int R, int RH>
  void forward_into(Output<R>& result, const DeviceTensor<In, R>& input, const DeviceTensor<T, RH>& h0) const {
    const auto h = device_arg(h0);
    this->run_into(input, &h, nullptr, nullptr, &result.first, &result.second, nullptr);
  }
  /// A padded batch of sequences of different lengths (PyTorch's packed sequences), from zero state.
  template <typename In, int R>
  void forward_into(Output<R>& result, const DeviceTensor<In, R>& input, const SequenceLengths& lengths) const {
    this->run_into(input, nullptr, nullptr, &lengths, &result.first, &result.second, nullptr);
  }
  /// As above, from `h0`.
  template <typename In, int R, int RH>
  void forward_into(Output<R>& result, const DeviceTensor<In, R>& input, const SequenceLengths& lengths,
                    const DeviceTensor<T, RH>& h0) const {
    const auto h = device_arg(h0);
    this->run_into(input, &h, nullptr, &lengths, &result.first, &result.second, nullptr);
  }

  /// `(output, h_n)` in new tensors, from the same arguments as `forward_into`: `(x)`, `(x, h0)`,
  /// `(x, lengths)` or `(x, lengths, h0)`.
  template <typename In, int R, typename... Rest>
  Output<R> forward(const DeviceTensor<In, R>& input, const Rest&... rest) const {
    Output<R> result;
    forward_into(result, input, rest...);
    return result;
  }
  template <typename In, int R, typename... Rest>
  Output<R> operator()(const DeviceTensor<In, R>& input, const Rest&... rest) const {
    return forward(input, rest...);
  }

 protected:
  HiddenStateDeviceModule(const HostModule& host) : DeviceModule<T>(host), options_(host.options()) {}

 private:
  Options options_;
};

}  // namespace detail

/// `seqnet::RNN` on the GPU. Built from a CPU module (copies its parameters) or from options (initialised
/// exactly as the CPU module would be from the same generator):
/// ```
/// seqnet::cuda::RNN<float> rnn(cpu_rnn);
/// auto [out, h_n] = rnn(seqnet::cuda::to_device(x, rnn.stream()));
/// ```
template <typename T>
class RNN : public detail::HiddenStateDeviceModule<T, RNNOptions, seqnet::RNN<T>> {
 public:
  explicit RNN(const seqnet::RNN<T>& host) : detail::HiddenStateDeviceModule<T, RNNOptions, seqnet::RNN<T>>(host) {}
  explicit RNN(const RNNOptions& options, Generator& generator = default_generator())
      : RNN(seqnet::RNN<T>(options, generator)) {}
};

/// `seqnet::GRU` on the GPU (PyTorch's equations, gates r, z, n).
template <typename T>
class GRU : public detail::HiddenStateDeviceModule<T, GRUOptions, seqnet::GRU<T>> {
 public:
  explicit GRU(const seqnet::GRU<T>& host) : detail::HiddenStateDeviceModule<T, GRUOptions, seqnet::GRU<T>>(host) {}
  explicit GRU(const GRUOptions& options, Generator& generator = default_generator())
      : GRU(seqnet::GRU<T>(options, generator)) {}
};

/// `seqnet::LSTM` on the GPU, with `proj_size`. Returns `(output, (h_n, c_n))` as device tensors, and
/// takes its arguments as the CPU module does:
/// ```
/// seqnet::cuda::LSTM<float> lstm(cpu_lstm);
/// auto [out, hc] = lstm(x_dev, {h0_dev, c0_dev});   // or lstm(x_dev, h0_dev, c0_dev), lstm(x_dev, hc)
/// lstm.forward_into(result, x_dev, result.second);  // caller-owned results, state carried in place
/// ```
template <typename T>
class LSTM : public detail::DeviceModule<T> {
 public:
  template <int R>
  using Output = std::pair<DeviceTensor<T, R>, LSTMState<T, R>>;

  explicit LSTM(const seqnet::LSTM<T>& host) : detail::DeviceModule<T>(host), options_(host.options()) {}
  explicit LSTM(const LSTMOptions& options, Generator& generator = default_generator())
      : LSTM(seqnet::LSTM<T>(options, generator)) {}

  const LSTMOptions& options() const noexcept { return options_; }

  /// A CPU module with this module's options and the parameters copied back (waits for `stream()`).
  seqnet::LSTM<T> to_host() const { return this->template host_copy<seqnet::LSTM<T>>(options_); }

  /// Writes `(output, (h_n, c_n))` into `result` (see `forward_into` of RNN and GRU), from zero states.
  template <typename In, int R>
  void forward_into(Output<R>& result, const DeviceTensor<In, R>& input) const {
    into(result, input, nullptr, nullptr);
  }
  /// From `{h0, c0}` or a previous call's `(h_n, c_n)` (ranks checked at run time); it may be
  /// `result.second` itself.
  template <typename In, int R>
  void forward_into(Output<R>& result, const DeviceTensor<In, R>& input, const LSTMStateRef<T>& state) const {
    into(result, input, &state, nullptr);
  }
  template <typename In, int R, int RH, int RC>
  void forward_into(Output<R>& result, const DeviceTensor<In, R>& input, const DeviceTensor<T, RH>& h0,
                    const DeviceTensor<T, RC>& c0) const {
    forward_into(result, input, LSTMStateRef<T>(h0, c0));
  }
  /// A padded batch of sequences of different lengths, from zero states or from `{h0, c0}`.
  template <typename In, int R>
  void forward_into(Output<R>& result, const DeviceTensor<In, R>& input, const SequenceLengths& lengths) const {
    into(result, input, nullptr, &lengths);
  }
  template <typename In, int R>
  void forward_into(Output<R>& result, const DeviceTensor<In, R>& input, const SequenceLengths& lengths,
                    const LSTMStateRef<T>& state) const {
    into(result, input, &state, &lengths);
  }
  template <typename In, int R, int RH, int RC>
  void forward_into(Output<R>& result, const DeviceTensor<In, R>& input, const SequenceLengths& lengths,
                    const DeviceTensor<T, RH>& h0, const DeviceTensor<T, RC>& c0) const {
    forward_into(result, input, lengths, LSTMStateRef<T>(h0, c0));
  }

  /// `(output, (h_n, c_n))` in new tensors, from the arguments `forward_into` takes: `(x)`,
  /// `(x, {h0, c0})`, `(x, h0, c0)`, `(x, hc)`, and each of them with `lengths` after `x`.
  template <typename In, int R, typename... Rest>
  Output<R> forward(const DeviceTensor<In, R>& input, const Rest&... rest) const {
    Output<R> result;
    forward_into(result, input, rest...);
    return result;
  }
  template <typename In, int R>
  Output<R> forward(const DeviceTensor<In, R>& input, const LSTMStateRef<T>& state) const {
    Output<R> result;
    forward_into(result, input, state);
    return result;
  }
  template <typename In, int R>
  Output<R> forward(const DeviceTensor<In, R>& input, const SequenceLengths& lengths,
                    const LSTMStateRef<T>& state) const {
    Output<R> result;
    forward_into(result, input, lengths, state);
    return result;
  }
  template <typename In, int R, typename... Rest>
  Output<R> operator()(const DeviceTensor<In, R>& input, const Rest&... rest) const {
    return forward(input, rest...);
  }
  template <typename In, int R>
  Output<R> operator()(const DeviceTensor<In, R>& input, const LSTMStateRef<T>& state) const {
    return forward(input, state);
  }
  template <typename In, int R>
  Output<R> operator()(const DeviceTensor<In, R>& input, const SequenceLengths& lengths,
                       const LSTMStateRef<T>& state) const {
    return forward(input, lengths, state);
  }

 private:
  template <typename In, int R>
  void into(Output<R>& result, const DeviceTensor<In, R>& input, const LSTMStateRef<T>* state,
            const SequenceLengths* lengths) const {
    this->run_into(input, state != nullptr ? &state->h_arg() : nullptr, state != nullptr ? &state->c_arg() : nullptr,
                   lengths, &result.first, &result.second.first, &result.second.second);
  }
  LSTMOptions options_;
};

}  // namespace seqnet::cuda
