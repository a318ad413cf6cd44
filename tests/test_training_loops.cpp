// SPDX-License-Identifier: MIT
// Whole training loops against PyTorch's (tools/gen_golden_training.py, tests/golden/training_float64.txt):
// the tutorial's RegLSTM trained 20 Adam steps, truncated BPTT chunk by chunk with the state carried
// detached, one-step online learning with a cell, and fine-tuning a model PyTorch trained and saved. Each
// compares the loss of every step and the final parameters. Also: checkpoints (model and optimizer to one
// safetensors file) resume on the bitwise identical trajectory.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <type_traits>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <seqnet/seqnet.hpp>

#include "golden_io.hpp"

#ifndef SEQNET_GOLDEN_DIR
#error "SEQNET_GOLDEN_DIR must name the tests/golden directory"
#endif
#ifndef SEQNET_TEST_DATA_DIR
#error "SEQNET_TEST_DATA_DIR must name the tests/data directory"
#endif

namespace {

using seqnet::Index;
using seqnet::Tensor;
namespace optim = seqnet::optim;

/// Losses and parameters: |seqnet - torch| <= RTOL * |torch| + ATOL. Twenty Adam steps divide by the
/// square root of second moments, which amplifies the last-bit differences of the gradients a little.
constexpr double LOSS_RTOL = 1e-10;
constexpr double PARAM_RTOL = 1e-10;
constexpr double ATOL = 1e-13;

const golden::File& training_file() {
  static const golden::File file = [] {
    golden::File f = golden::load(std::string(SEQNET_GOLDEN_DIR) + "/training_float64.txt");
    if (f.dtype != "float64") throw golden::format_error(f.path + ": dtype " + f.dtype);
    if (f.cases.size() < 9) throw golden::format_error(f.path + ": fewer than 9 cases");
    return f;
  }();
  return file;
}

const golden::Case& find_case(const std::string& name) {
  for (const auto& c : training_file().cases)
    if (c.name == name) return c;
  throw golden::format_error("no golden training case " + name);
}

template <int R>
Tensor<double, R> to_tensor(const golden::Tensor& g) {
  INFO("tensor " << g.name);
  REQUIRE(g.rank() == static_cast<std::size_t>(R));
  Eigen::array<Index, R> dims;
  for (int i = 0; i < R; ++i) dims[static_cast<std::size_t>(i)] = static_cast<Index>(g.shape[static_cast<std::size_t>(i)]);
  Tensor<double, R> t(dims);
  REQUIRE(static_cast<std::size_t>(t.size()) == g.values.size());
  std::copy(g.values.begin(), g.values.end(), t.data());
  return t;
}

template <int R>
Tensor<double, R> input(const golden::Case& c, const std::string& name) {
  const golden::Tensor* t = c.find_input(name);
  INFO("case " << c.name << " input " << name);
  REQUIRE(t != nullptr);
  return to_tensor<R>(*t);
}

/// The golden params of `c` whose names start with `prefix` + ".", without it, as a state dict.
seqnet::StateDict<double> params_under(const golden::Case& c, const std::string& prefix) {
  seqnet::StateDict<double> dict;
  for (const auto& p : c.params) {
    if (p.name.compare(0, prefix.size() + 1, prefix + ".") != 0) continue;
    dict.insert(p.name.substr(prefix.size() + 1),
                seqnet::Shape(std::vector<Index>(p.shape.begin(), p.shape.end())), p.values);
  }
  return dict;
}

seqnet::StateDict<double> all_params(const golden::Case& c) {
  seqnet::StateDict<double> dict;
  for (const auto& p : c.params)
    dict.insert(p.name, seqnet::Shape(std::vector<Index>(p.shape.begin(), p.shape.end())), p.values);
  return dict;
}

bool close(double actual, double expected, double rtol) {
  return std::fabs(actual - expected) <= rtol * std::fabs(expected) + ATOL;
}

/// CHECKs each loss against the golden `loss` output; returns the worst relative error.
double check_losses(const golden::Case& c, const std::vector<double>& losses) {
  const golden::Tensor* expected = c.find_output("loss");
  REQUIRE(expected != nullptr);
  REQUIRE(losses.size() == expected->values.size());
  double worst = 0;
  for (std::size_t i = 0; i < losses.size(); ++i) {
    INFO("case " << c.name << " step " << i << ": seqnet " << losses[i] << ", torch " << expected->values[i]);
    CHECK(close(losses[i], expected->values[i], LOSS_RTOL));
    worst = std::max(worst, std::fabs(losses[i] - expected->values[i]) / std::fabs(expected->values[i]));
  }
  return worst;
}

/// CHECKs `values` (count elements) against the golden output `name`.
void check_values(const golden::Case& c, const std::string& name, const double* values, std::size_t count) {
  const golden::Tensor* expected = c.find_output(name);
  INFO("case " << c.name << " output " << name);
  REQUIRE(expected != nullptr);
  REQUIRE(count == expected->values.size());
  std::size_t bad = 0;
  double worst = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (!close(values[i], expected->values[i], PARAM_RTOL)) ++bad;
    worst = std::max(worst, std::fabs(values[i] - expected->values[i]));
  }
  INFO("worst absolute difference " << worst);
  CHECK(bad == 0);
}

