// What denormal (subnormal) numbers cost a forward call, and what seqnet::set_flush_denormal(true) (like
// torch.set_flush_denormal) gives back. One thread, one call per iteration on a [50, 8, 256] input:
//   - lstm/<dtype>/<mode>: LSTM(256, 256, bias=False);
//   - relu/<dtype>/<mode>: RNN(256, 256, nonlinearity=relu, bias=False) with small weights, so the
//     hidden state decays towards zero and stays denormal through the sequence (the recurrence case).
// Modes: normal (inputs ~N(0, 1)), denormal (every input FLT_MIN / 8 or DBL_MIN / 8), flushed (the same
// denormal input with set_flush_denormal(true)). Compare the three modes of one row in one run.
//   seqnet_bench_denormals [--benchmark_filter=...] [--benchmark_min_time=0.2]
#include <benchmark/benchmark.h>

#include <limits>
#include <string>
#include <utility>

#include <seqnet/seqnet.hpp>

namespace {

enum class Mode { normal, denormal, flushed };

template <typename Module, typename T>
void run(benchmark::State& state, const Module& module, Mode mode) {
  seqnet::Tensor<T, 3> x = seqnet::randn<T>(50, 8, 256);
  if (mode != Mode::normal) x.setConstant(std::numeric_limits<T>::min() / 8);
  seqnet::set_flush_denormal(mode == Mode::flushed);
  (void)module(x);  // warm the workspace
  for (auto _ : state) benchmark::DoNotOptimize(module(x));
  seqnet::set_flush_denormal(false);
}

template <typename T>
void lstm(benchmark::State& state, Mode mode) {
  seqnet::Generator generator(3);
  const seqnet::LSTM<T> module(seqnet::LSTMOptions(256, 256).bias(false), generator);
  run<seqnet::LSTM<T>, T>(state, module, mode);
}

template <typename T>
void relu(benchmark::State& state, Mode mode) {
  seqnet::Generator generator(3);
  seqnet::RNN<T> module(seqnet::RNNOptions(256, 256).nonlinearity(seqnet::Nonlinearity::Relu).bias(false), generator);
  // Weights of U(-1/256, 1/256) (PyTorch's default is 1/16): the state shrinks at every step.
  T* weights = module.flat_parameters();
  for (seqnet::Index i = 0; i < module.num_parameters(); ++i) weights[i] *= T(1.0 / 16);
  run<seqnet::RNN<T>, T>(state, module, mode);
}

template <typename T>
void register_all(const std::string& dtype) {
  for (auto [mode, name] : {std::pair{Mode::normal, "normal"}, std::pair{Mode::denormal, "denormal"},
                            std::pair{Mode::flushed, "flushed"}}) {
    const Mode m = mode;
    benchmark::RegisterBenchmark(("lstm/" + dtype + "/" + name).c_str(), [m](benchmark::State& s) { lstm<T>(s, m); })
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("relu/" + dtype + "/" + name).c_str(), [m](benchmark::State& s) { relu<T>(s, m); })
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all<float>("f32");
  register_all<double>("f64");
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("seqnet_version", SEQNET_VERSION_STRING);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
