// 3.1 One RNNCell stepped by hand over the sequence: the cell sees one word [batch 3, feature 100] at a time.
#include <iostream>

#include <seqnet/seqnet.hpp>

#include "print.hpp"

int main() {
  seqnet::RNNCell<float> cell_1(100, 20);
  std::cout << cell_1 << '\n';
  std::cout << py::odict_keys(cell_1) << '\n';
  std::cout << "Wih:" << cell_1.weight_ih().dimensions()
            << " Whh:" << cell_1.weight_hh().dimensions() << '\n';
  std::cout << "Bih:" << cell_1.bias_ih().dimensions()
            << " Bhh:" << cell_1.bias_hh().dimensions() << '\n';
  std::cout << '\n';

  auto x = seqnet::randn<float>(10, 3, 100);
  auto h1 = seqnet::zeros<float>(3, 20);
  for (seqnet::Index t = 0; t < x.dimension(0); ++t) {  // for xt in x:
    seqnet::Tensor<float, 2> xt = x.chip<0>(t);
    h1 = cell_1(xt, h1);
  }
  std::cout << seqnet::shape(h1) << '\n';
}