/// CHECKs every parameter of `model` against the golden `final.<prefix>.<name>`.
template <typename M>
void check_final_params(const golden::Case& c, const M& model, const std::string& prefix = "") {
  for (const auto& [name, p] : model.named_parameters())
    check_values(c, "final." + prefix + name, p.data(), static_cast<std::size_t>(p.size()));
}

/// The tutorial's model under PyTorch's names: `rnn.*`, and `reg.0.*` (its head is an nn.Sequential).
template <typename T>
struct RegLSTM {
  seqnet::LSTM<T> rnn{seqnet::LSTMOptions(4, 16).num_layers(2)};
  seqnet::Linear<T> reg{16, 1};

  auto named_parameters() { return seqnet::join(seqnet::prefixed("rnn", rnn), seqnet::prefixed("reg.0", reg)); }
  auto named_parameters() const { return seqnet::join(seqnet::prefixed("rnn", rnn), seqnet::prefixed("reg.0", reg)); }
};

/// One full-sequence training step of a RegLSTM (forward, MSE, backward; the caller steps the optimizer).
template <typename T>
struct RegLSTMStep {
  seqnet::RecurrentTape<T> rnn_tape;
  typename seqnet::Linear<T>::Tape reg_tape;
  Tensor<T, 3> hidden, prediction, grad_prediction, grad_hidden;
  seqnet::LSTMState<T, 3> state;
  seqnet::InputGradients<T, 3> grads;
  seqnet::MSELoss<T> mse;

  T operator()(RegLSTM<T>& model, const Tensor<T, 3>& x, const Tensor<T, 3>& y) {
    model.rnn.forward_train_into(rnn_tape, x, hidden, state);
    model.reg.forward_train(hidden, prediction, reg_tape);
    const T loss = mse.forward(prediction, y, grad_prediction);
    model.reg.backward(reg_tape, grad_prediction, grad_hidden);
    model.rnn.backward_into(rnn_tape, grad_hidden, grads);
    return loss;
  }
};

}  // namespace

TEST_CASE("training loop: the tutorial's RegLSTM follows PyTorch's 20 Adam steps", "[training][golden]") {
  const golden::Case& c = find_case("reg_lstm_adam_20_steps");
  RegLSTM<double> model;
  seqnet::load_state_dict(model, all_params(c));  // strict: names and shapes as PyTorch's model
  const auto x = input<3>(c, "x");
  const auto y = input<3>(c, "y");
  const auto steps = static_cast<int>(c.int_option("steps"));
  REQUIRE(steps == 20);
  optim::Adam<double> adam({&model.rnn, &model.reg}, optim::AdamOptions().lr(c.float_option("lr")));
  RegLSTMStep<double> step;
  std::vector<double> losses;
  for (int i = 0; i < steps; ++i) {
    adam.zero_grad();
    losses.push_back(step(model, x, y));
    adam.step();
  }
  const double worst = check_losses(c, losses);
  std::printf("RegLSTM 20 Adam steps: worst relative loss difference to PyTorch %.2e\n", worst);
  check_final_params(c, model);
}

