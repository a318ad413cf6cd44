// Forward (inference) timings of seqnet's RNN, LSTM, GRU and of one RNNCell/LSTMCell/GRUCell step over the
// CPU-speed issue's grid, fp32 and fp64, next to oneDNN's RNN primitives on the same weights and inputs
// (fp32 only: oneDNN has no fp64 RNN) and oneDNN's sgemm as the machine's fp32 GEMM rate.
//
//   seqnet_bench [--seqnet_threads=N] [google benchmark flags]   time (names: impl/model/dtype/shape)
//   seqnet_bench --seqnet_dump=DIR                               write weights, inputs and seqnet's
//                                                                outputs for bench/bench_torch.py
//
// A peer is timed only after it reproduced seqnet's output, h_n and c_n (max abs diff <= 1e-4); if it
// does not, its benchmark is reported as an error with the difference instead of a time.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_common.hpp"
#include "bench_onednn.hpp"

// Set by bench/CMakeLists.txt so the report can say how the numbers were built.
#ifndef SEQNET_BENCH_CXX_FLAGS
#define SEQNET_BENCH_CXX_FLAGS "unknown"
#endif
#ifndef SEQNET_BENCH_COMPILER
#define SEQNET_BENCH_COMPILER "unknown"
#endif

// Threading in seqnet: when the library offers `seqnet::set_num_threads(int)` the bench uses it; until
// then the fallback below is chosen by overload resolution and seqnet runs on one thread.
namespace bench_threads_fallback {
struct NoThreadControl {};
// C varargs: the worst match, so any `seqnet::set_num_threads` taking a number is preferred.
inline NoThreadControl set_num_threads(...) { return {}; }
}  // namespace bench_threads_fallback

namespace bench_threads_detect {
using namespace bench_threads_fallback;
using namespace seqnet;
/// Applies the thread count to seqnet; returns the count seqnet actually runs with.
inline int apply(int threads) {
  if constexpr (std::is_same_v<decltype(set_num_threads(threads)), bench_threads_fallback::NoThreadControl>) {
    return 1;
  } else {
    set_num_threads(threads);
    return threads;
  }
}
}  // namespace bench_threads_detect

namespace {

using namespace bench;

// ---------------------------------------------------------------------------------------------------
// One case's seqnet module (and, lazily, its peers) is built once and shared by the seqnet and peer
// benchmarks of that case, which Google Benchmark runs back to back (estimation runs, repetitions).
// Only the current case is kept, so the large shapes do not pile up in memory.

std::string current_fixture_key;
std::shared_ptr<void> current_fixture;

template <typename Fixture>
Fixture& fixture_for(const std::string& key, const Case& c) {
  if (current_fixture_key != key) {
    current_fixture.reset();  // free the previous case first
    current_fixture = std::make_shared<Fixture>(c);
    current_fixture_key = key;
  }
  return *static_cast<Fixture*>(current_fixture.get());
}

template <typename T, Model M, bool IsCell>
struct CaseFixture {
  using Seqnet = std::conditional_t<IsCell, SeqnetCell<T, M>, SeqnetModule<T, M>>;

  explicit CaseFixture(const Case& c) : seqnet(c) {}

  const Outputs<T>& reference() {
    if (!reference_outputs) reference_outputs = seqnet.outputs();
    return *reference_outputs;
  }

