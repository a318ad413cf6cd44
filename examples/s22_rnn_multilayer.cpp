// 2.2 Four stacked RNN layers: h0 and h gain a leading dimension of num_layers, out is unchanged.
#include <iostream>

#include <seqnet/seqnet.hpp>

#include "print.hpp"

int main() {
  seqnet::RNN<float> rnn(seqnet::RNNOptions(100, 20).num_layers(4));
  std::cout << rnn << '\n';
  std::cout << py::odict_keys(rnn) << '\n';
  std::cout << "Wih:" << rnn.parameter("weight_ih_l0").dimensions()
            << " Whh:" << rnn.parameter("weight_hh_l0").dimensions() << '\n';
  std::cout << "Bih:" << rnn.parameter("bias_ih_l0").dimensions()
            << " Bhh:" << rnn.parameter("bias_hh_l0").dimensions() << '\n';
  std::cout << '\n';

  auto x = seqnet::randn<float>(10, 3, 100);
  auto [out, h] = rnn(x, seqnet::zeros<float>(4, 3, 20));
  std::cout << seqnet::shape(out) << ' ' << seqnet::shape(h) << '\n';

  // out is the top layer's state at every step; h is every layer's final state. They meet at out[-1] == h[-1].
  py::check("(out[-1] == h[-1]).all()", py::at(out, -1), py::at(h, -1));
}