namespace {

/// The TBPTT cases: a recurrent module and a Linear head, trained chunk by chunk with the state carried
/// in place (`forward_train_into(tape, chunk, state, out, state)`), the previous chunk's tape replaced.
template <typename Module>
void run_tbptt(const golden::Case& c, Module& rnn) {
  constexpr bool lstm = std::is_same_v<Module, seqnet::LSTM<double>>;
  const auto hidden_size = static_cast<Index>(c.int_option("hidden_size"));
  seqnet::Linear<double> head(hidden_size, 1);
  seqnet::load_state_dict(rnn, params_under(c, "rnn"));
  seqnet::load_state_dict(head, params_under(c, "head"));
  const auto x = input<3>(c, "x");
  const auto y = input<3>(c, "y");
  const Index seq = x.dimension(0), batch = x.dimension(1), features = x.dimension(2);
  const auto chunk = static_cast<Index>(c.int_option("chunk"));
  const double lr = c.float_option("lr");
  std::unique_ptr<optim::Optimizer<double>> opt;
  if (c.option("optimizer") == "Adam")
    opt = std::make_unique<optim::Adam<double>>(std::initializer_list<optim::ParameterRef<double>>{&rnn, &head},
                                                optim::AdamOptions().lr(lr));
  else
    opt = std::make_unique<optim::SGD<double>>(std::initializer_list<optim::ParameterRef<double>>{&rnn, &head},
                                               optim::SGDOptions().lr(lr).momentum(0.9));

  // The carried state: zeros (PyTorch's None) unless the case gives h0/c0.
  const Index layers = static_cast<Index>(c.int_option("num_layers"));
  std::conditional_t<lstm, seqnet::LSTMState<double, 3>, Tensor<double, 3>> state;
  auto& h = [&]() -> Tensor<double, 3>& {
    if constexpr (lstm) return state.first; else return state;
  }();
  h = Tensor<double, 3>(layers, batch, hidden_size).setZero();
  if constexpr (lstm) state.second = Tensor<double, 3>(layers, batch, hidden_size).setZero();
  if (c.bool_option("h0")) {
    h = input<3>(c, "h0");
    if constexpr (lstm) state.second = input<3>(c, "c0");
  }

  seqnet::RecurrentTape<double> tape;
  seqnet::Linear<double>::Tape head_tape;
  Tensor<double, 3> x_chunk, y_chunk, out, prediction, grad_prediction, grad_out;
  seqnet::InputGradients<double, 3> grads;
  seqnet::MSELoss<double> mse;
  std::vector<double> losses;
  for (Index start = 0; start < seq; start += chunk) {
    const Index length = std::min(chunk, seq - start);
    x_chunk = x.slice(Eigen::array<Index, 3>{start, 0, 0}, Eigen::array<Index, 3>{length, batch, features});
    y_chunk = y.slice(Eigen::array<Index, 3>{start, 0, 0}, Eigen::array<Index, 3>{length, batch, 1});
    opt->zero_grad();
    rnn.forward_train_into(tape, x_chunk, state, out, state);  // from the carried state; carries it on
    head.forward_train(out, prediction, head_tape);
    losses.push_back(mse.forward(prediction, y_chunk, grad_prediction));
    head.backward(head_tape, grad_prediction, grad_out);
    rnn.backward_into(tape, grad_out, grads);  // stops at this chunk's initial state
    opt->step();
  }
  check_losses(c, losses);
  check_final_params(c, rnn, "rnn.");
  check_final_params(c, head, "head.");
  check_values(c, "h_n", h.data(), static_cast<std::size_t>(h.size()));
  if constexpr (lstm) check_values(c, "c_n", state.second.data(), static_cast<std::size_t>(state.second.size()));
}

}  // namespace

TEST_CASE("truncated BPTT: chunk by chunk with the state carried detached, as PyTorch", "[training][golden][tbptt]") {
  std::size_t cases = 0;
  for (const auto& c : training_file().cases) {
    if (c.module != "TBPTT") continue;
    ++cases;
    INFO("case " << c.name);
    const auto in = static_cast<Index>(c.int_option("input_size"));
    const auto hidden = static_cast<Index>(c.int_option("hidden_size"));
    const auto layers = static_cast<Index>(c.int_option("num_layers"));
    const std::string& kind = c.option("rnn");
    if (kind == "LSTM") {
      seqnet::LSTM<double> rnn(seqnet::LSTMOptions(in, hidden).num_layers(layers));
      run_tbptt(c, rnn);
    } else if (kind == "GRU") {
      seqnet::GRU<double> rnn(seqnet::GRUOptions(in, hidden).num_layers(layers));
      run_tbptt(c, rnn);
    } else {
      REQUIRE(kind == "RNN");
      seqnet::RNN<double> rnn(seqnet::RNNOptions(in, hidden).num_layers(layers));
      run_tbptt(c, rnn);
    }
  }
  CHECK(cases >= 5);
}

