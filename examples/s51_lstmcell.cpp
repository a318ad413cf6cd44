// 5.1 One LSTMCell stepped by hand: (h0, c0) are [batch 3, hidden 20] and are updated at every word.
#include <iostream>
#include <tuple>

#include <seqnet/seqnet.hpp>

int main() {
  seqnet::LSTMCell<float> lstm_cell(seqnet::LSTMCellOptions(100, 20));
  std::cout << lstm_cell << '\n';
  std::cout << "Wih:" << lstm_cell.weight_ih().dimensions()
            << ", Whh:" << lstm_cell.weight_hh().dimensions() << '\n';
  std::cout << "Bih:" << lstm_cell.bias_ih().dimensions()
            << ", Bhh:" << lstm_cell.bias_hh().dimensions() << '\n';
  std::cout << '\n';

  auto x = seqnet::rand<float>(10, 3, 100);
  auto h0 = seqnet::zeros<float>(3, 20);
  auto c0 = seqnet::zeros<float>(3, 20);

  seqnet::Tensor<float, 2> xt;
  for (seqnet::Index t = 0; t < x.dimension(0); ++t) {
    xt = x.chip<0>(t);
    std::tie(h0, c0) = lstm_cell(xt, {h0, c0});
  }
  std::cout << seqnet::shape(xt) << ' ' << seqnet::shape(h0) << ' ' << seqnet::shape(c0) << '\n';
}
