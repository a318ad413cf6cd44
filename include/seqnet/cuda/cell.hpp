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

/// RNNCell and GRUCell: `h' = cell(x[, h])`, or `cell.forward_into(h1, x[, h])` into a caller-owned
/// tensor (written in place when its shape fits, else reallocated on `stream()`; `h` may be `h1` itself).
template <typename T, typename Options, typename HostModule>
class HiddenStateDeviceCell : public DeviceCell<T, Options, HostModule> {
 public:
  /// One step from a zero hidden state.
  template <typename In, int R>
  void forward_into(DeviceTensor<T, R>& h1, const DeviceTensor<In, R>& input) const {
    this->run_into(input, nullptr, nullptr, nullptr, &h1, nullptr, nullptr);
  }
  /// One step from `hx`.
  template <typename In, int R, int RH>
  void forward_into(DeviceTensor<T, R>& h1, const DeviceTensor<In, R>& input, const DeviceTensor<T, RH>& hx) const {
    const auto h = device_arg(hx);
    this->run_into(input, &h, nullptr, nullptr, &h1, nullptr, nullptr);
  }
  /// h' in a new tensor: `(x)` or `(x, hx)`.
  template <typename In, int R, typename... Rest>
  DeviceTensor<T, R> forward(const DeviceTensor<In, R>& input, const Rest&... rest) const {
    DeviceTensor<T, R> h1;
    forward_into(h1, input, rest...);
    return h1;
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

/// `seqnet::LSTMCell` on the GPU, called as the CPU cell is: `auto [h1, c1] = cell(x, {h0, c0});`, or
/// `cell.forward_into(hc, x, hc)` to step a caller-owned state in place.
template <typename T>
class LSTMCell : public detail::DeviceCell<T, LSTMCellOptions, seqnet::LSTMCell<T>> {
 public:
  explicit LSTMCell(const seqnet::LSTMCell<T>& host) : detail::DeviceCell<T, LSTMCellOptions, seqnet::LSTMCell<T>>(host) {}
  explicit LSTMCell(const LSTMCellOptions& options, Generator& generator = default_generator())
      : LSTMCell(seqnet::LSTMCell<T>(options, generator)) {}

  /// One step from zero states into `hc` (written in place when its shapes fit, else reallocated).
  template <typename In, int R>
  void forward_into(LSTMState<T, R>& hc, const DeviceTensor<In, R>& input) const {
    this->run_into(input, nullptr, nullptr, nullptr, &hc.first, nullptr, &hc.second);
  }
  /// One step from `{h0, c0}` or a previous step's `(h, c)`, which may be `hc` itself.
  template <typename In, int R>
  void forward_into(LSTMState<T, R>& hc, const DeviceTensor<In, R>& input, const LSTMStateRef<T>& state) const {
    this->run_into(input, &state.h_arg(), &state.c_arg(), nullptr, &hc.first, nullptr, &hc.second);
  }
  template <typename In, int R, int RH, int RC>
  void forward_into(LSTMState<T, R>& hc, const DeviceTensor<In, R>& input, const DeviceTensor<T, RH>& h0,
                    const DeviceTensor<T, RC>& c0) const {
    forward_into(hc, input, LSTMStateRef<T>(h0, c0));
  }

  /// `(h1, c1)` in new tensors: `(x)`, `(x, {h0, c0})`, `(x, h0, c0)` or `(x, hc)`.
  template <typename In, int R, typename... Rest>
  LSTMState<T, R> forward(const DeviceTensor<In, R>& input, const Rest&... rest) const {
    LSTMState<T, R> hc;
    forward_into(hc, input, rest...);
    return hc;
  }
  template <typename In, int R>
  LSTMState<T, R> forward(const DeviceTensor<In, R>& input, const LSTMStateRef<T>& state) const {
    LSTMState<T, R> hc;
    forward_into(hc, input, state);
    return hc;
  }
  template <typename In, int R, typename... Rest>
  LSTMState<T, R> operator()(const DeviceTensor<In, R>& input, const Rest&... rest) const {
    return forward(input, rest...);
  }
  template <typename In, int R>
  LSTMState<T, R> operator()(const DeviceTensor<In, R>& input, const LSTMStateRef<T>& state) const {
    return forward(input, state);
  }
};

}  // namespace seqnet::cuda