namespace {

template <typename Cell>
void run_online(const golden::Case& c, Cell& cell) {
  constexpr bool lstm = std::is_same_v<Cell, seqnet::LSTMCell<double>>;
  const auto hidden_size = static_cast<Index>(c.int_option("hidden_size"));
  seqnet::Linear<double> head(hidden_size, 1);
  seqnet::load_state_dict(cell, params_under(c, "cell"));
  seqnet::load_state_dict(head, params_under(c, "head"));
  const auto x = input<2>(c, "x");
  const auto y = input<2>(c, "y");
  optim::SGD<double> sgd({&cell, &head}, optim::SGDOptions().lr(c.float_option("lr")).momentum(0.5));
  std::conditional_t<lstm, seqnet::LSTMState<double, 1>, Tensor<double, 1>> state;
  auto& h = [&]() -> Tensor<double, 1>& {
    if constexpr (lstm) return state.first; else return state;
  }();
  h = Tensor<double, 1>(hidden_size).setZero();
  if constexpr (lstm) state.second = Tensor<double, 1>(hidden_size).setZero();
  seqnet::RecurrentTape<double> tape;
  seqnet::Linear<double>::Tape head_tape;
  Tensor<double, 1> sample(x.dimension(1)), target(1), prediction, grad_prediction, grad_h;
  seqnet::InputGradients<double, 1> grads;
  seqnet::MSELoss<double> mse;
  std::vector<double> losses;
  for (Index t = 0; t < x.dimension(0); ++t) {
    std::copy_n(&x(t, 0), sample.size(), sample.data());
    target(0) = y(t, 0);
    sgd.zero_grad();
    cell.forward_train_into(tape, sample, state, state);  // one step; the state moves on in place
    head.forward_train(h, prediction, head_tape);
    losses.push_back(mse.forward(prediction, target, grad_prediction));
    head.backward(head_tape, grad_prediction, grad_h);
    cell.backward_into(tape, grad_h, grads);
    sgd.step();
  }
  check_losses(c, losses);
  check_final_params(c, cell, "cell.");
  check_final_params(c, head, "head.");
  check_values(c, "h_n", h.data(), static_cast<std::size_t>(h.size()));
  if constexpr (lstm) check_values(c, "c_n", state.second.data(), static_cast<std::size_t>(state.second.size()));
}

}  // namespace

TEST_CASE("online learning: one cell step, backward and SGD step per sample, as PyTorch", "[training][golden][online]") {
  const golden::Case& lstm_case = find_case("online_lstm_cell");
  seqnet::LSTMCell<double> lstm_cell(lstm_case.int_option("input_size"), lstm_case.int_option("hidden_size"));
  run_online(lstm_case, lstm_cell);
  const golden::Case& gru_case = find_case("online_gru_cell");
  seqnet::GRUCell<double> gru_cell(gru_case.int_option("input_size"), gru_case.int_option("hidden_size"));
  run_online(gru_case, gru_cell);
}

TEST_CASE("fine-tuning in seqnet a RegLSTM trained and saved by PyTorch follows PyTorch's fine-tuning",
          "[training][golden][checkpoint]") {
  const golden::Case& c = find_case("fine_tune_pretrained_reg_lstm");
  RegLSTM<double> model;
  // safetensors.torch.save_file(model.state_dict()): rnn.*, reg.0.*; strict, so every name must match.
  const seqnet::IncompatibleKeys keys =
      seqnet::load_safetensors(std::string(SEQNET_TEST_DATA_DIR) + "/training/pretrained_reg_lstm.safetensors", model);
  CHECK(keys.empty());
  const auto x = input<3>(c, "x");
  const auto y = input<3>(c, "y");
  optim::SGD<double> sgd({&model.rnn, &model.reg},
                         optim::SGDOptions().lr(c.float_option("lr")).momentum(c.float_option("momentum")));
  RegLSTMStep<double> step;
  std::vector<double> losses;
  for (int i = 0; i < c.int_option("steps"); ++i) {
    sgd.zero_grad();
    losses.push_back(step(model, x, y));
    sgd.step();
  }
  check_losses(c, losses);
  check_final_params(c, model);
}

