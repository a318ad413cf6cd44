// Forward-pass timings of seqnet's modules on the tutorial's shapes and a few larger ones.
// Peers (oneDNN, PyTorch) are compared in the CPU-speed work; this file times seqnet alone.
#include <benchmark/benchmark.h>

#include <seqnet/seqnet.hpp>

namespace {

// Arguments: seq, batch, input, hidden, layers, bidirectional.
template <typename T>
void lstm_forward(benchmark::State& state) {
  const auto seq = state.range(0), batch = state.range(1), input = state.range(2), hidden = state.range(3);
  seqnet::LSTM<T> lstm(seqnet::LSTMOptions(input, hidden).num_layers(state.range(4)).bidirectional(state.range(5) != 0));
  lstm.eval();
  const auto x = seqnet::randn<T>(seq, batch, input);
  for (auto _ : state) {
    auto result = lstm(x);
    benchmark::DoNotOptimize(result.first.data());
  }
  const double directions = state.range(5) != 0 ? 2.0 : 1.0;
  const double flops_layer0 = 2.0 * seq * batch * 4 * hidden * (input + hidden) * directions;
  const double flops_rest = 2.0 * seq * batch * 4 * hidden * (directions * hidden + hidden) * directions;
  state.counters["GFLOP/s"] = benchmark::Counter(flops_layer0 + (state.range(4) - 1) * flops_rest,
                                                 benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

template <typename T>
void rnn_forward(benchmark::State& state) {
  const auto seq = state.range(0), batch = state.range(1), input = state.range(2), hidden = state.range(3);
  seqnet::RNN<T> rnn(seqnet::RNNOptions(input, hidden).num_layers(state.range(4)).bidirectional(state.range(5) != 0));
  const auto x = seqnet::randn<T>(seq, batch, input);
  for (auto _ : state) {
    auto result = rnn(x);
    benchmark::DoNotOptimize(result.first.data());
  }
}

template <typename T>
void lstm_cell_step(benchmark::State& state) {
  const auto batch = state.range(0), input = state.range(1), hidden = state.range(2);
  seqnet::LSTMCell<T> cell(input, hidden);
  const auto x = seqnet::randn<T>(batch, input);
  const auto h = seqnet::zeros<T>(batch, hidden), c = seqnet::zeros<T>(batch, hidden);
  for (auto _ : state) {
    auto result = cell(x, {h, c});
    benchmark::DoNotOptimize(result.first.data());
  }
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"seq", "batch", "in", "hidden", "layers", "bidir"});
  b->Args({10, 3, 100, 20, 1, 0});
  b->Args({50, 1, 128, 128, 1, 0});
  b->Args({50, 4, 256, 256, 1, 0});
  b->Args({50, 16, 256, 256, 1, 0});
  b->Args({50, 32, 256, 256, 2, 1});
  b->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK_TEMPLATE(lstm_forward, float)->Apply(shapes);
BENCHMARK_TEMPLATE(lstm_forward, double)->Apply(shapes);
BENCHMARK_TEMPLATE(rnn_forward, float)->Apply(shapes);
BENCHMARK_TEMPLATE(lstm_cell_step, float)->ArgNames({"batch", "in", "hidden"})->Args({3, 100, 20})->Args({16, 256, 256});
