// A whole PyTorch model of nested modules, loaded in one strict call. tools/gen_compose_golden.py built
// StreamingModel (seed 13): a buffer `input_scale`, an encoder Sequential holding a nested Sequential,
// and a user-defined Decoder child (an LSTMCell carried from step to step, then a Sequential head of
// Dropout, ReLU, Linear, Sigmoid), and recorded its state_dict, print(model), and its outputs over 20
// steps in fp64 and fp32 (tests/data/compose/). Here the same model is written in C++ as a Module with
// registered children; it must print the same repr, have the same keys, load the file strictly, and give
// PyTorch's outputs: fp64 to 1e-10, fp32 to 1e-5 relative. Renaming a key or perturbing any tensor
// (the buffer included) must be caught.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "model_printout.hpp"
#include <seqnet/activation.hpp>
#include <seqnet/cell.hpp>
#include <seqnet/dropout.hpp>
#include <seqnet/linear.hpp>
#include <seqnet/module.hpp>
#include <seqnet/safetensors.hpp>
#include <seqnet/sequential.hpp>
#include <seqnet/state.hpp>

namespace {

using seqnet::Index;
using seqnet::Safetensors;
using seqnet::Shape;
using seqnet::Tensor;

/// Step `t` of a row-major `[steps, batch, features]` tensor (contiguous), as `[batch, features]`.
template <typename T>
Tensor<T, 2> step_of(const Tensor<T, 3>& x, Index t) {
  Tensor<T, 2> out(x.dimension(1), x.dimension(2));
  std::copy(x.data() + t * out.size(), x.data() + (t + 1) * out.size(), out.data());
  return out;
}


const std::string data_dir = std::string(SEQNET_TEST_DATA_DIR) + "/compose/";

// seqnet's own layers, as a port would use them (PyTorch's reprs: `Tanh()`, `Dropout(p=0.1, inplace=False)`).
using seqnet::Dropout;
using seqnet::ReLU;
using seqnet::Sigmoid;
using seqnet::Tanh;

/// class Decoder(nn.Module): self.rnn = nn.LSTMCell(8, 8);
/// self.decoder = nn.Sequential(nn.Dropout(0.1), nn.ReLU(), nn.Linear(8, 1), nn.Sigmoid())
template <typename T>
struct Decoder : seqnet::Module<T> {
  seqnet::LSTMCell<T> rnn{8, 8};
  seqnet::Sequential<T> decoder{Dropout<T>(0.1), ReLU<T>(), seqnet::Linear<T>(8, 1), Sigmoid<T>()};

  Decoder() : seqnet::Module<T>("Decoder") {
    this->register_module("rnn", &Decoder::rnn);
    this->register_module("decoder", &Decoder::decoder);
  }
};

/// class StreamingModel(nn.Module): self.register_buffer("input_scale", ...);
/// self.encoder = nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Sequential(nn.Linear(12, 8), nn.Tanh()));
/// self.decoder = Decoder(8)
template <typename T>
struct StreamingModel : seqnet::Module<T> {
  seqnet::Sequential<T> encoder{seqnet::Linear<T>(6, 12), Tanh<T>(),
                                seqnet::Sequential<T>(seqnet::Linear<T>(12, 8), Tanh<T>())};
  Decoder<T> decoder;

  StreamingModel() : seqnet::Module<T>("StreamingModel") {
    this->register_buffer("input_scale", Shape{6});
    this->register_module("encoder", &StreamingModel::encoder);
    this->register_module("decoder", &StreamingModel::decoder);
  }