namespace {

/// A RegLSTM in float with its Adam optimizer and the training data, built the same way every time.
struct FloatRun {
  RegLSTM<float> model;
  optim::Adam<float> adam{{&model.rnn, &model.reg}, optim::AdamOptions().lr(0.01).amsgrad(true)};
  RegLSTMStep<float> step;
  Tensor<float, 3> x{30, 2, 4}, y{30, 2, 1};

  FloatRun() {
    seqnet::Generator generator(7);
    model.rnn.reset_parameters(generator);
    for (Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)));
    for (Index i = 0; i < y.size(); ++i) y.data()[i] = static_cast<float>(std::cos(0.11 * static_cast<double>(i)));
    for (auto& [name, p] : model.reg.named_parameters())
      for (Index i = 0; i < p.size(); ++i) p.data()[i] = 0.05f * static_cast<float>(i + 1);
  }
  std::vector<float> train(int steps) {
    std::vector<float> losses;
    for (int i = 0; i < steps; ++i) {
      adam.zero_grad();
      losses.push_back(step(model, x, y));
      adam.step();
    }
    return losses;
  }
};

std::vector<float> flat(const RegLSTM<float>& model) {
  std::vector<float> values;
  for (const auto& [name, p] : model.named_parameters()) values.insert(values.end(), p.data(), p.data() + p.size());
  return values;
}

}  // namespace

TEST_CASE("checkpoint: save after N steps, load into fresh objects, continue: bitwise the uninterrupted run",
          "[training][checkpoint]") {
  FloatRun straight;
  std::vector<float> expected = straight.train(12);

  const std::string path = "seqnet_test_checkpoint.safetensors";
  std::vector<float> losses;
  {
    FloatRun first;
    losses = first.train(5);
    optim::save_checkpoint(path, first.model, first.adam);
  }
  FloatRun resumed;  // fresh model and optimizer (no state yet), then the checkpoint
  for (auto& [name, p] : resumed.model.named_parameters()) p.data()[0] += 1.0f;  // differs before the load
  optim::load_checkpoint(path, resumed.model, resumed.adam);
  const std::vector<float> rest = resumed.train(7);
  losses.insert(losses.end(), rest.begin(), rest.end());
  CHECK(losses == expected);  // bit for bit
  CHECK(flat(resumed.model) == flat(straight.model));
  const auto state = resumed.adam.state_dict();
  const auto expected_state = straight.adam.state_dict();
  REQUIRE(state.keys() == expected_state.keys());
  for (const auto& key : state.keys()) {
    INFO(key);
    CHECK(state.at(key).values == expected_state.at(key).values);
  }

  // What the file holds, as PyTorch would read it: model.* (F64) and optimizer.*.
  const seqnet::Safetensors file = seqnet::Safetensors::read(path);
  CHECK(file.find("model.rnn.weight_ih_l0") != nullptr);
  CHECK(file.find("model.reg.0.bias") != nullptr);
  CHECK(file.find("optimizer.state.0.exp_avg") != nullptr);
  CHECK(file.find("optimizer.param_groups.0.lr") != nullptr);

  SECTION("a checkpoint that does not fit changes nothing") {
    // The optimizer part fits (same parameter shapes), the model part does not (other names): the load
    // throws PyTorch's missing-keys error and leaves the optimizer as it was.
    seqnet::LSTM<float> lstm(seqnet::LSTMOptions(4, 16).num_layers(2));
    seqnet::Linear<float> head(16, 1);
    struct Renamed {
      seqnet::LSTM<float>& lstm;
      seqnet::Linear<float>& head;
      auto named_parameters() { return seqnet::join(seqnet::prefixed("lstm", lstm), seqnet::prefixed("head", head)); }
      auto named_parameters() const { return seqnet::join(seqnet::prefixed("lstm", lstm), seqnet::prefixed("head", head)); }
    } renamed{lstm, head};
    optim::Adam<float> adam({&lstm, &head});
    const auto keys_before = adam.state_dict().keys();
    CHECK_THROWS_AS(optim::load_checkpoint(path, renamed, adam), seqnet::state_dict_error);
    CHECK(adam.state_dict().keys() == keys_before);  // no state.* entries came in
    // An optimizer of other parameters: its own load refuses, before anything is written.
    seqnet::LSTM<float> small(seqnet::LSTMOptions(4, 8));
    optim::Adam<float> small_adam({&small});
    CHECK_THROWS_AS(optim::load_checkpoint(path, small, small_adam), std::invalid_argument);
    CHECK(small_adam.state_dict().keys() == optim::Adam<float>({&small}).state_dict().keys());
    CHECK_THROWS_AS(optim::load_checkpoint(std::string(SEQNET_TEST_DATA_DIR) + "/training/pretrained_reg_lstm.safetensors",
                                           resumed.model, resumed.adam),
                    seqnet::key_error);  // a model file, not a checkpoint
  }
  std::remove(path.c_str());
}

