// A whole trained model with conv, recurrent and head layers (issue 13): the CRNN voice-activity detector
// of examples/crnn_vad.cpp, defined and trained in PyTorch by tools/gen_crnn_vad.py (Conv1d, BatchNorm1d
// with its running statistics, ReLU, AvgPool1d in a Sequential; a GRU; a Linear + Sigmoid head). The C++
// model (examples/crnn_vad_model.hpp) must print PyTorch's repr and keys, load PyTorch's state dict in one
// strict call, and give PyTorch's per-chunk probabilities on the demo clip, streamed chunk by chunk with the
// GRU state carried: fp32 to 1e-5, fp64 to 1e-10. Perturbing any tensor must be caught.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "model_printout.hpp"
#include <seqnet/seqnet.hpp>

#include "crnn_vad_model.hpp"
#include "wav.hpp"

namespace {

using seqnet::Index;
using seqnet::Safetensors;
using seqnet::Tensor;

const std::string data_dir = std::string(SEQNET_EXAMPLE_DATA_DIR) + "/";

const WavAudio& demo_clip() {
  static const WavAudio audio = read_wav(data_dir + "vad_demo.wav");
  return audio;
}

template <typename T>
struct Golden {
  std::vector<double> probability, h;
};

template <typename T>
Golden<T> golden() {
  const auto file = Safetensors::read(data_dir + "crnn_vad_golden.safetensors");
  const bool single = std::is_same_v<T, float>;
  return {file.values<double>(single ? "probability32" : "probability64"), file.values<double>(single ? "h32" : "h64")};
}

template <typename T>
double tolerance() {
  return std::is_same_v<T, float> ? 1e-5 : 1e-10;
}

/// The largest |seqnet - PyTorch| over the per-chunk probabilities and the final GRU state.
template <typename T>
double worst_difference(const std::vector<T>& probability, const Tensor<T, 3>& h, const Golden<T>& expected) {
  REQUIRE(probability.size() == expected.probability.size());
  REQUIRE(static_cast<std::size_t>(h.size()) == expected.h.size());
  double worst = 0;
  for (std::size_t k = 0; k < probability.size(); ++k)
    worst = std::max(worst, std::abs(static_cast<double>(probability[k]) - expected.probability[k]));
  for (Index i = 0; i < h.size(); ++i)
    worst = std::max(worst, std::abs(static_cast<double>(h.data()[i]) - expected.h[static_cast<std::size_t>(i)]));
  return worst;
}

/// The clip streamed chunk by chunk, as the example runs it.
template <typename T>
double streamed_difference(const CRNNVad<T>& model) {
  const WavAudio& audio = demo_clip();
  const std::size_t chunks = audio.samples.size() / CRNNVad<T>::chunk_samples;
  const std::vector<T> samples(audio.samples.begin(), audio.samples.end());
  CRNNVadStream<T> vad(model);
  std::vector<T> probability(chunks);
  for (std::size_t k = 0; k < chunks; ++k) probability[k] = vad.step(samples.data() + k * CRNNVad<T>::chunk_samples);
  return worst_difference(probability, vad.h(), golden<T>());
}

/// The whole clip in one call, as PyTorch's forward runs it: the front end (a Sequential) on all chunks
/// as a batch, the GRU over the sequence, the head.
template <typename T>
double whole_clip_difference(const CRNNVad<T>& model) {
  const WavAudio& audio = demo_clip();
  const Index chunks = static_cast<Index>(audio.samples.size()) / CRNNVad<T>::chunk_samples;
  Tensor<T, 3> x(chunks, 1, CRNNVad<T>::chunk_samples);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<T>(audio.samples[static_cast<std::size_t>(i)]);
  const Tensor<T, 3> features = model.frontend(x);  // [chunks, 32, 1]
  REQUIRE(features.dimension(1) == 32);
  REQUIRE(features.dimension(2) == 1);
  const Eigen::array<Index, 3> sequence{chunks, 1, 32};
  const Tensor<T, 3> steps = features.reshape(sequence);
  const auto [out, h] = model.rnn(steps);
  const Tensor<T, 3> probability = model.head(out);  // [chunks, 1, 1]
  std::vector<T> per_chunk(probability.data(), probability.data() + probability.size());
  return worst_difference(per_chunk, h, golden<T>());
}


}  // namespace

TEST_CASE("the CRNN VAD prints PyTorch's repr and has its state_dict keys and shapes", "[crnn_vad][golden]") {
  CRNNVad<float> model;
  CHECK(seqnet_test::model_printout(std::as_const(model)) == seqnet_test::file_text(data_dir + "crnn_vad.txt"));
}

TEMPLATE_TEST_CASE("the CRNN VAD loads PyTorch's state dict in one strict call and gives its per-chunk probabilities",
                   "[crnn_vad][golden]", float, double) {
  using T = TestType;
  CRNNVad<T> model;
  CHECK(seqnet::load_safetensors(data_dir + "crnn_vad.safetensors", model).str() == "<All keys matched successfully>");
  model.eval();
  CHECK(streamed_difference(model) <= tolerance<T>());
  CHECK(whole_clip_difference(model) <= tolerance<T>());
  model.rnn.prepack();  // the real-time step path: same values up to rounding
  CHECK(streamed_difference(model) <= tolerance<T>());

  // The checks can fail: in training mode BatchNorm1d normalises each chunk by its own statistics.
  model.train();
  CHECK(whole_clip_difference(model) > 1e-3);
}

TEMPLATE_TEST_CASE("perturbing any tensor of the CRNN VAD's state dict changes its probabilities beyond tolerance",
                   "[crnn_vad][golden]", float, double) {
  using T = TestType;
  const auto dict = Safetensors::read(data_dir + "crnn_vad.safetensors").state_dict<T>();
  REQUIRE(dict.size() == 17);
  for (const auto& key : dict.keys()) {
    // Only training reads the batch count (for momentum=None); eval ignores it, in PyTorch too.
    if (key == "frontend.1.num_batches_tracked") continue;
    INFO("perturbed " << key);
    auto perturbed = dict;
    for (auto& v : perturbed.at(key).values) v += T(1e-2);
    CRNNVad<T> model;
    seqnet::load_state_dict(model, perturbed);
    model.eval();
    CHECK(streamed_difference(model) > tolerance<T>());
  }
}

TEST_CASE("the CRNN VAD stream refuses a model in training mode", "[crnn_vad]") {
  CRNNVad<float> model;
  CHECK_THROWS_AS(CRNNVadStream<float>(model), std::invalid_argument);
}
