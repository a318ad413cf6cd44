// The packed GEMM (detail/packed_gemm.hpp) against a double-precision reference: every compiled kernel
// the CPU supports, fp32 and fp64, edge tiles, strided rows, bias, accumulation, repacking.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include <seqnet/detail/gemm/packed.hpp>

namespace {

using seqnet::detail::ConstRowsView;
using seqnet::detail::GemmKernel;
using seqnet::detail::PackedWeight;
using seqnet::detail::RowsView;
using Index = Eigen::Index;

constexpr GemmKernel all_kernels[] = {GemmKernel::Portable, GemmKernel::Avx2, GemmKernel::Avx512};

/// Kernels to test: the ones this build has and this CPU runs (the rest are reported, not failed).
std::vector<GemmKernel> testable_kernels() {
  std::vector<GemmKernel> kernels;
  for (GemmKernel kernel : all_kernels) {
    if (seqnet::detail::gemm_kernel_supported(kernel)) {
      kernels.push_back(kernel);
    } else {
      WARN("GEMM kernel " << seqnet::detail::gemm_kernel_name(kernel) << " not available here; not tested");
    }
  }
  return kernels;
}

struct Shape {
  Index rows, cols, depth;  // M, N, K
};

struct Options {
  Index input_pad = 0;   // extra elements between input rows
  Index output_pad = 0;  // extra elements between output rows (must stay untouched)
  bool bias = true;
  bool accumulate = false;
  Index workspace_offset = 0;  // misaligns the workspace pointer
};

template <typename T>
std::vector<T> random_values(std::mt19937& rng, Index count) {
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::vector<T> values(static_cast<std::size_t>(count));
  for (T& v : values) v = static_cast<T>(uniform(rng));
  return values;
}

/// Runs one product with `kernel` and compares every output element with a double reference. The
/// tolerance scales with sqrt(K) and with the magnitudes summed, as rounding errors of a dot product do.
template <typename T>
void check_product(GemmKernel kernel, Shape shape, Options options, std::mt19937& rng) {
  const Index M = shape.rows, N = shape.cols, K = shape.depth;
  const Index in_stride = K + options.input_pad, out_stride = N + options.output_pad;
  INFO("kernel " << seqnet::detail::gemm_kernel_name(kernel) << " M=" << M << " N=" << N << " K=" << K
                 << " in_stride=" << in_stride << " out_stride=" << out_stride << " bias=" << options.bias
                 << " accumulate=" << options.accumulate << " fp" << 8 * sizeof(T));
  const std::vector<T> input = random_values<T>(rng, M * in_stride);
  const Index weight_stride = K + 3;  // the weight may be strided too
  const std::vector<T> weight = random_values<T>(rng, N * weight_stride);
  const std::vector<T> bias = random_values<T>(rng, N);
  const T sentinel = T(12345);
  std::vector<T> output = random_values<T>(rng, M * out_stride);
  for (Index r = 0; r < M; ++r)
    for (Index c = N; c < out_stride; ++c) output[static_cast<std::size_t>(r * out_stride + c)] = sentinel;
  const std::vector<T> initial = output;

  const PackedWeight<T> packed(weight.data(), N, K, weight_stride, kernel);
  REQUIRE(packed.kernel() == kernel);
  std::vector<T> workspace(
      static_cast<std::size_t>(seqnet::detail::packed_linear_workspace_size<T>(M, K) + options.workspace_offset));
  seqnet::detail::packed_linear<T>(ConstRowsView<T>{input.data(), M, K, in_stride}, packed,
                                   options.bias ? bias.data() : nullptr, RowsView<T>{output.data(), M, N, out_stride},
                                   workspace.data() + options.workspace_offset,
                                   static_cast<Index>(workspace.size()) - options.workspace_offset, options.accumulate);

  const double relative = sizeof(T) == 4 ? 1e-5 : 1e-13;
  Index failures = 0;
  for (Index r = 0; r < M; ++r) {
    for (Index c = 0; c < N; ++c) {
      const auto at = static_cast<std::size_t>(r * out_stride + c);
      double sum = 0.0, magnitude = 0.0;
      for (Index k = 0; k < K; ++k) {
        const double term = static_cast<double>(input[static_cast<std::size_t>(r * in_stride + k)]) *
                            static_cast<double>(weight[static_cast<std::size_t>(c * weight_stride + k)]);
        sum += term;
        magnitude += std::abs(term);
      }
      if (options.bias) {
        sum += bias[static_cast<std::size_t>(c)];
        magnitude += std::abs(static_cast<double>(bias[static_cast<std::size_t>(c)]));
      }
      if (options.accumulate) {
        sum += initial[at];
        magnitude += std::abs(static_cast<double>(initial[at]));
      }
      const double error = std::abs(static_cast<double>(output[at]) - sum);
      const double tolerance = relative * std::sqrt(static_cast<double>(K + 1)) * (magnitude + 1e-30);
      if (!(error <= tolerance) && failures++ < 5) {
        CHECK(error <= tolerance);
        INFO("at row " << r << " col " << c << ": got " << output[at] << ", expected " << sum);
      }
    }
    for (Index c = N; c < out_stride; ++c)
      if (output[static_cast<std::size_t>(r * out_stride + c)] != sentinel && failures++ < 5)
        FAIL_CHECK("wrote past the row end at row " << r << " col " << c);
  }
  CHECK(failures == 0);
}

// Register tiles are 4-6 rows by 8-64 columns, row blocks 64-144, depth blocks 256-384 (split into
// equal slices): sizes on both sides of each boundary, for every kernel.
const Index edge_rows[] = {1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 63, 64, 65, 95, 96, 97, 143, 144, 145, 193, 289};
const Index edge_cols[] = {1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 80, 127, 128, 129};
const Index edge_depths[] = {1, 2, 3, 7, 8, 15, 16, 17, 255, 256, 257, 383, 384, 385, 513, 769};

}  // namespace

