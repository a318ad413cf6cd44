// The GPU modules against the CPU modules on random inputs: fp32 relative error < 1e-5, fp64 < 1e-12,
// every result element written (`poison_results` fills results with NaN first), with and without CUDA graphs.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <seqnet/cuda.hpp>

namespace {

using seqnet::Index;
using seqnet::SequenceLengths;
using seqnet::Tensor;
namespace cuda = seqnet::cuda;

template <typename T>
double tolerance() {
  return std::is_same_v<T, double> ? 1e-12 : 1e-5;
}

/// |gpu - cpu| <= tol * max(1, |cpu|) for every element (NaN, e.g. an unwritten poisoned element, fails).
template <typename T, int R>
void check_close(const Tensor<T, R>& gpu, const Tensor<T, R>& cpu, double tol = tolerance<T>()) {
  REQUIRE(seqnet::shape(gpu) == seqnet::shape(cpu));
  for (Index i = 0; i < gpu.size(); ++i) {
    const double g = gpu.data()[i], c = cpu.data()[i];
    INFO("element " << i << ": GPU " << g << ", CPU " << c);
    REQUIRE(std::abs(g - c) <= tol * std::max(1.0, std::abs(c)));
  }
}

struct Config {
  const char* name;
  Index layers;
  bool bidirectional;
  bool batch_first;
  bool bias;
  bool with_state;
  Index batch;
  std::optional<std::vector<Index>> lengths;
};

const std::vector<Config>& configs() {
  static const std::vector<Config> all = {
      {"batch 1 (fused step)", 1, false, false, true, false, 1, std::nullopt},
      {"batch 3, states, 2 layers", 2, false, false, true, true, 3, std::nullopt},
      {"batch 8 bidirectional", 2, true, false, true, true, 8, std::nullopt},
      {"batch 20 (cuBLAS step) batch_first bidirectional", 2, true, true, false, true, 20, std::nullopt},
      {"packed unsorted", 2, true, false, true, true, 4, std::vector<Index>{3, 7, 1, 5}},
      {"packed batch 12", 1, false, true, true, false, 12, std::vector<Index>{7, 7, 6, 6, 5, 5, 4, 3, 3, 2, 1, 1}},
  };
  return all;
}

template <typename T, typename Host, typename Device, typename Options>
void compare_module(Options options, const Config& c, bool graphs) {
  options.num_layers(c.layers).bidirectional(c.bidirectional).batch_first(c.batch_first).bias(c.bias);
  seqnet::Generator init(5);
  Host host(options, init);
  host.eval();
  Device device(host);
  device.use_cuda_graphs(graphs);
  device.poison_results(true);  // an element the GPU does not write stays NaN and fails the comparison
  const Index S = 7, B = c.batch, D = c.bidirectional ? 2 : 1;
  seqnet::manual_seed(17);
  const Tensor<T, 3> x = c.batch_first ? seqnet::randn<T>(B, S, options.input_size())
                                       : seqnet::randn<T>(S, B, options.input_size());
  const auto& spec = host.spec();
  const Tensor<T, 3> h0 = seqnet::randn<T>(c.layers * D, B, spec.output_size());
  const Tensor<T, 3> c0 = seqnet::randn<T>(c.layers * D, B, spec.hidden_size);
  std::optional<SequenceLengths> lengths;
  if (c.lengths) lengths = SequenceLengths(*c.lengths).enforce_sorted(false);
  const cudaStream_t s = device.stream();
  const auto x_dev = cuda::to_device(x, s);
  const auto h_dev = cuda::to_device(h0, s);
  const auto c_dev = cuda::to_device(c0, s);
  // Three calls: with graphs on, the first runs directly, the second captures, the third replays.
  for (int call = 0; call < 3; ++call) {
    if constexpr (std::is_same_v<Host, seqnet::LSTM<T>>) {
      auto [out, hc] = lengths ? (c.with_state ? host(x, *lengths, {h0, c0}) : host(x, *lengths))
                               : (c.with_state ? host(x, {h0, c0}) : host(x));
      auto [out_d, hc_d] = lengths ? (c.with_state ? device(x_dev, *lengths, h_dev, c_dev) : device(x_dev, *lengths))
                                   : (c.with_state ? device(x_dev, h_dev, c_dev) : device(x_dev));
      check_close(out_d.to_host(s), out);
      check_close(hc_d.first.to_host(s), hc.first);
      check_close(hc_d.second.to_host(s), hc.second);
    } else {
      auto [out, h_n] = lengths ? (c.with_state ? host(x, *lengths, h0) : host(x, *lengths))
                                : (c.with_state ? host(x, h0) : host(x));
      auto [out_d, h_d] = lengths ? (c.with_state ? device(x_dev, *lengths, h_dev) : device(x_dev, *lengths))
                                  : (c.with_state ? device(x_dev, h_dev) : device(x_dev));
      check_close(out_d.to_host(s), out);
      check_close(h_d.to_host(s), h_n);
    }
  }
}

}  // namespace