  Seqnet seqnet;
  std::optional<Outputs<T>> reference_outputs;
#if SEQNET_BENCH_HAVE_DNNL
  std::unique_ptr<onednn::Network> onednn;
  double onednn_max_abs_diff = 0.0;
#endif
};

template <typename T, Model M, bool IsCell>
std::string model_label() {
  return std::string(model_name(M)) + (IsCell ? "Cell" : "");
}

template <typename T, Model M, bool IsCell>
std::string fixture_key(const Case& c) {
  return model_label<T, M, IsCell>() + "/" + dtype_name<T>() + "/" + c.label();
}

void set_rate_counters(benchmark::State& state, double flops) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

template <typename T, Model M, bool IsCell>
void time_seqnet(benchmark::State& state, Case c) {
  auto& fixture = fixture_for<CaseFixture<T, M, IsCell>>(fixture_key<T, M, IsCell>(c), c);
  for (auto _ : state) fixture.seqnet.run();
  set_rate_counters(state, c.flops(M));
}

#if SEQNET_BENCH_HAVE_DNNL
template <Model M, bool IsCell>
void time_onednn(benchmark::State& state, Case c) {
  auto& fixture = fixture_for<CaseFixture<float, M, IsCell>>(fixture_key<float, M, IsCell>(c), c);
  if (!fixture.onednn) {
    const auto& s = fixture.seqnet;
    const float* h0 = nullptr;
    const float* c0 = nullptr;
    if constexpr (IsCell) {
      h0 = s.h0().data();
      c0 = M == Model::LSTM ? s.c0().data() : nullptr;
    }
    fixture.onednn = std::make_unique<onednn::Network>(
        M, c, [&s](const std::string& name) { return s.parameter(name); }, s.input().data(), h0, c0);
    fixture.onednn->run();
    const Outputs<float> theirs = fixture.onednn->outputs();
    const Outputs<float>& ours = fixture.reference();
    // A cell step has no sequence output: only h' (and c') are compared.
    double diff = IsCell ? 0.0 : max_abs_diff(ours.output, theirs.output.data(), theirs.output.size());
    diff = std::max(diff, max_abs_diff(ours.h_n, theirs.h_n.data(), theirs.h_n.size()));
    diff = std::max(diff, max_abs_diff(ours.c_n, theirs.c_n.data(), theirs.c_n.size()));
    fixture.onednn_max_abs_diff = diff;
  }
  state.counters["max_abs_diff"] = fixture.onednn_max_abs_diff;
  if (!(fixture.onednn_max_abs_diff <= tolerance<float>())) {
    const std::string message = "oneDNN disagrees with seqnet: max abs diff " + std::to_string(fixture.onednn_max_abs_diff);
    state.SkipWithError(message.c_str());
    return;
  }
  for (auto _ : state) fixture.onednn->run();
  set_rate_counters(state, c.flops(M));
}

void time_onednn_sgemm(benchmark::State& state, Index m, Index n, Index k) {
  onednn::Sgemm gemm(m, n, k);
  if (!gemm.run()) {
    state.SkipWithError("dnnl_sgemm failed");
    return;
  }
  for (auto _ : state) gemm.run();
  set_rate_counters(state, gemm.flops());
}
#endif

template <typename Function>
void add(const std::string& name, Function&& function) {
  benchmark::RegisterBenchmark(name.c_str(), std::forward<Function>(function))->Unit(benchmark::kMicrosecond)->UseRealTime();
}

template <typename T, Model M, bool IsCell>
void register_case(const Case& c) {
  const std::string suffix = model_label<T, M, IsCell>() + "/" + dtype_name<T>() + "/" + c.label();
  add("seqnet/" + suffix, [c](benchmark::State& state) { time_seqnet<T, M, IsCell>(state, c); });
#if SEQNET_BENCH_HAVE_DNNL
  if constexpr (std::is_same_v<T, float>) {
    add("onednn/" + suffix, [c](benchmark::State& state) { time_onednn<M, IsCell>(state, c); });
  }
#endif
}

template <typename T>
void register_dtype() {
  for (const Case& c : module_grid()) {
    if (applies(Model::RNN, c)) register_case<T, Model::RNN, false>(c);
    if (applies(Model::LSTM, c)) register_case<T, Model::LSTM, false>(c);
#if SEQNET_BENCH_HAVE_GRU
    if (applies(Model::GRU, c)) register_case<T, Model::GRU, false>(c);
#endif
  }
  for (const Case& c : cell_grid()) {
    register_case<T, Model::RNN, true>(c);
    register_case<T, Model::LSTM, true>(c);
#if SEQNET_BENCH_HAVE_GRU
    register_case<T, Model::GRU, true>(c);
#endif
  }
}

void register_sgemm() {
#if SEQNET_BENCH_HAVE_DNNL
  struct Shape {
    Index m, n, k;
  };
  // The square reference, then the two products of the large LSTM (25, 128, 1024, 1024): the input
  // projection of all steps at once and one recurrent step.
  for (const Shape& s : {Shape{1024, 1024, 1024}, Shape{25 * 128, 4 * 1024, 1024}, Shape{128, 4 * 1024, 1024}}) {
    add("onednn/sgemm/f32/m" + std::to_string(s.m) + "_n" + std::to_string(s.n) + "_k" + std::to_string(s.k),
        [s](benchmark::State& state) { time_onednn_sgemm(state, s.m, s.n, s.k); });
  }
#endif
}

// ---------------------------------------------------------------------------------------------------
// --seqnet_dump: weights, inputs and seqnet's results for bench_torch.py, one raw little-endian file
// per case plus manifest.json describing every array (name, shape, byte offset).

class DumpWriter {
 public:
  explicit DumpWriter(std::string dir) : dir_(std::move(dir)) {}