TEMPLATE_TEST_CASE("packed_linear matches a double reference on edge-sized shapes", "[packed_gemm]", float, double) {
  std::mt19937 rng(42);
  for (GemmKernel kernel : testable_kernels()) {
    for (Index rows : edge_rows) check_product<TestType>(kernel, {rows, 33, 19}, {}, rng);
    for (Index cols : edge_cols) check_product<TestType>(kernel, {7, cols, 21}, {}, rng);
    for (Index depth : edge_depths) check_product<TestType>(kernel, {13, 70, depth}, {}, rng);
    check_product<TestType>(kernel, {1, 1, 1}, {}, rng);
    check_product<TestType>(kernel, {97, 129, 257}, {}, rng);   // crosses block edges at once
    check_product<TestType>(kernel, {145, 65, 385}, {}, rng);
    check_product<TestType>(kernel, {1, 1024, 300}, {}, rng);  // batch-1 GEMV
  }
}

TEMPLATE_TEST_CASE("packed_linear on random shapes with strides, bias and accumulation", "[packed_gemm]", float,
                   double) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<Index> rows(1, 130), cols(1, 200), depth(1, 300), pad(0, 9), coin(0, 1);
  for (GemmKernel kernel : testable_kernels()) {
    for (int trial = 0; trial < 25; ++trial) {
      Options options;
      options.input_pad = pad(rng);
      options.output_pad = pad(rng);
      options.bias = coin(rng) == 1;
      options.accumulate = coin(rng) == 1;
      options.workspace_offset = coin(rng);
      check_product<TestType>(kernel, {rows(rng), cols(rng), depth(rng)}, options, rng);
    }
  }
}

TEMPLATE_TEST_CASE("packed_linear bias and accumulate combinations", "[packed_gemm]", float, double) {
  std::mt19937 rng(3);
  for (GemmKernel kernel : testable_kernels()) {
    for (bool bias : {false, true}) {
      for (bool accumulate : {false, true}) {
        Options options;
        options.bias = bias;
        options.accumulate = accumulate;
        options.output_pad = 5;
        // Depth 600 spans three depth blocks: later blocks add to what the first one wrote.
        check_product<TestType>(kernel, {10, 70, 600}, options, rng);
        check_product<TestType>(kernel, {1, 17, 5}, options, rng);
      }
    }
  }
}

