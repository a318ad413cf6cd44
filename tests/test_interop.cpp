// The PyTorch -> safetensors -> seqnet round trip, end to end. tools/gen_interop_golden.py trained nothing:
// it built the seed's RegLSTM (seed 2) and a GRU text classifier (seed 3) in PyTorch, exported their
// state_dicts with tools/export_safetensors.py in F32/F64/F16/BF16, and recorded inputs and PyTorch's
// outputs in tests/data/interop/. Here the same models are written in C++ in a few lines, the files
// loaded, and the outputs compared: fp32 to 1e-5 relative (+1e-6 absolute), fp64 to 1e-10 (+1e-12).
// Saving the loaded models again must reproduce the exporter's files byte for byte.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <seqnet/embedding.hpp>
#include <seqnet/linear.hpp>
#include <seqnet/rnn.hpp>
#include <seqnet/safetensors.hpp>
#include <seqnet/state_dict.hpp>

namespace {

using seqnet::Safetensors;
using seqnet::Tensor;

const std::string data_dir = std::string(SEQNET_TEST_DATA_DIR) + "/interop/";

/// The seed's RegLSTM: `rnn = nn.LSTM(4, 16, 2)`, `reg = nn.Sequential(nn.Linear(16, 1))`.
template <typename T>
struct RegLSTM {
  seqnet::LSTM<T> rnn{seqnet::LSTMOptions(4, 16).num_layers(2)};
  seqnet::Linear<T> reg{16, 1};  // the Sequential's only child, so its parameters are "reg.0.*"

  std::string type_name() const { return "RegLSTM"; }
  auto named_parameters() { return seqnet::join(seqnet::prefixed("rnn", rnn), seqnet::prefixed("reg.0", reg)); }
  auto named_parameters() const { return seqnet::join(seqnet::prefixed("rnn", rnn), seqnet::prefixed("reg.0", reg)); }

  /// The seed's view(-1, hidden) -> reg -> view(seq, batch, -1) is Linear on the last dimension.
  Tensor<T, 3> operator()(const Tensor<T, 3>& x) const { return reg(rnn(x).first); }
};

/// Embedding(50, 8) -> GRU(8, 16, batch_first=True, bidirectional=True) -> Linear(32, 3) on the last step.
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

  Tensor<float, 2> operator()(const Tensor<std::int64_t, 2>& ids) const {
    const Tensor<float, 3> out = gru(embedding(ids)).first;  // [batch, seq, 2 * 16]
    const Tensor<float, 2> last = out.chip<1>(out.dimension(1) - 1);
    return fc(last);
  }
};

/// Tensor `name` of `file`, converted to `T`, as a rank-`R` tensor (the rank is checked).
template <typename T, int R>
Tensor<T, R> read_tensor(const Safetensors& file, const std::string& name) {
  const seqnet::TensorInfo* info = file.find(name);
  REQUIRE(info != nullptr);
  REQUIRE(info->shape.rank() == R);
  Eigen::array<seqnet::Index, R> dims;
  for (int i = 0; i < R; ++i) dims[static_cast<std::size_t>(i)] = info->shape[i];
  Tensor<T, R> out(dims);
  file.copy_to(*info, out.data());
  return out;
}

/// max |a - b| / (rtol |b| + atol): at most 1 passes. Also reports the largest absolute error.
template <typename T, int R>
double check_close(const Tensor<T, R>& actual, const Tensor<T, R>& expected, double rtol, double atol,
                   double* max_abs = nullptr) {
  REQUIRE(seqnet::shape(actual) == seqnet::shape(expected));
  double worst = 0.0, worst_abs = 0.0;
  for (seqnet::Index i = 0; i < actual.size(); ++i) {
    const double a = static_cast<double>(actual.data()[i]), b = static_cast<double>(expected.data()[i]);
    const double diff = std::fabs(a - b);
    worst_abs = std::fmax(worst_abs, diff);
    worst = std::fmax(worst, diff / (rtol * std::fabs(b) + atol));
    if (!(diff <= rtol * std::fabs(b) + atol)) FAIL_CHECK("element " << i << ": seqnet " << a << ", torch " << b);
  }
  if (max_abs != nullptr) *max_abs = worst_abs;
  return worst;
}

