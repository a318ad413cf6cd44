// SPDX-License-Identifier: MIT
#pragma once

#include <utility>

#include "../rnn.hpp"
#include "module.hpp"

namespace seqnet::cuda {

/// `(h, c)` of a GPU LSTM or LSTMCell: `auto [h_n, c_n] = hc;`
template <typename T, int R>
using LSTMState = std::pair<DeviceTensor<T, R>, DeviceTensor<T, R>>;

namespace detail {

/// RNN and GRU on the GPU: one hidden state, `(output, h_n)` results. `In` is `T`, or `cuda::half` /
/// `cuda::bfloat16` (converted to `T` on the device; all arithmetic in `T`).
template <typename T, typename Options, typename HostModule>
class HiddenStateDeviceModule : public DeviceModule<T> {
 public:
  template <int R>
  using Output = std::pair<DeviceTensor<T, R>, DeviceTensor<T, R>>;

  const Options& options() const noexcept { return options_; }

  /// A CPU module with this module's options and the parameters copied back (waits for `stream()`).
  HostModule to_host() const { return this->template host_copy<HostModule>(options_); }

  /// From zero initial state. Returns `(output, h_n)`.
  template <typename In, int R>
  Output<R> forward(const DeviceTensor<In, R>& input) const {
    return unpack(this->run(input, nullptr, nullptr, nullptr));
  }
  /// From `h0`.
  template <typename In, int R, int RH>
  Output<R> forward(const DeviceTensor<In, R>& input, const DeviceTensor<T, RH>& h0) const {
    const auto h = device_arg(h0);
    return unpack(this->run(input, &h, nullptr, nullptr));
  }
  /// A padded batch of sequences of different lengths (PyTorch's packed sequences), from zero state.
  template <typename In, int R>
  Output<R> forward(const DeviceTensor<In, R>& input, const SequenceLengths& lengths) const {
    return unpack(this->run(input, nullptr, nullptr, &lengths));
  }
  /// As above, from `h0`.
  template <typename In, int R, int RH>
  Output<R> forward(const DeviceTensor<In, R>& input, const SequenceLengths& lengths, const DeviceTensor<T, RH>& h0) const {
    const auto h = device_arg(h0);
    return unpack(this->run(input, &h, nullptr, &lengths));
  }
  template <typename In, int R, typename... Rest>
  Output<R> operator()(const DeviceTensor<In, R>& input, const Rest&... rest) const {
    return forward(input, rest...);
  }

 protected:
  HiddenStateDeviceModule(const HostModule& host) : DeviceModule<T>(host), options_(host.options()) {}

 private:
  template <typename Result>
  static auto unpack(Result&& r) {
    return std::make_pair(std::move(r.output), std::move(r.h));
  }
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

/// `seqnet::LSTM` on the GPU, with `proj_size`. Returns `(output, (h_n, c_n))` as device tensors:
/// ```
/// seqnet::cuda::LSTM<float> lstm(cpu_lstm);
/// auto [out, hc] = lstm(x_dev, h0_dev, c0_dev);
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

  /// From zero states. Returns `(output, (h_n, c_n))`.
  template <typename In, int R>
  Output<R> forward(const DeviceTensor<In, R>& input) const {
    return unpack(this->run(input, nullptr, nullptr, nullptr));
  }
  /// From `h0`, `c0` (ranks checked at run time).
  template <typename In, int R, int RH, int RC>
  Output<R> forward(const DeviceTensor<In, R>& input, const DeviceTensor<T, RH>& h0, const DeviceTensor<T, RC>& c0) const {
    const auto h = detail::device_arg(h0), c = detail::device_arg(c0);
    return unpack(this->run(input, &h, &c, nullptr));
  }
  /// From a previous call's `(h_n, c_n)`.
  template <typename In, int R, int RS>
  Output<R> forward(const DeviceTensor<In, R>& input, const LSTMState<T, RS>& state) const {
    return forward(input, state.first, state.second);
  }
  /// A padded batch of sequences of different lengths, from zero states.
  template <typename In, int R>
  Output<R> forward(const DeviceTensor<In, R>& input, const SequenceLengths& lengths) const {
    return unpack(this->run(input, nullptr, nullptr, &lengths));
  }
  /// As above, from `h0`, `c0`.
  template <typename In, int R, int RH, int RC>
  Output<R> forward(const DeviceTensor<In, R>& input, const SequenceLengths& lengths, const DeviceTensor<T, RH>& h0,
                    const DeviceTensor<T, RC>& c0) const {
    const auto h = detail::device_arg(h0), c = detail::device_arg(c0);
    return unpack(this->run(input, &h, &c, &lengths));
  }
  template <typename In, int R, typename... Rest>
  Output<R> operator()(const DeviceTensor<In, R>& input, const Rest&... rest) const {
    return forward(input, rest...);
  }

 private:
  template <typename Result>
  static auto unpack(Result&& r) {
    return std::make_pair(std::move(r.output), std::make_pair(std::move(r.h), std::move(r.c)));
  }
  LSTMOptions options_;
};

}  // namespace seqnet::cuda
