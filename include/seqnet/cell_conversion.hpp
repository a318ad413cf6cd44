// SPDX-License-Identifier: MIT
/// @file cell_conversion.hpp
/// A cell as a one-layer module and back: `layer_from_cell(LSTMCell)` is an `LSTM` (`num_layers=1`) with
/// the same weights under the layer's names (`weight_ih` -> `weight_ih_l0`, ...), and `cell_from_layer`
/// the reverse. Both have the same flat parameter layout, so the weights are copied as they are and the
/// two compute the same numbers: what PyTorch users do with
/// `lstm.weight_ih_l0.data.copy_(cell.weight_ih)`, in one call.
#pragma once

#include <algorithm>

#include "cell.hpp"
#include "errors.hpp"
#include "rnn.hpp"

namespace seqnet {
namespace detail {

template <typename To, typename From>
To copy_weights(const From& from, To to) {
  SEQNET_CHECK(value_error, to.num_parameters() == from.num_parameters(), "cell/layer conversion: ",
               from.num_parameters(), " parameters do not fit ", to.num_parameters());
  std::copy(from.flat_parameters(), from.flat_parameters() + from.num_parameters(), to.flat_parameters());
  to.train(from.is_training());
  return to;
}

template <typename Options>
void check_one_layer(const char* name, const Options& o) {
  SEQNET_CHECK(value_error, o.num_layers() == 1, "cell_from_layer needs a one-layer ", name, ", got num_layers=",
               o.num_layers());
  SEQNET_CHECK(value_error, !o.bidirectional(), "cell_from_layer needs a unidirectional ", name);
}

}  // namespace detail

/// `LSTM(input_size, hidden_size, bias=...)` with the cell's weights.
template <typename T>
LSTM<T> layer_from_cell(const LSTMCell<T>& cell) {
  const auto& o = cell.options();
  return detail::copy_weights(cell, LSTM<T>(LSTMOptions(o.input_size(), o.hidden_size()).bias(o.bias())));
}
/// `GRU(input_size, hidden_size, bias=...)` with the cell's weights.
template <typename T>
GRU<T> layer_from_cell(const GRUCell<T>& cell) {
  const auto& o = cell.options();
  return detail::copy_weights(cell, GRU<T>(GRUOptions(o.input_size(), o.hidden_size()).bias(o.bias())));
}
/// `RNN(input_size, hidden_size, nonlinearity=..., bias=...)` with the cell's weights.
template <typename T>
RNN<T> layer_from_cell(const RNNCell<T>& cell) {
  const auto& o = cell.options();
  return detail::copy_weights(
      cell, RNN<T>(RNNOptions(o.input_size(), o.hidden_size()).nonlinearity(o.nonlinearity()).bias(o.bias())));
}

/// The `LSTMCell` of a one-layer, unidirectional LSTM without projections (`value_error` otherwise);
/// `batch_first` and `dropout` do not exist for a cell and are dropped.
template <typename T>
LSTMCell<T> cell_from_layer(const LSTM<T>& layer) {
  const auto& o = layer.options();
  detail::check_one_layer("LSTM", o);
  SEQNET_CHECK(value_error, o.proj_size() == 0, "cell_from_layer: LSTMCell has no projection (proj_size=", o.proj_size(), ")");
  return detail::copy_weights(layer, LSTMCell<T>(LSTMCellOptions(o.input_size(), o.hidden_size()).bias(o.bias())));
}
/// The `GRUCell` of a one-layer, unidirectional GRU.
template <typename T>
GRUCell<T> cell_from_layer(const GRU<T>& layer) {
  const auto& o = layer.options();
  detail::check_one_layer("GRU", o);
  return detail::copy_weights(layer, GRUCell<T>(GRUCellOptions(o.input_size(), o.hidden_size()).bias(o.bias())));
}
/// The `RNNCell` of a one-layer, unidirectional RNN.
template <typename T>
RNNCell<T> cell_from_layer(const RNN<T>& layer) {
  const auto& o = layer.options();
  detail::check_one_layer("RNN", o);
  return detail::copy_weights(
      layer, RNNCell<T>(RNNCellOptions(o.input_size(), o.hidden_size()).nonlinearity(o.nonlinearity()).bias(o.bias())));
}

}  // namespace seqnet
