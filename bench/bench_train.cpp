// Training: one step of a recurrent layer as a training loop runs it (forward that records its tape, an
// MSE loss against zeros, backward through time, an Adam update), fp32, for RNN (tanh), GRU and LSTM on
// the shapes of bench/bench_train_torch.py, which times the same step in PyTorch:
//
//   seqnet_bench_train [--threads=N] [google benchmark flags]   names: train/KIND/sS_bB_iI_hH
#include <cstdlib>
#include <cstring>
#include <string>

#include <benchmark/benchmark.h>

#include <seqnet/seqnet.hpp>

namespace {

using seqnet::Index;
using seqnet::Tensor;

struct Shape {
  Index seq, batch, input, hidden;
};
// Small (a sensor model), medium (scripts/bench's middle shape) and large (sgemm-bound).
constexpr Shape shapes[] = {{25, 1, 16, 64}, {50, 16, 256, 256}, {100, 64, 512, 512}};

template <typename Module, typename Options>
void train_step(benchmark::State& state, const Shape& s) {
  seqnet::Generator generator(1);
  Module rnn(Options(s.input, s.hidden), generator);
  seqnet::optim::Adam<float> adam({&rnn}, seqnet::optim::AdamOptions().lr(1e-3));
  seqnet::MSELoss<float> mse;
  seqnet::RecurrentTape<float> tape;
  const Tensor<float, 3> x = seqnet::randn<float>(s.seq, s.batch, s.input);
  const Tensor<float, 3> target = seqnet::zeros<float>(s.seq, s.batch, s.hidden);
  Tensor<float, 3> grad_output(s.seq, s.batch, s.hidden);
  auto step = [&] {
    adam.zero_grad();
    const auto out = rnn.forward_train(tape, x).first;
    benchmark::DoNotOptimize(mse.forward(out, target, grad_output));
    benchmark::DoNotOptimize(rnn.backward(tape, grad_output).input.data());
    adam.step();
  };
  for (int i = 0; i < 2; ++i) step();
  for (auto _ : state) step();
  // Multiply-adds of one step: forward 1x, backward 2x (input and weight gradients) the layer's products.
  const double gates = static_cast<double>(std::is_same_v<Module, seqnet::LSTM<float>> ? 4 : std::is_same_v<Module, seqnet::GRU<float>> ? 3 : 1) * s.hidden;
  const double macs = 3.0 * s.seq * s.batch * gates * (s.input + s.hidden);
  state.counters["GFLOPS"] = benchmark::Counter(2.0 * macs, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

void register_all() {
  for (const Shape& s : shapes) {
    const std::string name = "_s" + std::to_string(s.seq) + "_b" + std::to_string(s.batch) + "_i" +
                             std::to_string(s.input) + "_h" + std::to_string(s.hidden);
    benchmark::RegisterBenchmark(("train/RNN" + name).c_str(), [s](benchmark::State& st) {
      train_step<seqnet::RNN<float>, seqnet::RNNOptions>(st, s);
    })->Unit(benchmark::kMicrosecond)->UseRealTime();
    benchmark::RegisterBenchmark(("train/GRU" + name).c_str(), [s](benchmark::State& st) {
      train_step<seqnet::GRU<float>, seqnet::GRUOptions>(st, s);
    })->Unit(benchmark::kMicrosecond)->UseRealTime();
    benchmark::RegisterBenchmark(("train/LSTM" + name).c_str(), [s](benchmark::State& st) {
      train_step<seqnet::LSTM<float>, seqnet::LSTMOptions>(st, s);
    })->Unit(benchmark::kMicrosecond)->UseRealTime();
  }
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1;
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--threads=", 10) == 0) {
      threads = std::atoi(argv[i] + 10);
      for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
      --argc;
      break;
    }
  seqnet::set_num_threads(threads);
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("seqnet_threads", std::to_string(threads));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