TEMPLATE_TEST_CASE("GPU modules equal the CPU modules", "[cuda]", float, double) {
  using T = TestType;
  for (const bool graphs : {true, false}) {
    for (const Config& c : configs()) {
      DYNAMIC_SECTION(c.name << (graphs ? ", graphs" : ", no graphs")) {
        compare_module<T, seqnet::LSTM<T>, cuda::LSTM<T>>(seqnet::LSTMOptions(9, 40), c, graphs);
        compare_module<T, seqnet::LSTM<T>, cuda::LSTM<T>>(seqnet::LSTMOptions(9, 40).proj_size(13), c, graphs);
        compare_module<T, seqnet::GRU<T>, cuda::GRU<T>>(seqnet::GRUOptions(9, 40), c, graphs);
        compare_module<T, seqnet::RNN<T>, cuda::RNN<T>>(seqnet::RNNOptions(9, 40), c, graphs);
        compare_module<T, seqnet::RNN<T>, cuda::RNN<T>>(
            seqnet::RNNOptions(9, 40).nonlinearity(seqnet::Nonlinearity::Relu), c, graphs);
      }
    }
  }
}

TEMPLATE_TEST_CASE("GPU cells equal the CPU cells", "[cuda]", float, double) {
  using T = TestType;
  seqnet::Generator init(8);
  seqnet::LSTMCell<T> lstm(seqnet::LSTMCellOptions(10, 33), init);
  seqnet::GRUCell<T> gru(seqnet::GRUCellOptions(10, 33), init);
  seqnet::RNNCell<T> rnn(seqnet::RNNCellOptions(10, 33).bias(false), init);
  cuda::LSTMCell<T> lstm_d(lstm);
  cuda::GRUCell<T> gru_d(gru);
  cuda::RNNCell<T> rnn_d(rnn);
  lstm_d.poison_results(true);
  gru_d.poison_results(true);
  rnn_d.poison_results(true);
  for (const Index batch : {1, 5, 64}) {
    seqnet::manual_seed(static_cast<std::uint64_t>(batch));
    const Tensor<T, 2> x = seqnet::randn<T>(batch, 10), h = seqnet::randn<T>(batch, 33), c = seqnet::randn<T>(batch, 33);
    const auto x_d = cuda::to_device(x), h_d = cuda::to_device(h), c_d = cuda::to_device(c);
    auto [h1, c1] = lstm(x, {h, c});
    auto [h1_d, c1_d] = lstm_d(x_d, h_d, c_d);
    check_close(h1_d.to_host(), h1);
    check_close(c1_d.to_host(), c1);
    check_close(gru_d(x_d, h_d).to_host(), gru(x, h));
    check_close(gru_d(x_d).to_host(), gru(x));
    check_close(rnn_d(x_d, h_d).to_host(), rnn(x, h));
  }
  const Tensor<T, 1> x1 = seqnet::randn<T>(10);
  check_close(gru_d(cuda::to_device(x1)).to_host(), gru(x1));
}

