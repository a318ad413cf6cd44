// SPDX-License-Identifier: MIT
#pragma once

#include <utility>

#include "../cell.hpp"
#include "module.hpp"
#include "rnn.hpp"

namespace seqnet::cuda {
namespace detail {

/// The GPU cells: one step of one layer through the same plan and kernels as the stacked modules.
template <typename T, typename Options, typename HostModule>
class DeviceCell : public DeviceModule<T> {
 public:
  const Options& options() const noexcept { return options_; }

  /// A CPU cell with this cell's options and the parameters copied back (waits for `stream()`).
  HostModule to_host() const { return this->template host_copy<HostModule>(options_); }

 protected:
  explicit DeviceCell(const HostModule& host) : DeviceModule<T>(host), options_(host.options()) {}

 private:
  Options options_;
};

/// RNNCell and GRUCell: `h' = cell(x[, h])`.
template <typename T, typename Options, typename HostModule>
class HiddenStateDeviceCell : public DeviceCell<T, Options, HostModule> {
 public:
  /// One step from a zero hidden state; returns h'.
  template <typename In, int R>
  DeviceTensor<T, R> forward(const DeviceTensor<In, R>& input) const {
    return std::move(this->run(input, nullptr, nullptr, nullptr).output);
  }
  /// One step from `hx`; returns h'.
  template <typename In, int R, int RH>
  DeviceTensor<T, R> forward(const DeviceTensor<In, R>& input, const DeviceTensor<T, RH>& hx) const {
    const auto h = device_arg(hx);
    return std::move(this->run(input, &h, nullptr, nullptr).output);
  }
  template <typename In, int R, typename... Rest>
  DeviceTensor<T, R> operator()(const DeviceTensor<In, R>& input, const Rest&... rest) const {
    return forward(input, rest...);
  }

 protected:
  using DeviceCell<T, Options, HostModule>::DeviceCell;
};

}  // namespace detail

/// `seqnet::RNNCell` on the GPU.
template <typename T>
class RNNCell : public detail::HiddenStateDeviceCell<T, RNNCellOptions, seqnet::RNNCell<T>> {
 public:
  explicit RNNCell(const seqnet::RNNCell<T>& host)
      : detail::HiddenStateDeviceCell<T, RNNCellOptions, seqnet::RNNCell<T>>(host) {}
  explicit RNNCell(const RNNCellOptions& options, Generator& generator = default_generator())
      : RNNCell(seqnet::RNNCell<T>(options, generator)) {}
};

/// `seqnet::GRUCell` on the GPU.
template <typename T>
class GRUCell : public detail::HiddenStateDeviceCell<T, GRUCellOptions, seqnet::GRUCell<T>> {
 public:
  explicit GRUCell(const seqnet::GRUCell<T>& host)
      : detail::HiddenStateDeviceCell<T, GRUCellOptions, seqnet::GRUCell<T>>(host) {}
  explicit GRUCell(const GRUCellOptions& options, Generator& generator = default_generator())
      : GRUCell(seqnet::GRUCell<T>(options, generator)) {}
};

/// `seqnet::LSTMCell` on the GPU: `auto [h1, c1] = cell(x, h0, c0);`
template <typename T>
class LSTMCell : public detail::DeviceCell<T, LSTMCellOptions, seqnet::LSTMCell<T>> {
 public:
  explicit LSTMCell(const seqnet::LSTMCell<T>& host) : detail::DeviceCell<T, LSTMCellOptions, seqnet::LSTMCell<T>>(host) {}
  explicit LSTMCell(const LSTMCellOptions& options, Generator& generator = default_generator())
      : LSTMCell(seqnet::LSTMCell<T>(options, generator)) {}

  /// One step from zero states.
  template <typename In, int R>
  LSTMState<T, R> forward(const DeviceTensor<In, R>& input) const {
    return unpack(this->run(input, nullptr, nullptr, nullptr));
  }
  /// One step from `h0`, `c0`.
  template <typename In, int R, int RH, int RC>
  LSTMState<T, R> forward(const DeviceTensor<In, R>& input, const DeviceTensor<T, RH>& h0,
                          const DeviceTensor<T, RC>& c0) const {
    const auto h = detail::device_arg(h0), c = detail::device_arg(c0);
    return unpack(this->run(input, &h, &c, nullptr));
  }
  /// One step from a previous step's `(h, c)`.
  template <typename In, int R, int RS>
  LSTMState<T, R> forward(const DeviceTensor<In, R>& input, const LSTMState<T, RS>& state) const {
    return forward(input, state.first, state.second);
  }
  template <typename In, int R, typename... Rest>
  LSTMState<T, R> operator()(const DeviceTensor<In, R>& input, const Rest&... rest) const {
    return forward(input, rest...);
  }

 private:
  template <typename Result>
  static auto unpack(Result&& r) {
    return std::make_pair(std::move(r.output), std::move(r.c));
  }
};

}  // namespace seqnet::cuda