  /// forward(x, state): one step, x [batch, 6]; the LSTMCell state is updated in place.
  Tensor<T, 2> operator()(const Tensor<T, 2>& x, seqnet::LSTMState<T, 2>& state) const {
    const auto scale = this->buffer("input_scale").template tensor<1>();
    const Eigen::array<Index, 2> row{1, 6}, rows{x.dimension(0), 1};
    const Tensor<T, 2> scaled = x * scale.reshape(row).broadcast(rows);
    decoder.rnn.forward_into(encoder(scaled), state, state);
    return decoder.decoder(state.first);
  }
};

template <typename T, int R>
Tensor<T, R> read_tensor(const Safetensors& file, const std::string& name) {
  const seqnet::TensorInfo* info = file.find(name);
  REQUIRE(info != nullptr);
  REQUIRE(info->shape.rank() == R);
  Eigen::array<Index, R> dims;
  for (int i = 0; i < R; ++i) dims[static_cast<std::size_t>(i)] = info->shape[i];
  Tensor<T, R> out(dims);
  file.copy_to(*info, out.data());
  return out;
}

struct Outputs {
  Tensor<double, 3> y;
  Tensor<double, 2> h, c;
};

/// Runs the model over the recorded input, step by step from zero states.
template <typename T>
Outputs run(const StreamingModel<T>& model, const Safetensors& io) {
  const auto x = read_tensor<T, 3>(io, "x");
  const Index steps = x.dimension(0), batch = x.dimension(1);
  seqnet::LSTMState<T, 2> state{seqnet::zeros<T>(batch, 8), seqnet::zeros<T>(batch, 8)};
  Outputs out{Tensor<double, 3>(steps, batch, 1), {}, {}};
  for (Index t = 0; t < steps; ++t) {
    const Tensor<T, 2> xt = step_of(x, t);
    const Tensor<T, 2> y = model(xt, state);
    REQUIRE(seqnet::shape(y) == Shape{batch, 1});
    for (Index b = 0; b < batch; ++b) out.y(t, b, 0) = static_cast<double>(y(b, 0));
  }
  out.h = state.first.template cast<double>();
  out.c = state.second.template cast<double>();
  return out;
}

/// max |a - b| / (rtol |b| + atol) over the elements: at most 1 passes.
template <int R>
double worst_ratio(const Tensor<double, R>& actual, const Tensor<double, R>& expected, double rtol, double atol) {
  REQUIRE(seqnet::shape(actual) == seqnet::shape(expected));
  double worst = 0.0;
  for (Index i = 0; i < actual.size(); ++i) {
    const double a = actual.data()[i], b = expected.data()[i];
    worst = std::fmax(worst, std::fabs(a - b) / (rtol * std::fabs(b) + atol));
  }
  return worst;
}

template <typename T>
double worst_against_torch(const Outputs& out, const Safetensors& io) {
  const bool fp64 = std::is_same_v<T, double>;
  const double rtol = fp64 ? 1e-10 : 1e-5, atol = fp64 ? 1e-12 : 1e-6;
  const std::string suffix = fp64 ? "64" : "32";
  return std::fmax(worst_ratio(out.y, read_tensor<double, 3>(io, "y" + suffix), rtol, atol),
                   std::fmax(worst_ratio(out.h, read_tensor<double, 2>(io, "h" + suffix), rtol, atol),
                             worst_ratio(out.c, read_tensor<double, 2>(io, "c" + suffix), rtol, atol)));
}


}  // namespace

TEST_CASE("a composite model prints PyTorch's repr and has its state_dict keys and shapes", "[compose][golden]") {
  StreamingModel<float> model;
  model.eval();
  CHECK(seqnet_test::model_printout(std::as_const(model)) == seqnet_test::file_text(data_dir + "streaming_model.txt"));
}

TEMPLATE_TEST_CASE("a composite model loads PyTorch's state_dict in one strict call and gives its outputs",
                   "[compose][golden]", float, double) {
  using T = TestType;
  const auto io = Safetensors::read(data_dir + "streaming_model_io.safetensors");
  StreamingModel<T> model;
  model.eval();
  const auto keys = seqnet::load_safetensors(data_dir + "streaming_model.safetensors", model);
  CHECK(keys.str() == "<All keys matched successfully>");
  const Outputs out = run(model, io);
  CHECK(worst_against_torch<T>(out, io) <= 1.0);
  // Against a model that loaded nothing, the comparison fails: the test can fail.
  StreamingModel<T> fresh;
  fresh.eval();
  CHECK(worst_against_torch<T>(run(fresh, io), io) > 1.0);
}

TEMPLATE_TEST_CASE("perturbing any tensor of the state dict, buffer included, changes the outputs beyond tolerance",
                   "[compose][golden]", float, double) {
  using T = TestType;
  const auto io = Safetensors::read(data_dir + "streaming_model_io.safetensors");
  const auto file = Safetensors::read(data_dir + "streaming_model.safetensors");
  const auto dict = file.state_dict<T>();
  REQUIRE(dict.size() == 11);
  for (const auto& key : dict.keys()) {
    INFO("perturbed " << key);
    auto perturbed = dict;
    for (auto& v : perturbed.at(key).values) v += T(1e-2);
    StreamingModel<T> model;
    model.eval();
    seqnet::load_state_dict(model, perturbed);
    CHECK(worst_against_torch<T>(run(model, io), io) > 1.0);
  }
}