  template <typename T, Model M, bool IsCell>
  void write_case(const Case& c) {
    const typename CaseFixture<T, M, IsCell>::Seqnet module(c);
    const std::string name = fixture_key<T, M, IsCell>(c);
    std::string file = name;
    for (char& ch : file) ch = ch == '/' ? '_' : ch;
    file += ".bin";
    std::ofstream out(dir_ + "/" + file, std::ios::binary);
    std::ostringstream arrays;
    std::size_t offset = 0;
    auto put = [&](const std::string& array, const std::vector<Index>& shape, const T* data, Index count) {
      out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(count * static_cast<Index>(sizeof(T))));
      arrays << (offset == 0 ? "" : ",") << "\n      {\"name\": \"" << array << "\", \"shape\": [";
      for (std::size_t i = 0; i < shape.size(); ++i) arrays << (i ? ", " : "") << shape[i];
      arrays << "], \"offset\": " << offset << "}";
      offset += static_cast<std::size_t>(count) * sizeof(T);
    };
    for (const auto& [param, view] : module.named_parameters()) put(param, view.dimensions().dims(), view.data(), view.size());
    auto put_tensor = [&](const std::string& array, const auto& tensor) {
      put(array, seqnet::shape(tensor).dims(), tensor.data(), tensor.size());
    };
    put_tensor("input", module.input());
    const Outputs<T> result = module.outputs();
    const Index state_rows = c.layers * c.directions;
    if constexpr (IsCell) {
      put_tensor("h0", module.h0());
      if (M == Model::LSTM) put_tensor("c0", module.c0());
      put("h_n", {c.batch, c.hidden}, result.h_n.data(), static_cast<Index>(result.h_n.size()));
      if (M == Model::LSTM) put("c_n", {c.batch, c.hidden}, result.c_n.data(), static_cast<Index>(result.c_n.size()));
    } else {
      const Index features = c.directions * c.output_size();
      put("output", c.batch_first ? std::vector<Index>{c.batch, c.seq, features} : std::vector<Index>{c.seq, c.batch, features},
          result.output.data(), static_cast<Index>(result.output.size()));
      put("h_n", {state_rows, c.batch, c.output_size()}, result.h_n.data(), static_cast<Index>(result.h_n.size()));
      if (M == Model::LSTM) {
        put("c_n", {state_rows, c.batch, c.hidden}, result.c_n.data(), static_cast<Index>(result.c_n.size()));
      }
    }
    std::ostringstream entry;
    entry << "    {\"name\": \"" << name << "\", \"model\": \"" << model_label<T, M, IsCell>() << "\", \"dtype\": \""
          << dtype_name<T>() << "\", \"label\": \"" << c.label() << "\", \"cell\": " << (IsCell ? "true" : "false")
          << ", \"seq\": " << c.seq << ", \"batch\": " << c.batch << ", \"input\": " << c.input
          << ", \"hidden\": " << c.hidden << ", \"layers\": " << c.layers << ", \"directions\": " << c.directions
          << ", \"proj_size\": " << c.proj_size << ", \"batch_first\": " << (c.batch_first ? "true" : "false")
          << ", \"flops\": " << static_cast<long long>(c.flops(M)) << ", \"file\": \"" << file << "\", \"arrays\": [" << arrays.str() << "]}";
    entries_.push_back(entry.str());
    std::printf("wrote %s\n", file.c_str());
  }

