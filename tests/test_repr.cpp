// Module reprs. Every expected string below was printed by PyTorch (`print(torch.nn.X(...))`) and is
// hard-coded here, so seqnet's repr() must match Python's repr character for character.
#include <catch2/catch.hpp>

#include <iostream>
#include <sstream>
#include <string>

#include <seqnet/seqnet.hpp>

namespace {

using seqnet::LSTM;
using seqnet::LSTMCell;
using seqnet::LSTMCellOptions;
using seqnet::LSTMOptions;
using seqnet::Nonlinearity;
using seqnet::RNN;
using seqnet::RNNCell;
using seqnet::RNNCellOptions;
using seqnet::RNNOptions;

/// What `std::cout << module` writes, captured by swapping std::cout's buffer.
template <typename M>
std::string printed_to_cout(const M& module) {
  std::ostringstream captured;
  std::streambuf* original = std::cout.rdbuf(captured.rdbuf());
  std::cout << module;
  std::cout.rdbuf(original);
  return captured.str();
}

/// Checks repr(), `ostream << module` (through the concrete type and through `Module<T>&`) and std::cout.
template <typename M>
void check_repr(const M& module, const std::string& expected) {
  INFO("expected: " << expected);
  CHECK(module.repr() == expected);
  std::ostringstream direct;
  direct << module;
  CHECK(direct.str() == expected);
  const seqnet::Module<typename M::Scalar>& base = module;
  std::ostringstream through_base;
  through_base << base;
  CHECK(through_base.str() == expected);
  CHECK(printed_to_cout(module) == expected);
}

}  // namespace

TEMPLATE_TEST_CASE("RNN repr matches PyTorch", "[repr][rnn]", float, double) {
  // torch.nn.RNN(10, 20)
  check_repr(RNN<TestType>(RNNOptions(10, 20)), "RNN(10, 20)");
  check_repr(RNN<TestType>(10, 20), "RNN(10, 20)");
  // torch.nn.RNN(10, 20, nonlinearity='relu'): nn.RNN never prints its nonlinearity.
  check_repr(RNN<TestType>(RNNOptions(10, 20).nonlinearity(Nonlinearity::Relu)), "RNN(10, 20)");
  // torch.nn.RNN(10, 20, num_layers=3)
  check_repr(RNN<TestType>(RNNOptions(10, 20).num_layers(3)), "RNN(10, 20, num_layers=3)");
  check_repr(RNN<TestType>(10, 20, 3), "RNN(10, 20, num_layers=3)");
  // torch.nn.RNN(10, 20, bias=False)
  check_repr(RNN<TestType>(RNNOptions(10, 20).bias(false)), "RNN(10, 20, bias=False)");
  // torch.nn.RNN(10, 20, batch_first=True)
  check_repr(RNN<TestType>(RNNOptions(10, 20).batch_first(true)), "RNN(10, 20, batch_first=True)");
  // torch.nn.RNN(10, 20, bidirectional=True)
  check_repr(RNN<TestType>(RNNOptions(10, 20).bidirectional(true)), "RNN(10, 20, bidirectional=True)");
  // Explicitly passing the defaults prints nothing extra.
  check_repr(RNN<TestType>(RNNOptions(10, 20)
                               .num_layers(1)
                               .bias(true)
                               .batch_first(false)
                               .dropout(0.0)
                               .bidirectional(false)
                               .nonlinearity(Nonlinearity::Tanh)),
             "RNN(10, 20)");
}

TEMPLATE_TEST_CASE("RNN repr prints dropout like Python's float repr", "[repr][rnn][dropout]", float, double) {
  // torch.nn.RNN(10, 20, num_layers=2, dropout=...)
  check_repr(RNN<TestType>(RNNOptions(10, 20).num_layers(2).dropout(0.5)), "RNN(10, 20, num_layers=2, dropout=0.5)");
  // dropout=1 (an int in Python) is stored as float(1) and printed as 1.0.
  check_repr(RNN<TestType>(RNNOptions(10, 20).num_layers(2).dropout(1)), "RNN(10, 20, num_layers=2, dropout=1.0)");
  check_repr(RNN<TestType>(RNNOptions(10, 20).num_layers(2).dropout(0.1)), "RNN(10, 20, num_layers=2, dropout=0.1)");
  check_repr(RNN<TestType>(RNNOptions(10, 20).num_layers(2).dropout(1e-5)),
             "RNN(10, 20, num_layers=2, dropout=1e-05)");
  check_repr(RNN<TestType>(RNNOptions(10, 20).num_layers(2).dropout(0.0001)),
             "RNN(10, 20, num_layers=2, dropout=0.0001)");
  // torch.nn.RNN(1, 1, num_layers=2, dropout=...) for awkward values.
  check_repr(RNN<TestType>(RNNOptions(1, 1).num_layers(2).dropout(1.0 / 3.0)),
             "RNN(1, 1, num_layers=2, dropout=0.3333333333333333)");
  check_repr(RNN<TestType>(RNNOptions(1, 1).num_layers(2).dropout(1e-10)), "RNN(1, 1, num_layers=2, dropout=1e-10)");
  check_repr(RNN<TestType>(RNNOptions(1, 1).num_layers(2).dropout(0.000123)),
             "RNN(1, 1, num_layers=2, dropout=0.000123)");
  check_repr(RNN<TestType>(RNNOptions(1, 1).num_layers(2).dropout(0.1 + 0.2)),
             "RNN(1, 1, num_layers=2, dropout=0.30000000000000004)");
  check_repr(RNN<TestType>(RNNOptions(1, 1).num_layers(2).dropout(0.9999999)),
             "RNN(1, 1, num_layers=2, dropout=0.9999999)");
  check_repr(RNN<TestType>(RNNOptions(1, 1).num_layers(2).dropout(5e-324)), "RNN(1, 1, num_layers=2, dropout=5e-324)");
  check_repr(RNN<TestType>(RNNOptions(1, 1).num_layers(2).dropout(0.125)), "RNN(1, 1, num_layers=2, dropout=0.125)");
}

