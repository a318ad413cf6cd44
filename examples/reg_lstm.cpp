// The seed's RegLSTM (nn.LSTM(4, 16, 2) -> nn.Sequential(nn.Linear(16, 1))) in C++, running the weights
// PyTorch exported (tools/export_safetensors.py; the file here comes from tools/gen_interop_golden.py,
// seed 2). The printed values are the ones PyTorch printed for the same input. See docs/interop.md.
//
//   reg_lstm [weights.safetensors]
#include <cstdio>
#include <iostream>
#include <string>

#include <seqnet/linear.hpp>
#include <seqnet/safetensors.hpp>
#include <seqnet/seqnet.hpp>

struct RegLSTM {
  seqnet::LSTM<float> rnn{seqnet::LSTMOptions(4, 16).num_layers(2)};  // self.rnn = nn.LSTM(4, 16, 2)
  seqnet::Linear<float> reg{16, 1};                                  // self.reg = nn.Sequential(nn.Linear(16, 1))

  // PyTorch's state_dict names: "rnn.weight_ih_l0", ..., and "reg.0.weight" (child 0 of the Sequential).
  auto named_parameters() { return seqnet::join(seqnet::prefixed("rnn", rnn), seqnet::prefixed("reg.0", reg)); }
  auto named_parameters() const { return seqnet::join(seqnet::prefixed("rnn", rnn), seqnet::prefixed("reg.0", reg)); }

  // print(model) in PyTorch.
  std::string repr() const {
    return "RegLSTM(\n  (rnn): " + rnn.repr() + "\n  (reg): Sequential(\n    (0): " + reg.repr() + "\n  )\n)";
  }

  // forward: x.view(-1, hidden) -> reg -> view(seq, batch, -1) is Linear applied to the last dimension.
  seqnet::Tensor<float, 3> operator()(const seqnet::Tensor<float, 3>& x) const { return reg(rnn(x).first); }
};

/// `[0.1934, 0.1932, 0.1929]`: y[t, :, 0] with four decimals.
std::string row(const seqnet::Tensor<float, 3>& y, seqnet::Index t) {
  std::string out = "[";
  for (seqnet::Index b = 0; b < y.dimension(1); ++b) {
    char number[32];
    std::snprintf(number, sizeof number, "%.4f", static_cast<double>(y(t, b, 0)));
    out += (b ? ", " : "") + std::string(number);
  }
  return out + "]";
}

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : SEQNET_EXAMPLE_DATA_DIR "/reg_lstm.safetensors";
  RegLSTM model;
  std::cout << model.repr() << '\n';
  std::cout << "load_safetensors: " << seqnet::load_safetensors(path, model) << '\n';

  // The same input as the generator: x[t, b, i] = k / 60 - 1 with k = 12 t + 4 b + i.
  seqnet::Tensor<float, 3> x(10, 3, 4);
  for (seqnet::Index k = 0; k < x.size(); ++k) x.data()[k] = static_cast<float>(static_cast<double>(k) / 60.0 - 1.0);

  const seqnet::Tensor<float, 3> y = model(x);
  std::cout << "x: " << seqnet::shape(x) << '\n';
  std::cout << "y: " << seqnet::shape(y) << '\n';
  std::cout << "y[0, :, 0] = " << row(y, 0) << '\n';
  std::cout << "y[-1, :, 0] = " << row(y, y.dimension(0) - 1) << '\n';
}
