// 4.3 Bidirectional single-layer LSTM: a forward and a reverse direction, each with its own weights
// (suffix _reverse); out concatenates both directions' states, [10, 3, 2 * 20].
#include <iostream>

#include <seqnet/seqnet.hpp>

#include "print.hpp"

int main() {
  seqnet::LSTM<float> lstm(seqnet::LSTMOptions(100, 20).num_layers(1).bidirectional(true));
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
  auto h0 = seqnet::zeros<float>(2, 3, 20);
  auto c0 = seqnet::zeros<float>(2, 3, 20);
  auto [out, state] = lstm(x, {h0, c0});
  const auto& [ht, ct] = state;
  std::cout << seqnet::shape(out) << ' ' << seqnet::shape(ht) << ' ' << seqnet::shape(ct) << '\n';

  // Forward direction (ht[0], also ht[-2]): its final state is the first 20 features of the last step.
  std::cout << "out[-1][:, :20].shape: " << seqnet::shape(py::columns(py::at(out, -1), 0, 20)) << '\n';
  std::cout << "ht[0].shape: " << seqnet::shape(py::at(ht, 0)) << '\n';
  py::check("(out[-1][:, :20] == ht[0]).all()", py::columns(py::at(out, -1), 0, 20), py::at(ht, 0));
  py::check("(out[-1][:, :20] == ht[-2]).all()", py::columns(py::at(out, -1), 0, 20), py::at(ht, -2));
  // Reverse direction (ht[-1]): it runs from t = 9 down to t = 0, so its final state sits at time 0,
  // and the last step's second half is not it.
  py::check("(out[0][:, 20:] == ht[-1]).all()", py::columns(py::at(out, 0), 20, 40), py::at(ht, -1));
  py::check("(out[-1][:, 20:] == ht[-1]).all()", py::columns(py::at(out, -1), 20, 40), py::at(ht, -1));
}