TEMPLATE_TEST_CASE("RNN repr with every option prints them in PyTorch's order", "[repr][rnn]", float, double) {
  // torch.nn.RNN(10, 20, num_layers=2, nonlinearity='relu', bias=False, batch_first=True, dropout=0.25,
  //              bidirectional=True)
  check_repr(RNN<TestType>(RNNOptions(10, 20)
                               .bidirectional(true)
                               .dropout(0.25)
                               .batch_first(true)
                               .bias(false)
                               .nonlinearity(Nonlinearity::Relu)
                               .num_layers(2)),
             "RNN(10, 20, num_layers=2, bias=False, batch_first=True, dropout=0.25, bidirectional=True)");
}

TEMPLATE_TEST_CASE("LSTM repr matches PyTorch", "[repr][lstm]", float, double) {
  // torch.nn.LSTM(100, 20)
  check_repr(LSTM<TestType>(LSTMOptions(100, 20)), "LSTM(100, 20)");
  // torch.nn.LSTM(100, 20, 4)
  check_repr(LSTM<TestType>(100, 20, 4), "LSTM(100, 20, num_layers=4)");
  // torch.nn.LSTM(10, 20, proj_size=5)
  check_repr(LSTM<TestType>(LSTMOptions(10, 20).proj_size(5)), "LSTM(10, 20, proj_size=5)");
  // torch.nn.LSTM(10, 20, num_layers=2, dropout=0.2)
  check_repr(LSTM<TestType>(LSTMOptions(10, 20).num_layers(2).dropout(0.2)), "LSTM(10, 20, num_layers=2, dropout=0.2)");
  // torch.nn.LSTM(10, 20, dropout=1.0): allowed (with a warning) on one layer, and printed.
  check_repr(LSTM<TestType>(LSTMOptions(10, 20).dropout(1.0)), "LSTM(10, 20, dropout=1.0)");
  // torch.nn.LSTM(10, 20, num_layers=2, bias=False, batch_first=True, dropout=0.3, bidirectional=True, proj_size=7):
  // proj_size comes right after hidden_size.
  check_repr(LSTM<TestType>(LSTMOptions(10, 20)
                                .proj_size(7)
                                .bidirectional(true)
                                .dropout(0.3)
                                .batch_first(true)
                                .bias(false)
                                .num_layers(2)),
             "LSTM(10, 20, proj_size=7, num_layers=2, bias=False, batch_first=True, dropout=0.3, bidirectional=True)");
}

TEMPLATE_TEST_CASE("cell reprs match PyTorch", "[repr][cell]", float, double) {
  // torch.nn.RNNCell(5, 7)
  check_repr(RNNCell<TestType>(5, 7), "RNNCell(5, 7)");
  // torch.nn.RNNCell(5, 7, bias=False, nonlinearity='relu'): cells do print nonlinearity, unquoted.
  check_repr(RNNCell<TestType>(5, 7, false, Nonlinearity::Relu), "RNNCell(5, 7, bias=False, nonlinearity=relu)");
  check_repr(RNNCell<TestType>(RNNCellOptions(5, 7).bias(false).nonlinearity(Nonlinearity::Relu)),
             "RNNCell(5, 7, bias=False, nonlinearity=relu)");
  // torch.nn.RNNCell(5, 7, nonlinearity='relu')
  check_repr(RNNCell<TestType>(RNNCellOptions(5, 7).nonlinearity(Nonlinearity::Relu)), "RNNCell(5, 7, nonlinearity=relu)");
  // torch.nn.RNNCell(5, 7, bias=False)
  check_repr(RNNCell<TestType>(5, 7, false), "RNNCell(5, 7, bias=False)");
  // torch.nn.LSTMCell(3, 4) and torch.nn.LSTMCell(3, 4, bias=False)
  check_repr(LSTMCell<TestType>(3, 4), "LSTMCell(3, 4)");
  check_repr(LSTMCell<TestType>(3, 4, false), "LSTMCell(3, 4, bias=False)");
  check_repr(LSTMCell<TestType>(LSTMCellOptions(3, 4).bias(false)), "LSTMCell(3, 4, bias=False)");
}

TEST_CASE("repr does not depend on the training mode or on the parameter values", "[repr]") {
  LSTM<float> lstm(LSTMOptions(10, 20).num_layers(2).dropout(0.5));
  const std::string before = lstm.repr();
  CHECK(before == "LSTM(10, 20, num_layers=2, dropout=0.5)");
  lstm.eval();
  for (auto& entry : lstm.named_parameters()) entry.second.flat().setConstant(3.0f);
  CHECK(lstm.repr() == before);
  lstm.train();
  CHECK(lstm.repr() == before);
}

TEST_CASE("Nonlinearity prints as PyTorch spells it", "[repr]") {
  CHECK(std::string(seqnet::to_string(Nonlinearity::Tanh)) == "tanh");
  CHECK(std::string(seqnet::to_string(Nonlinearity::Relu)) == "relu");
  CHECK(seqnet::nonlinearity_from_string("tanh") == Nonlinearity::Tanh);
  CHECK(seqnet::nonlinearity_from_string("relu") == Nonlinearity::Relu);
}