TEMPLATE_TEST_CASE("packed_linear degenerate sizes", "[packed_gemm]", float, double) {
  using T = TestType;
  const std::vector<T> bias{T(1), T(2), T(3)};
  for (GemmKernel kernel : testable_kernels()) {
    INFO("kernel " << seqnet::detail::gemm_kernel_name(kernel));
    std::vector<T> workspace(static_cast<std::size_t>(seqnet::detail::packed_linear_workspace_size<T>(2, 0)));
    // K = 0: the product is empty, the output is the bias (or, accumulating, output + bias).
    const PackedWeight<T> empty_depth(nullptr, 3, 0, 0, kernel);
    std::vector<T> out(6, T(10));
    seqnet::detail::packed_linear<T>(ConstRowsView<T>{nullptr, 2, 0, 0}, empty_depth, bias.data(),
                                     RowsView<T>{out.data(), 2, 3, 3}, workspace.data(),
                                     static_cast<Index>(workspace.size()));
    CHECK(out == std::vector<T>{1, 2, 3, 1, 2, 3});
    seqnet::detail::packed_linear<T>(ConstRowsView<T>{nullptr, 2, 0, 0}, empty_depth, bias.data(),
                                     RowsView<T>{out.data(), 2, 3, 3}, workspace.data(),
                                     static_cast<Index>(workspace.size()), true);
    CHECK(out == std::vector<T>{2, 4, 6, 2, 4, 6});
    seqnet::detail::packed_linear<T>(ConstRowsView<T>{nullptr, 2, 0, 0}, empty_depth, nullptr,
                                     RowsView<T>{out.data(), 2, 3, 3}, workspace.data(),
                                     static_cast<Index>(workspace.size()));
    CHECK(out == std::vector<T>{0, 0, 0, 0, 0, 0});
    // M = 0 and N = 0 touch nothing.
    const std::vector<T> weight(12, T(1));
    const PackedWeight<T> packed(weight.data(), 3, 4, 4, kernel);
    seqnet::detail::packed_linear<T>(ConstRowsView<T>{nullptr, 0, 4, 4}, packed, bias.data(),
                                     RowsView<T>{nullptr, 0, 3, 3}, nullptr, 0);
    const PackedWeight<T> no_outputs(weight.data(), 0, 4, 4, kernel);
    seqnet::detail::packed_linear<T>(ConstRowsView<T>{weight.data(), 2, 4, 4}, no_outputs, nullptr,
                                     RowsView<T>{nullptr, 2, 0, 0}, nullptr, 0);
  }
}

TEMPLATE_TEST_CASE("PackedWeight repacks in place, copies, and checks its inputs", "[packed_gemm]", float, double) {
  using T = TestType;
  std::mt19937 rng(11);
  const Index M = 5, N = 70, K = 33;
  for (GemmKernel kernel : testable_kernels()) {
    INFO("kernel " << seqnet::detail::gemm_kernel_name(kernel));
    const std::vector<T> input = random_values<T>(rng, M * K);
    std::vector<T> first = random_values<T>(rng, N * K), second = random_values<T>(rng, N * K);
    std::vector<T> workspace(static_cast<std::size_t>(seqnet::detail::packed_linear_workspace_size<T>(M, K)));
    auto product = [&](const PackedWeight<T>& weight) {
      std::vector<T> out(static_cast<std::size_t>(M * N));
      seqnet::detail::packed_linear<T>(ConstRowsView<T>{input.data(), M, K, K}, weight, nullptr,
                                       RowsView<T>{out.data(), M, N, N}, workspace.data(),
                                       static_cast<Index>(workspace.size()));
      return out;
    };

    PackedWeight<T> weight(first.data(), N, K, K, kernel);
    const std::vector<T> from_first = product(weight);
    const T* storage = weight.data();
    weight.pack(second.data(), N, K, K);
    CHECK(weight.data() == storage);  // same shape: no reallocation
    const std::vector<T> from_second = product(weight);
    CHECK(from_second == product(PackedWeight<T>(second.data(), N, K, K, kernel)));
    CHECK(from_second != from_first);

    const PackedWeight<T> copy = weight;
    CHECK(copy.data() != weight.data());
    CHECK(product(copy) == from_second);
    PackedWeight<T> assigned(kernel);
    assigned = copy;
    CHECK(product(assigned) == from_second);

    // A smaller shape also fits the existing storage.
    weight.pack(first.data(), N - 10, K, K);
    CHECK(weight.data() == storage);
    CHECK(weight.out_features() == N - 10);

    std::vector<T> out(static_cast<std::size_t>(M * N));
    // A product checks the workspace against what its own kernel needs (packed_linear_workspace_size
    // bounds every kernel's need).
    CHECK(copy.workspace_elements(M) <= static_cast<Index>(workspace.size()));
    CHECK_THROWS_AS(seqnet::detail::packed_linear<T>(ConstRowsView<T>{input.data(), M, K, K}, copy, nullptr,
                                                     RowsView<T>{out.data(), M, N, N}, workspace.data(),
                                                     copy.workspace_elements(M) - 1),
                    std::invalid_argument);
    CHECK_THROWS_AS(seqnet::detail::packed_linear<T>(ConstRowsView<T>{input.data(), M, K - 1, K}, copy, nullptr,
                                                     RowsView<T>{out.data(), M, N, N}, workspace.data(),
                                                     static_cast<Index>(workspace.size())),
                    std::invalid_argument);
    CHECK_THROWS_AS(PackedWeight<T>(first.data(), N, K, K - 1, kernel), std::invalid_argument);
  }
}

