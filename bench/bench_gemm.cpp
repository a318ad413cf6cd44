// GFLOP/s of seqnet's packed GEMM (detail/packed_gemm.hpp) next to Eigen's GEMM and oneDNN's sgemm on
// the products a recurrent layer runs, one thread:
//   - 1024^3;
//   - recurrent steps: M = batch in {1, 4, 16, 64, 128}, N = 4H, K = H for H in {256, 512, 1024};
//   - input projections of whole sequences: 50x16 rows into 4x256 gates from 256 inputs, 25x128 rows
//     into 4x1024 gates from 1024 inputs.
// Every implementation computes the PyTorch-layout product `C[M, N] = A[M, K] * W[N, K]^T` on row-major
// buffers: seqnet with the weight packed once outside the timed loop and the bias added (what the layer
// needs), Eigen as `C.noalias() += A * W.transpose()` on row-major maps, oneDNN as
// `dnnl_sgemm('N', 'T', ...)` with beta = 0. Names: gemm/<impl>/<dtype>/M/N/K.
//   seqnet_bench_gemm [--benchmark_filter=...] [--benchmark_min_time=0.1]
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include <Eigen/Core>

#include <seqnet/detail/gemm/packed.hpp>

#if defined(SEQNET_BENCH_HAVE_DNNL) && SEQNET_BENCH_HAVE_DNNL
#include <dlfcn.h>

#include <oneapi/dnnl/dnnl.h>
#define SEQNET_GEMM_BENCH_DNNL 1
#else
#define SEQNET_GEMM_BENCH_DNNL 0
#endif

