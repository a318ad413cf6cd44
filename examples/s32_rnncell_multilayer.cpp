// 3.2 Three RNNCells stacked by hand: each step feeds cell_1's new state into cell_2, and cell_2's into cell_3.
#include <iostream>

#include <seqnet/seqnet.hpp>

int main() {
  {
    // Shrinking hidden sizes: 80 -> 50 -> 20 -> 10.
    seqnet::RNNCell<float> cell_1(80, 50);
    seqnet::RNNCell<float> cell_2(50, 20);
    seqnet::RNNCell<float> cell_3(20, 10);

    auto x = seqnet::rand<float>(10, 3, 80);
    auto h1 = seqnet::zeros<float>(3, 50);
    auto h2 = seqnet::zeros<float>(3, 20);
    auto h3 = seqnet::zeros<float>(3, 10);

    for (seqnet::Index t = 0; t < x.dimension(0); ++t) {
      seqnet::Tensor<float, 2> xi = x.chip<0>(t);
      h1 = cell_1(xi, h1);
      h2 = cell_2(h1, h2);
      h3 = cell_3(h2, h3);
    }
    std::cout << seqnet::shape(h1) << ' ' << seqnet::shape(h2) << ' ' << seqnet::shape(h3) << '\n';
  }
  {
    // Equal hidden sizes keep the feature size at 80 throughout, like a 3-layer nn.RNN.
    seqnet::RNNCell<float> cell_1(80, 80);
    seqnet::RNNCell<float> cell_2(80, 80);
    seqnet::RNNCell<float> cell_3(80, 80);

    auto x = seqnet::rand<float>(10, 3, 80);
    auto h1 = seqnet::zeros<float>(3, 80);
    auto h2 = seqnet::zeros<float>(3, 80);
    auto h3 = seqnet::zeros<float>(3, 80);

    for (seqnet::Index t = 0; t < x.dimension(0); ++t) {
      seqnet::Tensor<float, 2> xi = x.chip<0>(t);
      h1 = cell_1(xi, h1);
      h2 = cell_2(h1, h2);
      h3 = cell_3(h2, h3);
    }
    std::cout << seqnet::shape(h1) << ' ' << seqnet::shape(h2) << ' ' << seqnet::shape(h3) << '\n';
  }
}
