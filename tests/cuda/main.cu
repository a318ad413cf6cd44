// GPU tests: skipped (ctest SKIP_RETURN_CODE 77) when no CUDA device is usable, so a machine without a
// GPU still compiles every kernel and reports these tests as skipped rather than passed.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>

#include <seqnet/cuda.hpp>

int main(int argc, char** argv) {
  if (!seqnet::cuda::is_available()) {
    std::puts("no CUDA device: GPU tests skipped");
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
