// SPDX-License-Identifier: MIT
#pragma once

#include <string>

#include "errors.hpp"
#include "tensor.hpp"

/// Declares an option in the style of libtorch's `TORCH_ARG`: a fluent setter `opts.name(value)` returning
/// the options object, a getter `opts.name()`, and a member `name_` whose default follows the macro.
#define SEQNET_ARG(Type, name)                                         \
 public:                                                              \
  inline auto name(const Type& new_##name) -> decltype(*this) {        \
    this->name##_ = new_##name;                                        \
    return *this;                                                      \
  }                                                                    \
  inline const Type& name() const noexcept { return this->name##_; } \
                                                                       \
 private:                                                             \
  Type name##_

namespace seqnet {

/// Activation of the vanilla RNN (PyTorch's `nonlinearity='tanh' | 'relu'`).
enum class Nonlinearity { Tanh, Relu };

/// `"tanh"` or `"relu"`, as PyTorch spells them.
inline const char* to_string(Nonlinearity nonlinearity) {
  return nonlinearity == Nonlinearity::Relu ? "relu" : "tanh";
}

/// Parses PyTorch's spelling; anything else throws `value_error` with PyTorch's message.
inline Nonlinearity nonlinearity_from_string(const std::string& name) {
  if (name == "tanh") return Nonlinearity::Tanh;
  if (name == "relu") return Nonlinearity::Relu;
  throw value_error("Unknown nonlinearity '" + name + "'. Select from 'tanh' or 'relu'.");
}

/// Options of `RNN<T>`, mirroring `torch::nn::RNNOptions`.
/// Example: `RNN<float> rnn(RNNOptions(100, 20).num_layers(4).bidirectional(true));`
struct RNNOptions {
  RNNOptions(Index input_size, Index hidden_size) : input_size_(input_size), hidden_size_(hidden_size) {}
  /// Features of each input element.
  SEQNET_ARG(Index, input_size);
  /// Features of the hidden state.
  SEQNET_ARG(Index, hidden_size);
  /// Number of stacked recurrent layers. Default: 1
  SEQNET_ARG(Index, num_layers) = 1;
  /// tanh or ReLU. Default: Tanh
  SEQNET_ARG(Nonlinearity, nonlinearity) = Nonlinearity::Tanh;
  /// Whether the layers have `bias_ih`/`bias_hh`. Default: true
  SEQNET_ARG(bool, bias) = true;
  /// Input and output are `[batch, seq, feature]` (h_0/h_n never are). Default: false
  SEQNET_ARG(bool, batch_first) = false;
  /// Dropout probability on the outputs of every layer but the last, in training mode. Default: 0
  SEQNET_ARG(double, dropout) = 0.0;
  /// Adds a reverse-direction layer next to each forward one. Default: false
  SEQNET_ARG(bool, bidirectional) = false;
};

/// Options of `LSTM<T>`, mirroring `torch::nn::LSTMOptions`.
/// Example: `LSTM<float> lstm(LSTMOptions(10, 20).num_layers(2).proj_size(5));`
struct LSTMOptions {
  LSTMOptions(Index input_size, Index hidden_size) : input_size_(input_size), hidden_size_(hidden_size) {}
  /// Features of each input element.
  SEQNET_ARG(Index, input_size);
  /// Features of the cell state (and of the hidden state when proj_size is 0).
  SEQNET_ARG(Index, hidden_size);
  /// Number of stacked recurrent layers. Default: 1
  SEQNET_ARG(Index, num_layers) = 1;
  /// Whether the layers have `bias_ih`/`bias_hh`. Default: true
  SEQNET_ARG(bool, bias) = true;
  /// Input and output are `[batch, seq, feature]` (h_0/h_n/c_0/c_n never are). Default: false
  SEQNET_ARG(bool, batch_first) = false;
  /// Dropout probability on the outputs of every layer but the last, in training mode. Default: 0
  SEQNET_ARG(double, dropout) = 0.0;
  /// Adds a reverse-direction layer next to each forward one. Default: false
  SEQNET_ARG(bool, bidirectional) = false;
  /// If > 0, the hidden state is projected to this size by `weight_hr_l{k}`. Default: 0
  SEQNET_ARG(Index, proj_size) = 0;
};

/// Options of `GRU<T>`, mirroring `torch::nn::GRUOptions`.
/// Example: `GRU<float> gru(GRUOptions(8, 16).num_layers(2).batch_first(true));`
struct GRUOptions {
  GRUOptions(Index input_size, Index hidden_size) : input_size_(input_size), hidden_size_(hidden_size) {}
  /// Features of each input element.
  SEQNET_ARG(Index, input_size);
  /// Features of the hidden state.
  SEQNET_ARG(Index, hidden_size);
  /// Number of stacked recurrent layers. Default: 1
  SEQNET_ARG(Index, num_layers) = 1;
  /// Whether the layers have `bias_ih`/`bias_hh`. Default: true
  SEQNET_ARG(bool, bias) = true;
  /// Input and output are `[batch, seq, feature]` (h_0/h_n never are). Default: false
  SEQNET_ARG(bool, batch_first) = false;
  /// Dropout probability on the outputs of every layer but the last, in training mode. Default: 0
  SEQNET_ARG(double, dropout) = 0.0;
  /// Adds a reverse-direction layer next to each forward one. Default: false
  SEQNET_ARG(bool, bidirectional) = false;
};

/// Options of `RNNCell<T>`, mirroring `torch::nn::RNNCellOptions`.
struct RNNCellOptions {
  RNNCellOptions(Index input_size, Index hidden_size) : input_size_(input_size), hidden_size_(hidden_size) {}
  /// Features of the input.
  SEQNET_ARG(Index, input_size);
  /// Features of the hidden state.
  SEQNET_ARG(Index, hidden_size);
  /// Whether the cell has `bias_ih`/`bias_hh`. Default: true
  SEQNET_ARG(bool, bias) = true;
  /// tanh or ReLU. Default: Tanh
  SEQNET_ARG(Nonlinearity, nonlinearity) = Nonlinearity::Tanh;
};

/// Options of `LSTMCell<T>`, mirroring `torch::nn::LSTMCellOptions`.
struct LSTMCellOptions {
  LSTMCellOptions(Index input_size, Index hidden_size) : input_size_(input_size), hidden_size_(hidden_size) {}
  /// Features of the input.
  SEQNET_ARG(Index, input_size);
  /// Features of the hidden and cell state.
  SEQNET_ARG(Index, hidden_size);
  /// Whether the cell has `bias_ih`/`bias_hh`. Default: true
  SEQNET_ARG(bool, bias) = true;
};

/// Options of `GRUCell<T>`, mirroring `torch::nn::GRUCellOptions`.
struct GRUCellOptions {
  GRUCellOptions(Index input_size, Index hidden_size) : input_size_(input_size), hidden_size_(hidden_size) {}
  /// Features of the input.
  SEQNET_ARG(Index, input_size);
  /// Features of the hidden state.
  SEQNET_ARG(Index, hidden_size);
  /// Whether the cell has `bias_ih`/`bias_hh`. Default: true
  SEQNET_ARG(bool, bias) = true;
};

}  // namespace seqnet
