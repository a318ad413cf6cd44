// 4.4 Four bidirectional LSTM layers: ht holds
// [layer 0 forward, layer 0 reverse, ..., layer 3 forward, layer 3 reverse].
#include <iostream>

#include <seqnet/seqnet.hpp>

#include "print.hpp"

int main() {
  seqnet::LSTM<float> lstm(seqnet::LSTMOptions(100, 20).num_layers(4).bidirectional(true));
  std::cout << lstm << '\n';
  std::cout << py::odict_keys(lstm) << '\n';
  std::cout << "Wih:" << lstm.parameter("weight_ih_l0").dimensions()
            << " Whh:" << lstm.parameter("weight_hh_l0").dimensions() << '\n';
  std::cout << "Bih:" << lstm.parameter("bias_ih_l0").dimensions()
            << " Bhh:" << lstm.parameter("bias_hh_l0").dimensions() << '\n';
  std::cout << "rWih:" << lstm.parameter("weight_ih_l0_reverse").dimensions()
            << " rWhh:" << lstm.parameter("weight_hh_l0_reverse").dimensions() << '\n';
  std::cout << "rBih:" << lstm.parameter("bias_ih_l0_reverse").dimensions()
            << " rBhh:" << lstm.parameter("bias_hh_l0_reverse").dimensions() << '\n';
  std::cout << '\n';

  auto x = seqnet::rand<float>(10, 3, 100);
  auto h0 = seqnet::zeros<float>(8, 3, 20);
  auto c0 = seqnet::zeros<float>(8, 3, 20);
  auto [out, state] = lstm(x, {h0, c0});
  const auto& [ht, ct] = state;
  std::cout << seqnet::shape(out) << ' ' << seqnet::shape(ht) << ' ' << seqnet::shape(ct) << '\n';

  // Top layer: ht[-2] is its forward direction (ends at the last step), ht[-1] its reverse one (ends at time 0).
  py::check("(out[-1][:, :20] == ht[-2]).all()", py::columns(py::at(out, -1), 0, 20), py::at(ht, -2));
  py::check("(out[0][:, 20:] == ht[-1]).all()", py::columns(py::at(out, 0), 20, 40), py::at(ht, -1));
  py::check("(out[-1][:, 20:] == ht[-1]).all()", py::columns(py::at(out, -1), 20, 40), py::at(ht, -1));
}