TEST_CASE("packed GEMM kernel selection", "[packed_gemm]") {
  const GemmKernel best = seqnet::detail::best_gemm_kernel();
  CHECK(best != GemmKernel::Auto);
  CHECK(seqnet::detail::gemm_kernel_supported(best));
  CHECK(PackedWeight<float>().kernel() == best);
  CHECK(PackedWeight<double>(GemmKernel::Auto).kernel() == best);
  for (GemmKernel kernel : all_kernels) {
    if (!seqnet::detail::gemm_kernel_supported(kernel)) {
      CHECK_THROWS_AS(PackedWeight<float>(kernel), std::invalid_argument);
    }
  }
#if SEQNET_GEMM_HAVE_X86_KERNELS && defined(__GNUC__)
  // On x86 with GCC or clang the SIMD kernels are compiled in whatever the -march flags: the CPU decides.
  if (__builtin_cpu_supports("avx512f")) CHECK(best == GemmKernel::Avx512);
#endif
}

TEST_CASE("packed_linear accepts Eigen row-major maps with an outer stride", "[packed_gemm]") {
  using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const RowMatrix input = RowMatrix::Random(6, 40), weight = RowMatrix::Random(24, 30);
  RowMatrix output = RowMatrix::Zero(3, 50);
  // Rows 0, 2, 4 and columns 0..29 of the input; columns 10..33 of the output.
  const Eigen::Map<const RowMatrix, Eigen::Unaligned, Eigen::OuterStride<>> in(input.data(), 3, 30,
                                                                                Eigen::OuterStride<>(80));
  Eigen::Map<RowMatrix, Eigen::Unaligned, Eigen::OuterStride<>> out(output.data() + 10, 3, 24, Eigen::OuterStride<>(50));
  const seqnet::detail::PackedWeight<float> packed(weight.data(), 24, 30, 30);
  std::vector<float> workspace(static_cast<std::size_t>(seqnet::detail::packed_linear_workspace_size<float>(3, 30)));
  seqnet::detail::packed_linear<float>(in, packed, nullptr, out, workspace.data(), static_cast<Index>(workspace.size()));
  const RowMatrix expected = in * weight.transpose();
  CHECK((out - expected).cwiseAbs().maxCoeff() < 1e-4f);
  CHECK(output.leftCols(10).isZero());
  CHECK(output.rightCols(16).isZero());
}