TEST_CASE("a renamed key fails the strict load with PyTorch's message, module by module", "[compose][golden]") {
  const auto file = Safetensors::read(data_dir + "streaming_model.safetensors");
  auto dict = file.state_dict<float>();
  auto moved = dict.at("decoder.decoder.2.weight");
  dict.erase("decoder.decoder.2.weight");
  dict.insert("decoder.decoder.3.weight", moved.shape, moved.values);
  auto scale = dict.at("input_scale");
  dict.erase("input_scale");
  dict.insert("input_scale_x", scale.shape, scale.values);
  StreamingModel<float> model;
  const auto before = seqnet::state_dict(model);
  // PyTorch 2.x: model.load_state_dict(sd) with the same two keys renamed.
  CHECK_THROWS_WITH(seqnet::load_state_dict(model, dict),
                    "Error(s) in loading state_dict for StreamingModel:\n"
                    "\tMissing key(s) in state_dict: \"input_scale\", \"decoder.decoder.2.weight\". \n"
                    "\tUnexpected key(s) in state_dict: \"input_scale_x\", \"decoder.decoder.3.weight\". ");
  CHECK_THROWS_AS(seqnet::load_state_dict(model, dict), seqnet::state_dict_error);
  // Nothing was written.
  const auto after = seqnet::state_dict(model);
  for (const auto& [name, tensor] : before) CHECK(after.at(name).values == tensor.values);
}

TEST_CASE("saving the loaded composite reproduces PyTorch's file byte for byte", "[compose][golden]") {
  StreamingModel<float> model;
  seqnet::load_safetensors(data_dir + "streaming_model.safetensors", model);
  const std::string saved = seqnet_test::file_text(data_dir + "streaming_model.safetensors");
  const auto bytes = seqnet::serialize_safetensors(model);
  CHECK(std::string(bytes.begin(), bytes.end()) == saved);
}

TEST_CASE("a Conv1d(k=1) head's weight does not load into Linear, as in PyTorch, until reshaped", "[compose][golden]") {
  const auto file = Safetensors::read(data_dir + "streaming_model.safetensors");
  auto dict = file.state_dict<float>();
  // What PyTorch saves for nn.Conv1d(8, 1, kernel_size=1) in place of nn.Linear(8, 1).
  dict.at("decoder.decoder.2.weight").shape = Shape{1, 8, 1};
  StreamingModel<float> model;
  CHECK_THROWS_WITH(seqnet::load_state_dict(model, dict),
                    "Error(s) in loading state_dict for StreamingModel:\n"
                    "\tsize mismatch for decoder.decoder.2.weight: copying a param with shape torch.Size([1, 8, 1]) "
                    "from checkpoint, the shape in current model is torch.Size([1, 8]).");
  CHECK_THROWS_WITH(dict.reshape("decoder.decoder.2.weight", Shape{1, 7}), "shape '[1, 7]' is invalid for input of size 8");
  CHECK_THROWS_AS(dict.reshape("decoder.decoder.2.weight", Shape{1, 7}), seqnet::shape_error);
  CHECK_THROWS_AS(dict.reshape("decoder.decoder.9.weight", Shape{1, 8}), seqnet::key_error);
  dict.reshape("decoder.decoder.2.weight", Shape{1, 8});
  CHECK(seqnet::load_state_dict(model, dict).empty());
  const auto io = Safetensors::read(data_dir + "streaming_model_io.safetensors");
  model.eval();
  CHECK(worst_against_torch<float>(run(model, io), io) <= 1.0);
}

TEST_CASE("an empty Safetensors can be declared before the try block that reads into it", "[compose][safetensors]") {
  Safetensors file;
  CHECK(file.tensors().empty());
  CHECK(file.metadata().empty());
  CHECK(file.find("x") == nullptr);
  CHECK(file.state_dict<float>().empty());
  seqnet::Linear<float> head(8, 1);
  CHECK(seqnet::load_safetensors(file, head, "", /*strict=*/false).missing_keys ==
        std::vector<std::string>{"weight", "bias"});
  try {
    file = Safetensors::read(data_dir + "streaming_model.safetensors");
  } catch (const std::exception& e) {
    FAIL(e.what());
  }
  CHECK(file.tensors().size() == 11);
  CHECK(seqnet::load_safetensors(file, head, "decoder.decoder.2").empty());
}
