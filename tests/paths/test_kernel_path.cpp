// Which kernels a build runs: compiled into seqnet_portable_tests and seqnet_avx2_tests so that their
// golden runs are known to exercise the path they are named after, not silently the best one the CPU has.
#include <catch2/catch.hpp>

#include <seqnet/detail/math/cpu_gates.hpp>
#include <seqnet/seqnet.hpp>

TEST_CASE("this test binary runs the GEMM kernel and gate code it is built for", "[paths]") {
  using seqnet::detail::GemmKernel;
  const GemmKernel best = seqnet::detail::best_gemm_kernel();
  INFO("best_gemm_kernel: " << seqnet::detail::gemm_kernel_name(best));
  // One tanh-RNN gate row: the fused kernels take it, the Eigen path declines.
  float gx[1] = {0.5f}, gh[1] = {0.25f}, h[1] = {};
  const seqnet::detail::GateRows rows{1, 1, gx, 1, gh, 1, nullptr, 1, nullptr, 1, h, 1};
#if defined(SEQNET_GEMM_PORTABLE_ONLY)
  CHECK(best == GemmKernel::Portable);
  CHECK_FALSE(seqnet::detail::gemm_kernel_supported(GemmKernel::Avx2));
  CHECK_FALSE(seqnet::detail::gemm_kernel_supported(GemmKernel::Avx512));
#elif defined(SEQNET_GEMM_NO_AVX512)
  if (!seqnet::detail::gemm_kernel_supported(GemmKernel::Avx2)) {
    WARN("this CPU has no AVX2 + FMA: the AVX2 path cannot run here");
    CHECK(best == GemmKernel::Portable);
    return;
  }
  CHECK(best == GemmKernel::Avx2);
#else
#error "built for no particular kernel path"
#endif
#if defined(SEQNET_EIGEN_GATES) || defined(SEQNET_GEMM_PORTABLE_ONLY)
  CHECK_FALSE(seqnet::detail::simd_gates(seqnet::detail::CellKind::RNN, rows));
#else
  CHECK(seqnet::detail::simd_gates(seqnet::detail::CellKind::RNN, rows));
#endif
}
