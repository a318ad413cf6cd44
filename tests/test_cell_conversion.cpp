// Cells and one-layer modules interchangeable: layer_from_cell / cell_from_layer copy the weights between
// a cell's names (weight_ih) and a layer's (weight_ih_l0) and compute the same numbers; a Stream runs over
// a cell as over a one-layer module.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include <seqnet/cell_conversion.hpp>
#include <seqnet/state_dict.hpp>
#include <seqnet/stream.hpp>

namespace {

using seqnet::Index;
using seqnet::Shape;
using seqnet::Tensor;

/// Step `t` of a row-major `[steps, batch, features]` tensor (contiguous), as `[batch, features]`.
template <typename T>
Tensor<T, 2> step_of(const Tensor<T, 3>& x, Index t) {
  Tensor<T, 2> out(x.dimension(1), x.dimension(2));
  std::copy(x.data() + t * out.size(), x.data() + (t + 1) * out.size(), out.data());
  return out;
}


}  // namespace

TEST_CASE("layer_from_cell: a one-layer LSTM with the cell's weights under weight_ih_l0 ...", "[cell_conversion]") {
  seqnet::Generator generator(21);
  seqnet::LSTMCell<double> cell(seqnet::LSTMCellOptions(3, 5), generator);
  const seqnet::LSTM<double> lstm = seqnet::layer_from_cell(cell);
  CHECK(lstm.repr() == "LSTM(3, 5)");
  CHECK(seqnet::state_dict(lstm).keys() ==
        std::vector<std::string>{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"});
  const auto cell_dict = seqnet::state_dict(cell);
  for (const auto& [name, tensor] : seqnet::state_dict(lstm)) {
    const std::string cell_name = name.substr(0, name.size() - 3);  // weight_ih_l0 -> weight_ih
    CHECK(cell_dict.at(cell_name).values == tensor.values);
  }

  // Stepping the cell equals running the layer over the sequence.
  const auto x = seqnet::randn<double>(7, 2, 3);
  const auto [out, state] = lstm(x);
  seqnet::LSTMState<double, 2> s{seqnet::zeros<double>(2, 5), seqnet::zeros<double>(2, 5)};
  for (Index t = 0; t < 7; ++t) {
    const Tensor<double, 2> xt = step_of(x, t);
    cell.forward_into(xt, s, s);
    const Tensor<double, 2> yt = step_of(out, t);
    for (Index i = 0; i < yt.size(); ++i) CHECK(s.first.data()[i] == Approx(yt.data()[i]).epsilon(1e-12));
  }

  // And back: cell_from_layer gives the same cell.
  const seqnet::LSTMCell<double> back = seqnet::cell_from_layer(lstm);
  CHECK(back.repr() == "LSTMCell(3, 5)");
  for (const auto& [name, tensor] : seqnet::state_dict(back)) CHECK(cell_dict.at(name).values == tensor.values);
}

TEST_CASE("layer_from_cell / cell_from_layer keep bias and nonlinearity for RNN and GRU", "[cell_conversion]") {
  seqnet::RNNCell<float> rnn_cell(seqnet::RNNCellOptions(2, 4).nonlinearity(seqnet::Nonlinearity::Relu).bias(false));
  const auto rnn = seqnet::layer_from_cell(rnn_cell);
  CHECK(rnn.repr() == "RNN(2, 4, bias=False)");  // PyTorch's RNN repr omits the nonlinearity
  CHECK(rnn.options().nonlinearity() == seqnet::Nonlinearity::Relu);
  CHECK(seqnet::cell_from_layer(rnn).repr() == "RNNCell(2, 4, bias=False, nonlinearity=relu)");
  seqnet::GRUCell<float> gru_cell(2, 4);
  const auto gru = seqnet::layer_from_cell(gru_cell);
  CHECK(seqnet::state_dict(gru).at("weight_hh_l0").values == seqnet::state_dict(gru_cell).at("weight_hh").values);
  CHECK(seqnet::state_dict(seqnet::cell_from_layer(gru)).at("bias_ih").values ==
        seqnet::state_dict(gru_cell).at("bias_ih").values);
}

TEST_CASE("cell_from_layer rejects what a cell cannot hold", "[cell_conversion][errors]") {
  CHECK_THROWS_WITH(seqnet::cell_from_layer(seqnet::LSTM<float>(seqnet::LSTMOptions(2, 3).num_layers(2))),
                    "cell_from_layer needs a one-layer LSTM, got num_layers=2");
  CHECK_THROWS_WITH(seqnet::cell_from_layer(seqnet::GRU<float>(seqnet::GRUOptions(2, 3).bidirectional(true))),
                    "cell_from_layer needs a unidirectional GRU");
  CHECK_THROWS_WITH(seqnet::cell_from_layer(seqnet::LSTM<float>(seqnet::LSTMOptions(2, 3).proj_size(2))),
                    "cell_from_layer: LSTMCell has no projection (proj_size=2)");
  CHECK_THROWS_AS(seqnet::cell_from_layer(seqnet::RNN<float>(seqnet::RNNOptions(2, 3).num_layers(3))), seqnet::value_error);
}

TEMPLATE_TEST_CASE("a Stream over a cell steps as the cell does, its state [1, batch, hidden]", "[cell_conversion][stream]",
                   float, double) {
  using T = TestType;
  seqnet::Generator generator(4);
  seqnet::LSTMCell<T> cell(seqnet::LSTMCellOptions(3, 6), generator);
  seqnet::GRUCell<T> gru_cell(seqnet::GRUCellOptions(3, 6), generator);
  seqnet::Stream stream(cell, 2);
  seqnet::Stream gru_stream(gru_cell, 2);
  const auto x = seqnet::randn<T>(5, 2, 3);
  seqnet::LSTMState<T, 2> s{seqnet::zeros<T>(2, 6), seqnet::zeros<T>(2, 6)};
  Tensor<T, 2> h = seqnet::zeros<T>(2, 6), y, gy;
  const T tol = std::is_same_v<T, float> ? T(1e-6) : T(1e-13);
  for (Index t = 0; t < 5; ++t) {
    const Tensor<T, 2> xt = step_of(x, t);
    cell.forward_into(xt, s, s);
    gru_cell.forward_into(xt, h, h);
    stream.step_into(xt, y);
    gru_stream.step_into(xt, gy);
    for (Index i = 0; i < y.size(); ++i) {
      CHECK(std::abs(y.data()[i] - s.first.data()[i]) <= tol);
      CHECK(std::abs(gy.data()[i] - h.data()[i]) <= tol);
    }
  }
  CHECK(seqnet::shape(stream.c()) == Shape{1, 2, 6});
  for (Index i = 0; i < s.second.size(); ++i) CHECK(std::abs(stream.c().data()[i] - s.second.data()[i]) <= tol);
  // A whole chunk at once gives the same as the steps.
  seqnet::Stream again(cell, 2);
  const auto ys = again.feed(x);
  for (Index i = 0; i < 2 * 6; ++i) CHECK(std::abs(ys.data()[4 * 12 + i] - y.data()[i]) <= tol);
}