TEMPLATE_TEST_CASE("packed_linear_panels: disjoint panel ranges compose the whole product", "[packed_gemm]", float,
                   double) {
  using T = TestType;
  std::mt19937 rng(5);
  const Index M = 9, N = 150, K = 40, out_stride = N + 2;
  for (GemmKernel kernel : testable_kernels()) {
    INFO("kernel " << seqnet::detail::gemm_kernel_name(kernel));
    const std::vector<T> input = random_values<T>(rng, M * K), weight = random_values<T>(rng, N * K),
                         bias = random_values<T>(rng, N);
    const PackedWeight<T> packed(weight.data(), N, K, K, kernel);
    std::vector<T> workspace(static_cast<std::size_t>(seqnet::detail::packed_linear_workspace_size<T>(M, K)));
    const auto workspace_size = static_cast<Index>(workspace.size());
    std::vector<T> whole(static_cast<std::size_t>(M * out_stride), T(0)), split = whole;
    seqnet::detail::packed_linear<T>(ConstRowsView<T>{input.data(), M, K, K}, packed, bias.data(),
                                     RowsView<T>{whole.data(), M, N, out_stride}, workspace.data(), workspace_size);
    const Index panels = packed.panel_count();
    REQUIRE(panels == (N + packed.panel_width() - 1) / packed.panel_width());
    for (Index begin = 0; begin < panels; begin += 2) {  // two panels per "thread"
      seqnet::detail::packed_linear_panels<T>(ConstRowsView<T>{input.data(), M, K, K}, packed, bias.data(),
                                              RowsView<T>{split.data(), M, N, out_stride}, workspace.data(),
                                              workspace_size, false, begin, std::min(panels, begin + 2));
    }
    CHECK(split == whole);
    CHECK_THROWS_AS(seqnet::detail::packed_linear_panels<T>(ConstRowsView<T>{input.data(), M, K, K}, packed, nullptr,
                                                            RowsView<T>{split.data(), M, N, out_stride},
                                                            workspace.data(), workspace_size, false, 0, panels + 1),
                    std::invalid_argument);
  }
}

TEST_CASE("GEMM kernels are keyed by instruction set and element types", "[packed_gemm]") {
  using seqnet::Dtype;
  using seqnet::detail::gemm_key;
  using seqnet::detail::gemm_tile;
  using seqnet::detail::GemmKernelImpl;
  using seqnet::detail::GemmKey;
  using seqnet::detail::GemmTypes;
  STATIC_REQUIRE(seqnet::dtype_of<float>() == Dtype::F32);
  STATIC_REQUIRE(seqnet::dtype_of<const double>() == Dtype::F64);
  STATIC_REQUIRE(seqnet::dtype_size(Dtype::BF16) == 2);
  constexpr GemmKey f32 = gemm_key<GemmTypes<float>>(GemmKernel::Avx512);
  STATIC_REQUIRE(f32.input == Dtype::F32);
  STATIC_REQUIRE(f32.weight == Dtype::F32);
  STATIC_REQUIRE(f32.accumulator == Dtype::F32);
  STATIC_REQUIRE(gemm_key<GemmTypes<std::uint8_t, std::int8_t, std::int32_t>>(GemmKernel::Avx512).weight == Dtype::I8);
  // Every same-type float/double key has a tile and a kernel; mixed keys have neither until a kernel
  // file brings one.
  for (GemmKernel kernel : all_kernels) {
    CHECK(gemm_tile(gemm_key<GemmTypes<float>>(kernel)).exists());
    CHECK(gemm_tile(gemm_key<GemmTypes<double>>(kernel)).exists());
    CHECK_FALSE(gemm_tile(gemm_key<GemmTypes<std::uint16_t, std::uint16_t, float>>(kernel)).exists());
  }
  STATIC_REQUIRE(GemmKernelImpl<GemmKernel::Portable, GemmTypes<float>>::available);
  STATIC_REQUIRE(GemmKernelImpl<GemmKernel::Portable, GemmTypes<double>>::available);
  STATIC_REQUIRE_FALSE(GemmKernelImpl<GemmKernel::Portable, GemmTypes<std::uint16_t, std::uint16_t, float>>::available);
  STATIC_REQUIRE_FALSE(GemmKernelImpl<GemmKernel::Portable, GemmTypes<float, float, double>>::available);
}