  bool finish() const {
    std::ofstream manifest(dir_ + "/manifest.json");
    manifest << "{\n  \"seqnet_version\": \"" << SEQNET_VERSION_STRING << "\",\n  \"cases\": [\n";
    for (std::size_t i = 0; i < entries_.size(); ++i) manifest << entries_[i] << (i + 1 < entries_.size() ? ",\n" : "\n");
    manifest << "  ]\n}\n";
    return static_cast<bool>(manifest);
  }

 private:
  std::string dir_;
  std::vector<std::string> entries_;
};

template <typename T>
void dump_dtype(DumpWriter& writer) {
  for (const Case& c : module_grid()) {
    if (applies(Model::RNN, c)) writer.write_case<T, Model::RNN, false>(c);
    if (applies(Model::LSTM, c)) writer.write_case<T, Model::LSTM, false>(c);
#if SEQNET_BENCH_HAVE_GRU
    if (applies(Model::GRU, c)) writer.write_case<T, Model::GRU, false>(c);
#endif
  }
  for (const Case& c : cell_grid()) {
    writer.write_case<T, Model::RNN, true>(c);
    writer.write_case<T, Model::LSTM, true>(c);
#if SEQNET_BENCH_HAVE_GRU
    writer.write_case<T, Model::GRU, true>(c);
#endif
  }
}

/// Removes `--name=value` from argv (before Google Benchmark sees it) and returns the value.
std::optional<std::string> take_flag(int& argc, char** argv, const std::string& name) {
  const std::string prefix = "--" + name + "=";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) {
      std::string value = argv[i] + prefix.size();
      for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
      --argc;
      return value;
    }
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  if (auto threads = take_flag(argc, argv, "seqnet_threads")) requested_threads() = std::max(1, std::atoi(threads->c_str()));
  const int threads = requested_threads();
  const int seqnet_threads = bench_threads_detect::apply(threads);

  if (auto dir = take_flag(argc, argv, "seqnet_dump")) {
    DumpWriter writer(*dir);
    dump_dtype<float>(writer);
    dump_dtype<double>(writer);
    return writer.finish() ? 0 : 1;
  }

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  benchmark::AddCustomContext("seqnet_version", SEQNET_VERSION_STRING);
  benchmark::AddCustomContext("requested_threads", std::to_string(threads));
  benchmark::AddCustomContext("seqnet_threads", std::to_string(seqnet_threads));
  benchmark::AddCustomContext("compiler", SEQNET_BENCH_COMPILER);
  benchmark::AddCustomContext("cxx_flags", SEQNET_BENCH_CXX_FLAGS);
  benchmark::AddCustomContext("eigen_version", std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) +
                                                   "." + std::to_string(EIGEN_MINOR_VERSION));
#if SEQNET_BENCH_HAVE_DNNL
  onednn::set_threads(threads);
  benchmark::AddCustomContext("onednn_version", onednn::version());
  benchmark::AddCustomContext("onednn_threads", std::to_string(onednn::threads()));
#else
  benchmark::AddCustomContext("onednn_version", "absent (built without oneDNN)");
#endif
#if SEQNET_BENCH_HAVE_GRU
  benchmark::AddCustomContext("gru", "present");
#else
  benchmark::AddCustomContext("gru", "absent (seqnet has no GRU yet)");
#endif

  register_sgemm();
  register_dtype<float>();
  register_dtype<double>();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
