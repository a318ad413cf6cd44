// 2.1 Single-layer RNN: nn.RNN(input_size=100, hidden_size=20, num_layers=1) over x: [seq 10, batch 3, feature 100].
#include <iostream>

#include <seqnet/seqnet.hpp>

#include "print.hpp"

int main() {
  seqnet::RNN<float> rnn(seqnet::RNNOptions(100, 20).num_layers(1));
  std::cout << rnn << '\n';
  std::cout << py::odict_keys(rnn) << '\n';
  std::cout << "Wih:" << rnn.parameter("weight_ih_l0").dimensions()
            << " Whh:" << rnn.parameter("weight_hh_l0").dimensions() << '\n';
  std::cout << "Bih:" << rnn.parameter("bias_ih_l0").dimensions()
            << " Bhh:" << rnn.parameter("bias_hh_l0").dimensions() << '\n';
  std::cout << '\n';

  auto x = seqnet::randn<float>(10, 3, 100);
  auto [out, h] = rnn(x, seqnet::zeros<float>(1, 3, 20));
  std::cout << seqnet::shape(out) << ' ' << seqnet::shape(h) << '\n';

  // out stacks the hidden state of every time step, so its last step is the final hidden state.
  py::check("(out[-1] == h[-1]).all()", py::at(out, -1), py::at(h, -1));
}