TEST_CASE("the GEMM row block follows the L2 the CPU reports", "[packed_gemm]") {
  using seqnet::detail::gemm_key;
  using seqnet::detail::gemm_row_block;
  using seqnet::detail::gemm_tile;
  using seqnet::detail::GemmTypes;
  const auto avx512_f32 = gemm_key<GemmTypes<float>>(GemmKernel::Avx512);
  // The caches of the Zen 5 core the AVX-512 tiles were tuned on (48 KiB L1, 1 MiB L2) give the row blocks
  // tuned there, fp32 and fp64; a 2 MiB L2 alone would allow more, but the output rows must stay in L1.
  const auto avx512_f64 = gemm_key<GemmTypes<double>>(GemmKernel::Avx512);
  CHECK(gemm_row_block(avx512_f32, Index(48) << 10, Index(1) << 20) == 144);
  CHECK(gemm_row_block(avx512_f64, Index(48) << 10, Index(1) << 20) == 144);
  CHECK(gemm_row_block(avx512_f32, Index(48) << 10, Index(2) << 20) == 144);
  CHECK(gemm_row_block(avx512_f32, Index(96) << 10, Index(2) << 20) == 282);
  CHECK(gemm_row_block(avx512_f32, Index(48) << 10, Index(256) << 10) == 48);
  for (GemmKernel kernel : all_kernels) {
    for (const auto key : {gemm_key<GemmTypes<float>>(kernel), gemm_key<GemmTypes<double>>(kernel)}) {
      const Index MR = gemm_tile(key).rows;
      Index previous = 0;
      for (Index l2 : {Index(0), Index(64) << 10, Index(256) << 10, Index(1) << 20, Index(2) << 20, Index(32) << 20,
                       Index(1) << 40}) {
        const Index mc = gemm_row_block(key, Index(48) << 10, l2);
        INFO("kernel " << seqnet::detail::gemm_kernel_name(kernel) << " L2 " << l2 << " MC " << mc);
        CHECK(mc % MR == 0);
        CHECK(mc >= 8 * MR);
        CHECK(mc <= 512);
        CHECK(mc >= previous);  // a larger cache never gets a smaller block
        previous = mc;
      }
    }
  }
  const seqnet::detail::CacheSizes& caches = seqnet::detail::cpu_cache_sizes();
  CHECK(caches.l1d > 0);
  CHECK(caches.l2 > 0);
  CHECK(&caches == &seqnet::detail::cpu_cache_sizes());  // read once
}

TEMPLATE_TEST_CASE("GEMM results do not depend on the row block", "[packed_gemm]", float, double) {
  // The row block is derived from the machine's L2, so it must never change a result: every block size
  // gives the same bits, as do different threads' row ranges.
  using seqnet::detail::GemmKernelImpl;
  using seqnet::detail::GemmTypes;
  std::mt19937 rng(7);
  const Index M = 301, N = 70, K = 1300;  // several row blocks, a ragged tile, three depth groups
  const std::vector<TestType> input = random_values<TestType>(rng, M * K);
  const std::vector<TestType> weight = random_values<TestType>(rng, N * K);
  const std::vector<TestType> bias = random_values<TestType>(rng, N);
  for (GemmKernel kernel : testable_kernels()) {
    PackedWeight<TestType> packed(weight.data(), N, K, K, kernel);
    std::vector<TestType> workspace(static_cast<std::size_t>(512 * 1152 + 64));
    std::vector<TestType> reference;
    for (Index row_block : {Index(48), Index(144), Index(288), Index(504)}) {  // multiples of every MR
      std::vector<TestType> out(static_cast<std::size_t>(M * N), TestType(-7));
      void* aligned = workspace.data();
      std::size_t space = workspace.size() * sizeof(TestType);
      std::align(64, sizeof(TestType), aligned, space);
      const seqnet::detail::GemmProblem<TestType> problem{
          input.data(), K, M, K, packed.data(), N, 0, packed.panel_count(), out.data(), N, bias.data(), false,
          static_cast<TestType*>(aligned), row_block};
      seqnet::detail::with_gemm_kernel<GemmTypes<TestType>>(kernel, [&](auto impl) { decltype(impl)::gemm(problem); });
      INFO("kernel " << seqnet::detail::gemm_kernel_name(kernel) << " row block " << row_block);
      if (reference.empty()) {
        reference = out;
      } else {
        CHECK(out == reference);
      }
    }
  }
}
