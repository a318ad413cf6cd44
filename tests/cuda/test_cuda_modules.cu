// The GPU modules against the CPU modules on random inputs: fp32 relative error < 1e-5, fp64 < 1e-12,
// every result element written (`poison_results` fills results with NaN first), with and without CUDA graphs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
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
      // The CPU module's calling style: `{h0, c0}` (and, on the second call, h0 and c0 given separately).
      auto [out_d, hc_d] = lengths ? (c.with_state ? (call == 1 ? device(x_dev, *lengths, h_dev, c_dev)
                                                                : device(x_dev, *lengths, {h_dev, c_dev}))
                                                   : device(x_dev, *lengths))
                                   : (c.with_state ? (call == 1 ? device(x_dev, h_dev, c_dev) : device(x_dev, {h_dev, c_dev}))
                                                   : device(x_dev));
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
    auto [h1_d, c1_d] = lstm_d(x_d, {h_d, c_d});
    check_close(h1_d.to_host(), h1);
    check_close(c1_d.to_host(), c1);
    check_close(gru_d(x_d, h_d).to_host(), gru(x, h));
    check_close(gru_d(x_d).to_host(), gru(x));
    check_close(rnn_d(x_d, h_d).to_host(), rnn(x, h));
  }
  const Tensor<T, 1> x1 = seqnet::randn<T>(10);
  check_close(gru_d(cuda::to_device(x1)).to_host(), gru(x1));
}