TEST_CASE("a RegLSTM trained in seqnet loads into PyTorch and predicts the same", "[training][golden][checkpoint]") {
  // examples/train_reg_lstm --save wrote the model; tools/check_torch_loads_seqnet.py loaded it into the
  // tutorial's RegLSTM with load_state_dict(strict=True) and recorded PyTorch's held-out forecast.
  const golden::File file = golden::load(std::string(SEQNET_GOLDEN_DIR) + "/training_interop_float32.txt");
  REQUIRE(file.cases.size() == 1);
  const golden::Case& c = file.cases.front();
  RegLSTM<float> model;
  CHECK(seqnet::load_safetensors(std::string(SEQNET_TEST_DATA_DIR) + "/training/" + c.option("file"), model).empty());
  model.rnn.eval();
  const golden::Tensor* x_golden = c.find_input("x");
  const golden::Tensor* expected = c.find_output("forecast");
  REQUIRE(x_golden != nullptr);
  REQUIRE(expected != nullptr);
  const Tensor<double, 3> x_double = to_tensor<3>(*x_golden);
  const Tensor<float, 3> x = x_double.cast<float>();
  const Tensor<float, 3> forecast = model.reg(model.rnn(x).first);
  REQUIRE(static_cast<std::size_t>(forecast.size()) == expected->values.size());
  std::size_t bad = 0;
  for (std::size_t i = 0; i < expected->values.size(); ++i)
    if (!(std::fabs(forecast.data()[i] - expected->values[i]) <= 1e-5 * std::fabs(expected->values[i]) + 1e-6)) ++bad;
  CHECK(bad == 0);
}

TEST_CASE("forward_train_into / backward_into: in-place state, caller-owned results, misuse", "[training][tbptt]") {
  seqnet::Generator generator(11);
  seqnet::GRU<double> gru(seqnet::GRUOptions(3, 5).num_layers(2), generator);
  const auto x = seqnet::randn<double>(4, 2, 3);
  const auto h0 = seqnet::randn<double>(2, 2, 5);
  seqnet::RecurrentTape<double> tape, tape_into;
  // The results equal forward_train's, also when h_n is h0 (the state carried in place).
  const auto [out, h_n] = gru.forward_train(tape, x, h0);
  Tensor<double, 3> out_into, h = h0;
  gru.forward_train_into(tape_into, x, h, out_into, h);
  CHECK(std::equal(out.data(), out.data() + out.size(), out_into.data()));
  CHECK(std::equal(h_n.data(), h_n.data() + h_n.size(), h.data()));
  // backward_into equals backward, and the recorded initial state is h0's value before it was overwritten.
  const auto grad_out = seqnet::randn<double>(4, 2, 5);
  const auto grads = gru.backward(tape, grad_out);
  const std::vector<double> after_one(gru.flat_gradients(), gru.flat_gradients() + gru.num_parameters());
  gru.zero_grad();
  seqnet::InputGradients<double, 3> grads_into;
  gru.backward_into(tape_into, grad_out, grads_into);
  CHECK(std::equal(grads.input.data(), grads.input.data() + grads.input.size(), grads_into.input.data()));
  CHECK(std::equal(grads.h0.data(), grads.h0.data() + grads.h0.size(), grads_into.h0.data()));
  CHECK(std::equal(after_one.begin(), after_one.end(), gru.flat_gradients()));
  // Misuse: the output may not be the input or the initial state; gradients must have the results' shapes.
  Tensor<double, 3> x_copy = x;
  CHECK_THROWS_AS(gru.forward_train_into(tape_into, x_copy, h, x_copy, h), seqnet::value_error);
  Tensor<double, 3> state = h0;
  CHECK_THROWS_AS(gru.forward_train_into(tape_into, x, state, state, h), seqnet::value_error);
  gru.forward_train_into(tape_into, x, h, out_into, h);
  CHECK_THROWS_AS(gru.backward_into(tape_into, seqnet::randn<double>(4, 2, 4), grads_into), seqnet::shape_error);
}
