// 5.2 Three LSTMCells stacked by hand: each step's new h of one cell is the input of the next.
#include <iostream>
#include <tuple>

#include <seqnet/seqnet.hpp>

#include "print.hpp"

int main() {
  {
    // Shrinking hidden sizes: 80 -> 50 -> 20 -> 10.
    seqnet::LSTMCell<float> lstmcell_1(seqnet::LSTMCellOptions(80, 50));
    seqnet::LSTMCell<float> lstmcell_2(seqnet::LSTMCellOptions(50, 20));
    seqnet::LSTMCell<float> lstmcell_3(seqnet::LSTMCellOptions(20, 10));

    auto x = seqnet::rand<float>(10, 3, 80);  // random input
    // hidden states
    auto h0 = seqnet::zeros<float>(3, 50);
    auto h1 = seqnet::zeros<float>(3, 20);
    auto h2 = seqnet::zeros<float>(3, 10);
    // cell states
    auto c0 = seqnet::zeros<float>(3, 50);
    auto c1 = seqnet::zeros<float>(3, 20);
    auto c2 = seqnet::zeros<float>(3, 10);

    for (seqnet::Index t = 0; t < x.dimension(0); ++t) {
      seqnet::Tensor<float, 2> xt = x.chip<0>(t);
      std::tie(h0, c0) = lstmcell_1(xt, {h0, c0});
      std::tie(h1, c1) = lstmcell_2(h0, {h1, c1});
      std::tie(h2, c2) = lstmcell_3(h1, {h2, c2});
    }
    std::cout << seqnet::shape(h0) << ' ' << seqnet::shape(h1) << ' ' << seqnet::shape(h2) << '\n';
  }
  {
    // Equal hidden sizes, and the top cell's h2 of every step kept as the output, as nn.LSTM would return it.
    seqnet::LSTMCell<float> lstmcell_1(seqnet::LSTMCellOptions(80, 80));
    seqnet::LSTMCell<float> lstmcell_2(seqnet::LSTMCellOptions(80, 80));
    seqnet::LSTMCell<float> lstmcell_3(seqnet::LSTMCellOptions(80, 80));

    auto x = seqnet::rand<float>(10, 3, 80);
    auto h0 = seqnet::zeros<float>(3, 80);
    auto h1 = seqnet::zeros<float>(3, 80);
    auto h2 = seqnet::zeros<float>(3, 80);
    auto c0 = seqnet::zeros<float>(3, 80);
    auto c1 = seqnet::zeros<float>(3, 80);
    auto c2 = seqnet::zeros<float>(3, 80);

    seqnet::Tensor<float, 3> output(x.dimension(0), 3, 80);
    for (seqnet::Index t = 0; t < x.dimension(0); ++t) {
      seqnet::Tensor<float, 2> xt = x.chip<0>(t);
      std::tie(h0, c0) = lstmcell_1(xt, {h0, c0});
      std::tie(h1, c1) = lstmcell_2(h0, {h1, c1});
      std::tie(h2, c2) = lstmcell_3(h1, {h2, c2});
      output.chip<0>(t) = h2;  // out.append(h2)
    }
    std::cout << seqnet::shape(h0) << ' ' << seqnet::shape(h1) << ' ' << seqnet::shape(h2) << '\n';
    std::cout << "output.shape: " << seqnet::shape(output) << '\n';
    py::check("(output[-1] == h2).all()", py::at(output, -1), h2);
  }
}
