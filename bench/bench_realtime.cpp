// Real time: tiny LSTM and GRU models run one sample at a time (batch 1, frozen weights) with a
// Linear(H, 1) head, as an audio or sensor callback runs them. Reports ns per sample and heap allocations
// per sample (malloc is interposed in this program on glibc), for each way of calling seqnet:
//
//   cell         cell(x, state) and head(h): the returning forms
//   cell_into    cell.forward_into(x, state, state) and head.forward_into(h, y)
//   stream       stream.step(x) and head(y)
//   stream_into  stream.step_into(x, y) and head.forward_into
//   feed64_into  stream.feed_into on chunks of 64 samples and head.forward_into on the 64 outputs
//
//   seqnet_bench_realtime [google benchmark flags]     names: form/model/in_hidden, e.g. cell_into/LSTM/1_16
#include <atomic>
#include <cstdlib>
#include <string>

#include <benchmark/benchmark.h>

#include <seqnet/seqnet.hpp>

namespace {
std::atomic<long> allocations{0};
std::atomic<bool> counting{false};
}  // namespace

#if defined(__GLIBC__)
// glibc lets a program interpose malloc and reach the real one as __libc_malloc (as tests/alloc does).
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* malloc(std::size_t size) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(size);
}
void* calloc(std::size_t n, std::size_t size) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t size) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, size);
}
}
#endif

namespace {

using seqnet::Index;
using seqnet::Tensor;

enum class Form { Cell, CellInto, Stream, StreamInto, Feed64Into };
constexpr Index chunk = 64;

/// Times `step` (one call = `samples_per_call` samples) and reports ns and allocations per sample.
template <typename Step>
void run_timed(benchmark::State& state, Index samples_per_call, Step&& step) {
  for (int i = 0; i < 3; ++i) step();  // sizes every output and workspace
  allocations = 0;
  counting = true;
  for (auto _ : state) step();
  counting = false;
  const double samples = static_cast<double>(state.iterations()) * static_cast<double>(samples_per_call);
  state.counters["s_per_sample"] = benchmark::Counter(samples, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["allocs_per_sample"] = static_cast<double>(allocations.load()) / samples;
}

template <typename CellT, typename ModuleT, typename Options, typename CellOptions>
void bench_model(benchmark::State& state, Form form, Index input, Index hidden) {
  seqnet::Generator generator(1);
  CellT cell(CellOptions(input, hidden), generator);
  ModuleT module(Options(input, hidden), generator);
  seqnet::Linear<float> head(hidden, 1);
  cell.prepack();
  module.prepack();
  constexpr bool lstm = std::is_same_v<CellT, seqnet::LSTMCell<float>>;
  const Tensor<float, 2> x = seqnet::randn<float>(1, input);
  const Tensor<float, 3> xs = seqnet::randn<float>(chunk, 1, input);
  Tensor<float, 2> h = seqnet::zeros<float>(1, hidden), y;
  Tensor<float, 3> hs, ys;
  seqnet::LSTMState<float, 2> hc{h, h};
  seqnet::Stream stream(module);
  switch (form) {
    case Form::Cell:
      run_timed(state, 1, [&] {
        if constexpr (lstm) {
          hc = cell(x, hc);
          benchmark::DoNotOptimize(head(hc.first).data());
        } else {
          h = cell(x, h);
          benchmark::DoNotOptimize(head(h).data());
        }
      });
      break;
    case Form::CellInto:
      run_timed(state, 1, [&] {
        if constexpr (lstm) {
          cell.forward_into(x, hc, hc);
          head.forward_into(hc.first, y);
        } else {
          cell.forward_into(x, h, h);
          head.forward_into(h, y);
        }
        benchmark::DoNotOptimize(y.data());
      });
      break;
    case Form::Stream:
      run_timed(state, 1, [&] { benchmark::DoNotOptimize(head(stream.step(x)).data()); });
      break;
    case Form::StreamInto:
      run_timed(state, 1, [&] {
        stream.step_into(x, h);
        head.forward_into(h, y);
        benchmark::DoNotOptimize(y.data());
      });
      break;
    case Form::Feed64Into:
      run_timed(state, chunk, [&] {
        stream.feed_into(xs, hs);
        head.forward_into(hs, ys);
        benchmark::DoNotOptimize(ys.data());
      });
      break;
  }
}

const char* form_name(Form form) {
  switch (form) {
    case Form::Cell: return "cell";
    case Form::CellInto: return "cell_into";
    case Form::Stream: return "stream";
    case Form::StreamInto: return "stream_into";
    case Form::Feed64Into: return "feed64_into";
  }
  return "?";
}

void register_all() {
  const std::pair<Index, Index> shapes[] = {{1, 8}, {1, 16}, {1, 32}, {1, 64}, {16, 128}};
  for (Form form : {Form::Cell, Form::CellInto, Form::Stream, Form::StreamInto, Form::Feed64Into}) {
    for (const auto& [input, hidden] : shapes) {
      const std::string shape = std::to_string(input) + "_" + std::to_string(hidden);
      benchmark::RegisterBenchmark((std::string(form_name(form)) + "/LSTM/" + shape).c_str(),
                                   [form, input = input, hidden = hidden](benchmark::State& state) {
                                     bench_model<seqnet::LSTMCell<float>, seqnet::LSTM<float>, seqnet::LSTMOptions,
                                                 seqnet::LSTMCellOptions>(state, form, input, hidden);
                                   });
      benchmark::RegisterBenchmark((std::string(form_name(form)) + "/GRU/" + shape).c_str(),
                                   [form, input = input, hidden = hidden](benchmark::State& state) {
                                     bench_model<seqnet::GRUCell<float>, seqnet::GRU<float>, seqnet::GRUOptions,
                                                 seqnet::GRUCellOptions>(state, form, input, hidden);
                                   });
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("seqnet_version", SEQNET_VERSION_STRING);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