TEST_CASE("GPU modules: unbatched input, fp16/bf16 input, dropout, to_host, errors", "[cuda]") {
  seqnet::Generator init(3);
  seqnet::LSTM<float> host(seqnet::LSTMOptions(6, 24).num_layers(2).bidirectional(true), init);
  host.eval();
  cuda::LSTM<float> device(host);
  device.poison_results(true);
  seqnet::manual_seed(4);
  const Tensor<float, 2> x2 = seqnet::randn<float>(5, 6);
  SECTION("unbatched") {
    auto [out, hc] = host(x2);
    auto [out_d, hc_d] = device(cuda::to_device(x2));
    check_close(out_d.to_host(), out);
    check_close(hc_d.second.to_host(), hc.second);
  }
  SECTION("fp16 and bf16 inputs compute in fp32") {
    const Tensor<float, 3> x = seqnet::randn<float>(5, 3, 6);
    for (const bool bf16 : {false, true}) {
      // The reference runs on the input rounded to 16 bits, so only the arithmetic is compared.
      const Tensor<float, 3> rounded =
          bf16 ? cuda::to_device_as<cuda::bfloat16>(x).to_host() : cuda::to_device_as<cuda::half>(x).to_host();
      auto [out, hc] = host(rounded);
      auto [out_d, hc_d] = bf16 ? device(cuda::to_device_as<cuda::bfloat16>(x)) : device(cuda::to_device_as<cuda::half>(x));
      check_close(out_d.to_host(), out);
    }
  }
  SECTION("training-mode dropout drops what the CPU drops") {
    seqnet::GRU<double> gru(seqnet::GRUOptions(6, 24).num_layers(3).dropout(0.3), init);
    gru.train();
    cuda::GRU<double> gru_d(gru);
    REQUIRE(gru_d.is_training());
    seqnet::Generator cpu_masks(21), gpu_masks(21);
    gru.set_generator(cpu_masks);
    gru_d.set_generator(gpu_masks);
    const Tensor<double, 3> x = seqnet::randn<double>(5, 3, 6);
    auto [out, h_n] = gru(x);
    auto [out_d, h_d] = gru_d(cuda::to_device(x));
    check_close(out_d.to_host(), out);
    check_close(h_d.to_host(), h_n);
  }
  SECTION("to_host returns the parameters and options") {
    const seqnet::LSTM<float> back = device.to_host();
    CHECK(back.repr() == host.repr());
    for (Index i = 0; i < host.num_parameters(); ++i) REQUIRE(back.flat_parameters()[i] == host.flat_parameters()[i]);
    CHECK(device.parameter("weight_hh_l1_reverse").shape == seqnet::Shape{96, 24});
    CHECK(device.named_parameters().size() == host.named_parameters().size());
  }
  SECTION("bad shapes throw the CPU's messages before anything runs") {
    const auto bad = cuda::to_device(seqnet::randn<float>(5, 3, 7));
    try {
      device(bad);
      FAIL("no exception");
    } catch (const seqnet::shape_error& e) {
      CHECK(std::string(e.what()) == "input.size(-1) must be equal to input_size. Expected 6, got 7");
    }
    const auto x = cuda::to_device(seqnet::randn<float>(5, 3, 6));
    const auto h = cuda::to_device(seqnet::randn<float>(4, 3, 24)), c_bad = cuda::to_device(seqnet::randn<float>(4, 2, 24));
    CHECK_THROWS_WITH(device(x, h, c_bad), "Expected hidden[1] size (4, 3, 24), got [4, 2, 24]");
    CHECK_THROWS_AS((cuda::DeviceTensor<float, 3>(seqnet::Shape{2, 2})), seqnet::shape_error);
  }
}

TEST_CASE("GPU results follow the module's stream without host synchronisation", "[cuda]") {
  seqnet::Generator init(6);
  seqnet::GRU<float> host(seqnet::GRUOptions(8, 64), init);
  cuda::GRU<float> device(host);
  cudaStream_t user = nullptr;
  REQUIRE(cudaStreamCreate(&user) == cudaSuccess);
  const Tensor<float, 3> x = seqnet::randn<float>(30, 2, 8);
  {
    device.set_stream(user);
    const auto x_d = cuda::to_device(x, user);
    for (int i = 0; i < 3; ++i) {
      auto [out_d, h_d] = device(x_d);
      auto [out, h_n] = host(x);
      check_close(h_d.to_host(user), h_n);
    }
    device.set_stream(nullptr);  // the legacy default stream: no graphs, still correct
    auto [out_d, h_d] = device(x_d);
    check_close(out_d.to_host(), std::get<0>(host(x)));
  }  // everything allocated on `user` is freed before it is destroyed
  REQUIRE(cudaStreamDestroy(user) == cudaSuccess);
}