namespace {

using Index = Eigen::Index;
template <typename T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct Operands {
  Index m, n, k;
};

Operands operands(const benchmark::State& state) { return {state.range(0), state.range(1), state.range(2)}; }

void report_rate(benchmark::State& state, const Operands& s) {
  state.counters["GFLOP/s"] = benchmark::Counter(2e-9 * static_cast<double>(s.m * s.n * s.k),
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

template <typename T>
void packed(benchmark::State& state, seqnet::detail::GemmKernel kernel) {
  const Operands s = operands(state);
  if (!seqnet::detail::gemm_kernel_supported(kernel)) {
    state.SkipWithError("kernel not supported on this CPU");
    return;
  }
  const RowMatrix<T> a = RowMatrix<T>::Random(s.m, s.k), w = RowMatrix<T>::Random(s.n, s.k);
  const Eigen::Matrix<T, Eigen::Dynamic, 1> bias = Eigen::Matrix<T, Eigen::Dynamic, 1>::Random(s.n);
  RowMatrix<T> c = RowMatrix<T>::Zero(s.m, s.n);
  const seqnet::detail::PackedWeight<T> weight(w.data(), s.n, s.k, s.k, kernel);
  std::vector<T> workspace(static_cast<std::size_t>(seqnet::detail::packed_linear_workspace_size<T>(s.m, s.k)));
  auto product = [&] {
    seqnet::detail::packed_linear<T>({a.data(), s.m, s.k, s.k}, weight, bias.data(), {c.data(), s.m, s.n, s.n},
                                     workspace.data(), static_cast<Index>(workspace.size()));
  };
  product();  // warm-up: caches and the first touch of every page stay out of the timing
  for (auto _ : state) {
    product();
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(seqnet::detail::gemm_kernel_name(weight.kernel()));
  report_rate(state, s);
}

template <typename T>
void eigen(benchmark::State& state) {
  const Operands s = operands(state);
  const RowMatrix<T> a_data = RowMatrix<T>::Random(s.m, s.k), w_data = RowMatrix<T>::Random(s.n, s.k);
  RowMatrix<T> c_data = RowMatrix<T>::Zero(s.m, s.n);
  const Eigen::Map<const RowMatrix<T>> a(a_data.data(), s.m, s.k), w(w_data.data(), s.n, s.k);
  Eigen::Map<RowMatrix<T>> c(c_data.data(), s.m, s.n);
  c.noalias() += a * w.transpose();  // warm-up
  for (auto _ : state) {
    c.noalias() += a * w.transpose();
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  report_rate(state, s);
}

#if SEQNET_GEMM_BENCH_DNNL
void onednn_sgemm(benchmark::State& state) {
  const Operands s = operands(state);
  const RowMatrix<float> a = RowMatrix<float>::Random(s.m, s.k), w = RowMatrix<float>::Random(s.n, s.k);
  RowMatrix<float> c = RowMatrix<float>::Zero(s.m, s.n);
  auto product = [&] {
    return dnnl_sgemm('N', 'T', s.m, s.n, s.k, 1.0f, a.data(), s.k, w.data(), s.k, 0.0f, c.data(), s.n) == dnnl_success;
  };
  if (!product()) {  // also the warm-up
    state.SkipWithError("dnnl_sgemm failed");
    return;
  }
  for (auto _ : state) {
    product();
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  report_rate(state, s);
}

// Debian's oneDNN runs on OpenMP, whose runtime reads OMP_NUM_THREADS when it is loaded (before main);
// the bench is not built with -fopenmp, so it finds omp_set_num_threads in the libgomp libdnnl loaded.
bool set_onednn_threads(int threads) {
  using SetThreads = void (*)(int);
  auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (set == nullptr) return false;
  set(threads);
  return true;
}
#endif

std::vector<Operands> float_shapes() {
  std::vector<Operands> shapes{{1024, 1024, 1024}};
  for (Index hidden : {256, 512, 1024})
    for (Index batch : {1, 4, 16, 64, 128}) shapes.push_back({batch, 4 * hidden, hidden});
  shapes.push_back({50 * 16, 1024, 256});
  shapes.push_back({25 * 128, 4096, 1024});
  return shapes;
}

void register_all() {
  using seqnet::detail::GemmKernel;
  auto add = [](const std::string& name, auto function, const std::vector<Operands>& shapes) {
    auto* b = benchmark::RegisterBenchmark(name.c_str(), function);
    b->ArgNames({"M", "N", "K"})->Unit(benchmark::kMicrosecond);
    for (const Operands& s : shapes) b->Args({s.m, s.n, s.k});
  };
  const std::vector<Operands> shapes = float_shapes();
  // Interleaved per shape would be nicer to read, but per implementation keeps each one's filter simple.
  add("gemm/seqnet/f32", [](benchmark::State& st) { packed<float>(st, GemmKernel::Auto); }, shapes);
  add("gemm/eigen/f32", eigen<float>, shapes);
#if SEQNET_GEMM_BENCH_DNNL
  add("gemm/onednn/f32", onednn_sgemm, shapes);
#endif
  // The fallback kernels and fp64 on a few shapes, to see what machines without AVX-512 get.
  const std::vector<Operands> few{{1024, 1024, 1024}, {16, 2048, 512}, {1, 1024, 256}};
  add("gemm/seqnet_avx2/f32", [](benchmark::State& st) { packed<float>(st, GemmKernel::Avx2); }, few);
  add("gemm/seqnet_portable/f32", [](benchmark::State& st) { packed<float>(st, GemmKernel::Portable); }, few);
  add("gemm/seqnet/f64", [](benchmark::State& st) { packed<double>(st, GemmKernel::Auto); }, few);
  add("gemm/eigen/f64", eigen<double>, few);

  // Packing cost, paid once per forward call (or once per weight update when cached).
  auto* pack = benchmark::RegisterBenchmark("gemm/seqnet_pack/f32", [](benchmark::State& state) {
    const Index n = state.range(0), k = state.range(1);
    const RowMatrix<float> w = RowMatrix<float>::Random(n, k);
    seqnet::detail::PackedWeight<float> weight(w.data(), n, k, k);
    for (auto _ : state) {
      weight.pack(w.data(), n, k, k);
      benchmark::DoNotOptimize(weight.data());
      benchmark::ClobberMemory();
    }
    state.counters["GB/s"] = benchmark::Counter(1e-9 * static_cast<double>(n * k * sizeof(float)),
                                                benchmark::Counter::kIsIterationInvariantRate);
  });
  pack->ArgNames({"N", "K"})->Unit(benchmark::kMicrosecond)->Args({1024, 256})->Args({4096, 1024});
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::AddCustomContext("seqnet_gemm_kernel",
                              seqnet::detail::gemm_kernel_name(seqnet::detail::best_gemm_kernel()));
  benchmark::AddCustomContext("threads", "1");
#if SEQNET_GEMM_BENCH_DNNL
  benchmark::AddCustomContext("onednn_threads", set_onednn_threads(1) ? "1" : "oneDNN default (no OpenMP found)");
#endif
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
