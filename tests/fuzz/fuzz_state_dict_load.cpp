// SPDX-License-Identifier: MIT
// libFuzzer target: loading an untrusted safetensors file into real modules and models.
//
// Input: one selector byte, then the file. The selector picks the module (bits 0-3), strict or not
// (bit 4), load_safetensors or Safetensors::state_dict + load_state_dict (bit 5), and the prefix (bit 6).
// Loading must succeed or throw an std::invalid_argument-derived error; a failed load must leave every
// parameter as it was (the all-or-nothing guarantee), and after a successful one the module must still run
// a forward call of the right shape.
#include <cstring>
#include <string>
#include <vector>

#include <seqnet/seqnet.hpp>

#include "fuzz_common.hpp"

namespace {

using seqnet::Tensor;

/// tests/test_interop.cpp's RegLSTM: LSTM(4, 16, 2) -> Sequential(Linear(16, 1)).
struct RegLSTM {
  seqnet::LSTM<float> rnn{seqnet::LSTMOptions(4, 16).num_layers(2)};
  seqnet::Linear<float> reg{16, 1};
  std::string type_name() const { return "RegLSTM"; }
  auto named_parameters() { return seqnet::join(seqnet::prefixed("rnn", rnn), seqnet::prefixed("reg.0", reg)); }
  auto named_parameters() const { return seqnet::join(seqnet::prefixed("rnn", rnn), seqnet::prefixed("reg.0", reg)); }
  void run() const {
    const Tensor<float, 3> out = reg(rnn(seqnet::zeros<float>(3, 2, 4)).first);
    SEQNET_FUZZ_REQUIRE(out.dimension(0) == 3 && out.dimension(1) == 2 && out.dimension(2) == 1);
  }
};

/// tests/test_interop.cpp's GruClassifier: Embedding(50, 8) -> GRU(8, 16, batch_first, bidirectional) -> Linear(32, 3).
struct GruClassifier {
  seqnet::Embedding<float> embedding{50, 8};
  seqnet::GRU<float> gru{seqnet::GRUOptions(8, 16).batch_first(true).bidirectional(true)};
  seqnet::Linear<float> fc{32, 3};
  std::string type_name() const { return "GruClassifier"; }
  auto named_parameters() {
    return seqnet::join(seqnet::prefixed("embedding", embedding), seqnet::prefixed("gru", gru), seqnet::prefixed("fc", fc));
  }
  auto named_parameters() const {
    return seqnet::join(seqnet::prefixed("embedding", embedding), seqnet::prefixed("gru", gru), seqnet::prefixed("fc", fc));
  }
  void run() const {
    Tensor<std::int64_t, 2> ids(2, 3);
    for (seqnet::Index i = 0; i < ids.size(); ++i) ids.data()[i] = i * 7 % 50;
    const Tensor<float, 3> out = gru(embedding(ids)).first;
    SEQNET_FUZZ_REQUIRE(out.dimension(0) == 2 && out.dimension(1) == 3 && out.dimension(2) == 32);
    const Tensor<float, 2> last = out.chip<1>(2);
    const Tensor<float, 2> logits = fc(last);
    SEQNET_FUZZ_REQUIRE(logits.dimension(0) == 2 && logits.dimension(1) == 3);
  }
};

template <typename Rnn>
void run_rnn(const Rnn& rnn, seqnet::Index input_size) {
  const auto out = rnn(seqnet::zeros<typename Rnn::Scalar>(2, 3, input_size)).first;
  SEQNET_FUZZ_REQUIRE(out.dimension(0) == 2 && out.dimension(1) == 3);
}

template <typename M, typename Run>
void fuzz_load(M& module, const seqnet::Safetensors& file, unsigned selector, const std::string& prefix, Run&& run) {
  using T = std::remove_const_t<seqnet::detail::named_element_t<M>>;
  const bool strict = (selector & 0x10) != 0;
  const bool through_state_dict = (selector & 0x20) != 0;
  const seqnet::StateDict<T> before = seqnet::state_dict(module);
  try {
    if (through_state_dict)
      seqnet::load_state_dict(module, file.state_dict<T>(prefix), strict);
    else
      seqnet::load_safetensors(file, module, prefix, strict);
  } catch (const std::invalid_argument&) {
    const seqnet::StateDict<T> after = seqnet::state_dict(module);
    auto a = before.begin();
    for (auto b = after.begin(); b != after.end(); ++a, ++b) {
      SEQNET_FUZZ_REQUIRE(a->first == b->first && a->second.shape == b->second.shape);
      SEQNET_FUZZ_REQUIRE(std::memcmp(a->second.values.data(), b->second.values.data(), a->second.values.size() * sizeof(T)) == 0);
    }
    throw;
  }
  run(module);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const unsigned selector = data[0];
  seqnet_fuzz::expect_clean([&] {
    const seqnet::Safetensors file = seqnet::Safetensors::parse(std::vector<std::uint8_t>(data + 1, data + size));
    const bool with_prefix = (selector & 0x40) != 0;
    const auto prefix = [&](const char* name) { return with_prefix ? std::string(name) : std::string(); };
    // Fixed seeds: the starting parameters do not depend on earlier inputs, so every finding replays.
    seqnet::Generator generator(selector);
    switch (selector & 0x0F) {
      case 0: {
        RegLSTM model;
        fuzz_load(model, file, selector, prefix(""), [](const RegLSTM& m) { m.run(); });
        break;
      }
      case 1: {
        GruClassifier model;
        fuzz_load(model, file, selector, prefix(""), [](const GruClassifier& m) { m.run(); });
        break;
      }
      case 2: {
        seqnet::LSTM<float> lstm(seqnet::LSTMOptions(3, 5).num_layers(2).bidirectional(true).proj_size(2), generator);
        fuzz_load(lstm, file, selector, prefix("rnn"), [](const seqnet::LSTM<float>& m) { run_rnn(m, 3); });
        break;
      }
      case 3: {
        seqnet::GRU<double> gru(seqnet::GRUOptions(3, 4).bias(false), generator);
        fuzz_load(gru, file, selector, prefix("gru"), [](const seqnet::GRU<double>& m) { run_rnn(m, 3); });
        break;
      }
      case 4: {
        seqnet::RNN<float> rnn(seqnet::RNNOptions(2, 3).num_layers(3).nonlinearity(seqnet::Nonlinearity::Relu), generator);
        fuzz_load(rnn, file, selector, prefix("rnn"), [](const seqnet::RNN<float>& m) { run_rnn(m, 2); });
        break;
      }
      case 5: {
        seqnet::Linear<double> linear(seqnet::LinearOptions(4, 3), generator);
        fuzz_load(linear, file, selector, prefix("fc"), [](const seqnet::Linear<double>& m) {
          const Tensor<double, 2> out = m(seqnet::zeros<double>(2, 4));
          SEQNET_FUZZ_REQUIRE(out.dimension(0) == 2 && out.dimension(1) == 3);
        });
        break;
      }
      case 6: {
        seqnet::Embedding<float> embedding(seqnet::EmbeddingOptions(10, 3).padding_idx(0), generator);
        fuzz_load(embedding, file, selector, prefix("embedding"), [](const seqnet::Embedding<float>& m) {
          const Tensor<float, 2> out = m(std::vector<std::int64_t>{0, 9, 3});
          SEQNET_FUZZ_REQUIRE(out.dimension(0) == 3 && out.dimension(1) == 3);
        });
        break;
      }
      case 7: {
        seqnet::LSTMCell<float> cell(seqnet::LSTMCellOptions(3, 4), generator);
        fuzz_load(cell, file, selector, prefix("cell"), [](const seqnet::LSTMCell<float>& m) {
          const auto [h, c] = m(seqnet::zeros<float>(2, 3));
          SEQNET_FUZZ_REQUIRE(h.dimension(1) == 4 && c.dimension(1) == 4);
        });
        break;
      }
      case 8: {
        seqnet::GRUCell<double> cell(seqnet::GRUCellOptions(2, 3).bias(false), generator);
        fuzz_load(cell, file, selector, prefix("cell"), [](const seqnet::GRUCell<double>& m) {
          const Tensor<double, 2> h = m(seqnet::zeros<double>(2, 2));
          SEQNET_FUZZ_REQUIRE(h.dimension(1) == 3);
        });
        break;
      }
      default: {
        seqnet::RNNCell<float> cell(seqnet::RNNCellOptions(2, 2), generator);
        fuzz_load(cell, file, selector, prefix("cell"), [](const seqnet::RNNCell<float>& m) {
          const Tensor<float, 1> h = m(seqnet::zeros<float>(2));
          SEQNET_FUZZ_REQUIRE(h.dimension(0) == 2);
        });
        break;
      }
    }
  });
  return 0;
}