// PyTorch's cells accept sizes of 0: input_size 0 steps on the biases and h alone (the input product is an
// empty sum, which cuBLAS would refuse), hidden_size 0 gives empty results and launches nothing.
TEMPLATE_TEST_CASE("GPU cells of size 0 equal the CPU cells", "[cuda][zero_size]", float, double) {
  using T = TestType;
  seqnet::Generator init(9);
  seqnet::LSTMCell<T> lstm(seqnet::LSTMCellOptions(0, 33), init);
  seqnet::GRUCell<T> gru(seqnet::GRUCellOptions(0, 5), init);
  seqnet::RNNCell<T> empty(seqnet::RNNCellOptions(4, 0), init);
  cuda::LSTMCell<T> lstm_d(lstm);
  cuda::GRUCell<T> gru_d(gru);
  cuda::RNNCell<T> empty_d(empty);
  lstm_d.poison_results(true);
  gru_d.poison_results(true);
  for (const Index batch : {1, 12}) {
    seqnet::manual_seed(static_cast<std::uint64_t>(batch));
    const Tensor<T, 2> x(batch, 0), h = seqnet::randn<T>(batch, 33), c = seqnet::randn<T>(batch, 33);
    const Tensor<T, 2> h5 = seqnet::randn<T>(batch, 5);
    const auto x_d = cuda::to_device(x), h_d = cuda::to_device(h), c_d = cuda::to_device(c);
    auto [h1, c1] = lstm(x, {h, c});
    auto [h1_d, c1_d] = lstm_d(x_d, {h_d, c_d});
    check_close(h1_d.to_host(), h1);
    check_close(c1_d.to_host(), c1);
    check_close(gru_d(x_d, cuda::to_device(h5)).to_host(), gru(x, h5));
    const Tensor<T, 2> out = empty_d(cuda::to_device(seqnet::randn<T>(batch, 4))).to_host();
    CHECK(seqnet::shape(out) == seqnet::Shape{batch, 0});
  }
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

TEMPLATE_TEST_CASE("GPU forward_into: caller-owned results, a state carried in place, one graph replayed",
                   "[cuda]", float, double) {
  using T = TestType;
  seqnet::Generator init(21);
  seqnet::LSTM<T> host(seqnet::LSTMOptions(5, 32).num_layers(2).bidirectional(true), init);
  host.eval();
  cuda::LSTM<T> device(host);
  device.poison_results(true);
  const cudaStream_t s = device.stream();
  seqnet::manual_seed(22);
  const Tensor<T, 3> x = seqnet::randn<T>(4, 3, 5);
  const auto x_d = cuda::to_device(x, s);
  typename cuda::LSTM<T>::template Output<3> result;
  device.forward_into(result, x_d);  // empty results: allocated here
  auto [out, state] = host(x);
  check_close(result.first.to_host(s), out);
  const T* addresses[] = {result.first.data(), result.second.first.data(), result.second.second.data()};
  for (int step = 0; step < 6; ++step) {
    device.forward_into(result, x_d, result.second);  // (h0, c0) are (h_n, c_n) themselves
    auto [next_out, next_state] = host(x, state);
    state = next_state;
    check_close(result.first.to_host(s), next_out);
    check_close(result.second.first.to_host(s), state.first);
    check_close(result.second.second.to_host(s), state.second);
    CHECK(result.first.data() == addresses[0]);  // written in place, never reallocated
    CHECK(result.second.first.data() == addresses[1]);
    CHECK(result.second.second.data() == addresses[2]);
  }
  // The first call (zero state) and the second (a new key) ran directly; the third captured; the rest
  // replayed the one graph.
  CHECK(device.cached_graphs() == 1);

  SECTION("a result of another shape is reallocated; a result that is also an input is refused") {
    const auto x_long = cuda::to_device(seqnet::randn<T>(9, 3, 5), s);
    device.forward_into(result, x_long);
    CHECK(result.first.shape() == seqnet::Shape{9, 3, 64});
    cuda::GRU<T> gru(seqnet::GRU<T>(seqnet::GRUOptions(8, 8), init));
    const auto x1 = cuda::to_device(seqnet::randn<T>(1, 1, 8), s);
    typename cuda::GRU<T>::template Output<3> r = gru(x1);
    CHECK_THROWS_AS(gru.forward_into(r, r.first), seqnet::value_error);       // input is the output
    CHECK_THROWS_AS(gru.forward_into(r, x1, r.first), seqnet::value_error);   // h0 is the output
    gru.forward_into(r, x1, r.second);                                        // h0 is h_n: allowed
  }
}

TEMPLATE_TEST_CASE("GPU cells step in place with forward_into", "[cuda]", float, double) {
  using T = TestType;
  seqnet::Generator init(23);
  // Hidden 40, batch 3: the fused step kernel, where an in-place h would race without the plan's copy.
  seqnet::LSTMCell<T> lstm(seqnet::LSTMCellOptions(6, 40), init);
  seqnet::GRUCell<T> gru(seqnet::GRUCellOptions(6, 40), init);
  cuda::LSTMCell<T> lstm_d(lstm);
  cuda::GRUCell<T> gru_d(gru);
  const cudaStream_t s = lstm_d.stream();
  seqnet::manual_seed(24);
  const Tensor<T, 2> x = seqnet::randn<T>(3, 6);
  const auto x_d = cuda::to_device(x, s);
  cuda::LSTMState<T, 2> hc(cuda::to_device(seqnet::randn<T>(3, 40), s), cuda::to_device(seqnet::randn<T>(3, 40), s));
  cuda::DeviceTensor<T, 2> h = cuda::to_device(seqnet::randn<T>(3, 40), s);
  seqnet::LSTMState<T, 2> hc_cpu(hc.first.to_host(s), hc.second.to_host(s));
  Tensor<T, 2> h_cpu = h.to_host(s);
  for (int step = 0; step < 5; ++step) {
    lstm_d.forward_into(hc, x_d, hc);
    gru_d.forward_into(h, x_d, h);
    hc_cpu = lstm(x, hc_cpu);
    h_cpu = gru(x, h_cpu);
    check_close(hc.first.to_host(s), hc_cpu.first);
    check_close(hc.second.to_host(s), hc_cpu.second);
    check_close(h.to_host(s), h_cpu);
  }
  CHECK(lstm_d.cached_graphs() == 1);
}

TEST_CASE("GPU modules share their device's stream, cuBLAS handles and workspaces", "[cuda]") {
  seqnet::Generator init(25);
  const seqnet::GRU<float> host(seqnet::GRUOptions(8, 64), init);
  cuda::GRU<float> first(host);  // the device's lane exists from here on
  REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
  std::size_t free_before = 0, free_after = 0, total = 0;
  REQUIRE(cudaMemGetInfo(&free_before, &total) == cudaSuccess);
  std::vector<cuda::GRU<float>> modules;
  for (int i = 0; i < 10; ++i) modules.emplace_back(host);
  REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
  REQUIRE(cudaMemGetInfo(&free_after, &total) == cudaSuccess);
  // With two 32 MiB cuBLAS workspaces per module, ten modules took 640 MiB; now they add their parameters
  // (56 KiB each) and less than one lane's two workspaces, whatever the memory pool's granularity.
  CHECK(free_before - std::min(free_before, free_after) < (std::size_t(64) << 20));
  for (const auto& m : modules) CHECK(m.stream() == first.stream());

  // Chained on the shared stream, one module's output is the next one's input without any event.
  seqnet::manual_seed(26);
  const Tensor<float, 3> x = seqnet::randn<float>(6, 2, 8);
  seqnet::GRU<float> second_host(seqnet::GRUOptions(64, 8), init);
  cuda::GRU<float> second(second_host);
  auto [hidden, h_n] = first(cuda::to_device(x, first.stream()));
  auto [out, h2] = second(hidden);
  check_close(out.to_host(second.stream()), std::get<0>(second_host(std::get<0>(host(x)))));
}

TEST_CASE("GPU modules called from several host threads at once", "[cuda]") {
  seqnet::Generator init(27);
  const seqnet::LSTM<float> host(seqnet::LSTMOptions(8, 48).bidirectional(true), init);
  cuda::LSTM<float> shared(host);  // one module, and one per thread, all on the device's stream
  seqnet::manual_seed(28);
  const Tensor<float, 3> x = seqnet::randn<float>(7, 4, 8);
  const auto reference = host(x);
  const Tensor<float, 3>& expected = reference.first;
  std::vector<std::string> failures(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      try {
        cuda::LSTM<float> own(host);
        const auto x_d = cuda::to_device(x, own.stream());
        for (int i = 0; i < 20; ++i) {
          const auto& module = i % 2 == 0 ? own : shared;
          const Tensor<float, 3> got = module(x_d).first.to_host(module.stream());
          for (Index k = 0; k < got.size(); ++k)
            if (!(std::abs(got.data()[k] - expected.data()[k]) <= 1e-5f)) throw std::runtime_error("mismatch");
        }
      } catch (const std::exception& e) {
        failures[static_cast<std::size_t>(t)] = e.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& f : failures) CHECK(f.empty());
}

TEST_CASE("GPU calls restore the caller's current device", "[cuda]") {
  if (cuda::device_count() < 2) {
    WARN("one CUDA device: switching devices is not exercised");
    return;
  }
  REQUIRE(cudaSetDevice(0) == cudaSuccess);
  seqnet::GRU<float> host(seqnet::GRUOptions(4, 8));
  cuda::GRU<float> device0(host);  // lives on device 0
  REQUIRE(cudaSetDevice(1) == cudaSuccess);
  REQUIRE(cudaSetDevice(0) == cudaSuccess);
  const auto x0 = cuda::to_device(seqnet::randn<float>(3, 2, 4), device0.stream());
  REQUIRE(cudaSetDevice(1) == cudaSuccess);
  (void)device0(x0);
  int current = -1;
  REQUIRE(cudaGetDevice(&current) == cudaSuccess);
  CHECK(current == 1);
  REQUIRE(cudaSetDevice(0) == cudaSuccess);
}