std::vector<std::uint8_t> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("RegLSTM: weights exported from PyTorch in each dtype give PyTorch's outputs", "[interop]") {
  const auto io = Safetensors::read(data_dir + "reg_lstm_io.safetensors");
  const auto x = read_tensor<float, 3>(io, "x");

  struct Case {
    const char* file;
    const char* expected;
  };
  for (const Case& c : {Case{"reg_lstm_f32.safetensors", "y"}, Case{"reg_lstm_f64.safetensors", "y"},
                        Case{"reg_lstm_f16.safetensors", "y_f16"}, Case{"reg_lstm_bf16.safetensors", "y_bf16"}}) {
    INFO(c.file << " into RegLSTM<float>, compared with " << c.expected);
    RegLSTM<float> model;
    CHECK(seqnet::load_safetensors(data_dir + c.file, model).empty());
    double max_abs = 0.0;
    const double ratio = check_close(model(x), read_tensor<float, 3>(io, c.expected), 1e-5, 1e-6, &max_abs);
    CHECK(ratio <= 1.0);
    CAPTURE(max_abs);
  }

  // fp64: the F64 file (and the F32 one, widened exactly) against PyTorch's model.double().
  const auto x64 = read_tensor<double, 3>(io, "x64");
  const auto y64 = read_tensor<double, 3>(io, "y64");
  for (const char* file : {"reg_lstm_f64.safetensors", "reg_lstm_f32.safetensors"}) {
    INFO(file << " into RegLSTM<double>");
    RegLSTM<double> model;
    seqnet::load_safetensors(data_dir + file, model);
    CHECK(check_close(model(x64), y64, 1e-10, 1e-12) <= 1.0);
  }
}

TEST_CASE("RegLSTM: saving the loaded model reproduces the exporter's files byte for byte", "[interop]") {
  RegLSTM<float> model;
  seqnet::load_safetensors(data_dir + "reg_lstm_f32.safetensors", model);
  CHECK(seqnet::serialize_safetensors(model) == file_bytes(data_dir + "reg_lstm_f32.safetensors"));
  // torch's .half()/.bfloat16()/.double() of the fp32 model, and seqnet's rounding of it, agree bit for bit.
  CHECK(seqnet::serialize_safetensors(model, seqnet::Dtype::F16) == file_bytes(data_dir + "reg_lstm_f16.safetensors"));
  CHECK(seqnet::serialize_safetensors(model, seqnet::Dtype::BF16) == file_bytes(data_dir + "reg_lstm_bf16.safetensors"));
  CHECK(seqnet::serialize_safetensors(model, seqnet::Dtype::F64) == file_bytes(data_dir + "reg_lstm_f64.safetensors"));
}

TEST_CASE("RegLSTM: one submodule loads out of the whole model's file with a prefix", "[interop]") {
  const auto file = Safetensors::read(data_dir + "reg_lstm_f32.safetensors");
  seqnet::LSTM<float> rnn(seqnet::LSTMOptions(4, 16).num_layers(2));
  CHECK(seqnet::load_safetensors(file, rnn, "rnn").empty());
  seqnet::Linear<float> head(16, 1);
  CHECK(seqnet::load_safetensors(file, head, "reg.0").empty());

  RegLSTM<float> model;
  seqnet::load_safetensors(file, model);
  const auto x = read_tensor<float, 3>(Safetensors::read(data_dir + "reg_lstm_io.safetensors"), "x");
  const Tensor<float, 3> y = head(rnn(x).first);
  CHECK(check_close(y, model(x), 0.0, 0.0) <= 1.0);  // the same weights: identical numbers

  // A model of the wrong size names every mismatch in PyTorch's words.
  seqnet::LSTM<float> wide(seqnet::LSTMOptions(4, 32).num_layers(2));
  CHECK_THROWS_WITH(seqnet::load_safetensors(file, wide, "rnn"),
                    Catch::StartsWith("Error(s) in loading state_dict for LSTM:\n\tsize mismatch for weight_ih_l0: "
                                      "copying a param with shape torch.Size([64, 4]) from checkpoint, the shape in "
                                      "current model is torch.Size([128, 4]).\n\tsize mismatch for weight_hh_l0: "));
}

TEST_CASE("GRU text classifier: Embedding -> GRU -> Linear exported from PyTorch gives PyTorch's logits",
          "[interop]") {
  const auto io = Safetensors::read(data_dir + "gru_classifier_io.safetensors");
  const auto ids = read_tensor<std::int64_t, 2>(io, "ids");
  struct Case {
    const char* file;
    const char* expected;
  };
  for (const Case& c : {Case{"gru_classifier_f32.safetensors", "logits"},
                        Case{"gru_classifier_f16.safetensors", "logits_f16"}}) {
    INFO(c.file);
    GruClassifier model;
    CHECK(seqnet::load_safetensors(data_dir + c.file, model).empty());
    double max_abs = 0.0;
    CHECK(check_close(model(ids), read_tensor<float, 2>(io, c.expected), 1e-5, 1e-6, &max_abs) <= 1.0);
    CAPTURE(max_abs);
  }
  GruClassifier model;
  seqnet::load_safetensors(data_dir + "gru_classifier_f32.safetensors", model);
  CHECK(seqnet::state_dict(model).keys() ==
        std::vector<std::string>{"embedding.weight", "gru.weight_ih_l0", "gru.weight_hh_l0", "gru.bias_ih_l0",
                                 "gru.bias_hh_l0", "gru.weight_ih_l0_reverse", "gru.weight_hh_l0_reverse",
                                 "gru.bias_ih_l0_reverse", "gru.bias_hh_l0_reverse", "fc.weight", "fc.bias"});
  CHECK(seqnet::serialize_safetensors(model) == file_bytes(data_dir + "gru_classifier_f32.safetensors"));
}
