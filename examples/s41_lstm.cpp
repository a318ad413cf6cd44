// 4.1 Single-layer LSTM: used like nn.RNN, plus a cell state c0 next to h0; each weight stacks the
// four gates i, f, g, o, hence 80 = 4 * 20 rows.
#include <iostream>

#include <seqnet/seqnet.hpp>

#include "print.hpp"

int main() {
  seqnet::LSTM<float> lstm(seqnet::LSTMOptions(100, 20).num_layers(1));
  std::cout << lstm << '\n';
  std::cout << py::odict_keys(lstm) << '\n';
  std::cout << "Wih:" << lstm.parameter("weight_ih_l0").dimensions()
            << " Whh:" << lstm.parameter("weight_hh_l0").dimensions() << '\n';
  std::cout << "Bih:" << lstm.parameter("bias_ih_l0").dimensions()
            << " Bhh:" << lstm.parameter("bias_hh_l0").dimensions() << '\n';
  std::cout << '\n';

  auto x = seqnet::rand<float>(10, 3, 100);
  auto h0 = seqnet::zeros<float>(1, 3, 20);
  auto c0 = seqnet::zeros<float>(1, 3, 20);
  auto [out, state] = lstm(x, {h0, c0});
  const auto& [ht, ct] = state;
  std::cout << seqnet::shape(out) << ' ' << seqnet::shape(ht) << ' ' << seqnet::shape(ct) << '\n';

  py::check("(out[-1] == ht[-1]).all()", py::at(out, -1), py::at(ht, -1));
}