TEST_CASE("GPU graphs: a sorted batch after an unsorted one with the same batch sizes", "[cuda]") {
  // {3, 6, 1, 5} and {6, 5, 3, 1} pack to the same batch sizes; only the first permutes. The graph
  // captured for the first must not be replayed for the second.
  seqnet::Generator init(11);
  seqnet::GRU<float> host(seqnet::GRUOptions(5, 16), init);
  host.eval();
  cuda::GRU<float> device(host);
  seqnet::manual_seed(12);
  const Tensor<float, 3> x = seqnet::randn<float>(6, 4, 5);
  const cudaStream_t s = device.stream();
  const auto x_d = cuda::to_device(x, s);
  for (const std::vector<Index>& l : {std::vector<Index>{3, 6, 1, 5}, std::vector<Index>{3, 6, 1, 5},
                                      std::vector<Index>{3, 6, 1, 5}, std::vector<Index>{6, 5, 3, 1},
                                      std::vector<Index>{6, 5, 3, 1}, std::vector<Index>{6, 5, 3, 1}}) {
    const SequenceLengths lengths = SequenceLengths(l).enforce_sorted(false);
    auto [out, h_n] = host(x, lengths);
    auto [out_d, h_d] = device(x_d, lengths);
    check_close(out_d.to_host(s), out);
    check_close(h_d.to_host(s), h_n);
  }
}

TEST_CASE("GPU modules: move assignment, empty device tensors", "[cuda]") {
  seqnet::Generator init(13);
  seqnet::GRU<float> a(seqnet::GRUOptions(4, 8), init), b(seqnet::GRUOptions(4, 8), init);
  cuda::GRU<float> a_d(a), b_d(b);
  a_d = std::move(b_d);  // a_d's own memory and streams are released first
  seqnet::manual_seed(14);
  const Tensor<float, 3> x = seqnet::randn<float>(3, 2, 4);
  auto [out_d, h_d] = a_d(cuda::to_device(x, a_d.stream()));
  check_close(out_d.to_host(a_d.stream()), std::get<0>(b(x)));
  const cuda::DeviceTensor<float, 3> empty;
  CHECK(empty.size() == 0);
  CHECK(empty.shape() == seqnet::Shape{0, 0, 0});
  CHECK(empty.to_host().size() == 0);
}

TEST_CASE("GPU modules inside the caller's own CUDA graph", "[cuda]") {
  seqnet::Generator init(15);
  seqnet::LSTM<float> host(seqnet::LSTMOptions(6, 32).bidirectional(true), init);
  host.eval();
  cuda::LSTM<float> device(host);
  cudaStream_t user = nullptr;
  REQUIRE(cudaStreamCreateWithFlags(&user, cudaStreamNonBlocking) == cudaSuccess);
  seqnet::manual_seed(16);
  const Tensor<float, 3> x = seqnet::randn<float>(8, 3, 6);
  {
    device.set_stream(user);
    const auto x_d = cuda::to_device(x, user);
    cuda::DeviceTensor<float, 3> out_d;
    device(x_d);  // a first call outside the capture sizes the module's workspace
    REQUIRE(cudaStreamSynchronize(user) == cudaSuccess);
    // The module sees a capturing stream and records into the caller's graph instead of its own. Its
    // results are allocated inside the capture, so they become part of the graph's memory.
    cudaGraph_t graph = nullptr;
    REQUIRE(cudaStreamBeginCapture(user, cudaStreamCaptureModeThreadLocal) == cudaSuccess);
    {
      auto [out, hc] = device(x_d);
      out_d = std::move(out);
    }
    REQUIRE(cudaStreamEndCapture(user, &graph) == cudaSuccess);
    cudaGraphExec_t exec = nullptr;
    REQUIRE(cudaGraphInstantiate(&exec, graph, 0) == cudaSuccess);
    REQUIRE(cudaGraphLaunch(exec, user) == cudaSuccess);
    auto [out, hc] = host(x);
    check_close(out_d.to_host(user), out);
    REQUIRE(cudaGraphExecDestroy(exec) == cudaSuccess);
    REQUIRE(cudaGraphDestroy(graph) == cudaSuccess);
    device.set_stream(nullptr);
  }
  REQUIRE(cudaStreamDestroy(user) == cudaSuccess);
}
