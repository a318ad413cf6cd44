// SPDX-License-Identifier: MIT
// Conv1d at one thread on typical front-end shapes (fp32), for comparison with PyTorch's CPU convolution
// timed by bench/bench_conv_torch.py on the same shapes:
//   [1, 258, 4] k=3 padding 1 -> 128 channels (an STFT front end's first block)
//   [1, 128, 64] k=3 stride 2 padding 1 -> 64 channels (a strided encoder block)
//   [8, 64, 400] k=5 padding 2 -> 64 channels (a batched keyword-spotting block)
#include <benchmark/benchmark.h>

#include <seqnet/seqnet.hpp>

namespace {

struct Shape1d {
  seqnet::Index batch, in, length, out, kernel, stride, padding;
};

constexpr Shape1d kShapes[] = {
    {1, 258, 4, 128, 3, 1, 1},
    {1, 128, 64, 64, 3, 2, 1},
    {8, 64, 400, 64, 5, 1, 2},
};

void BM_Conv1d(benchmark::State& state) {
  const Shape1d s = kShapes[state.range(0)];
  seqnet::Generator generator(1);
  seqnet::Conv1d<float> conv(
      seqnet::Conv1dOptions(s.in, s.out, s.kernel).stride(s.stride).padding(s.padding), generator);
  seqnet::Tensor<float, 3> x(s.batch, s.in, s.length);
  for (seqnet::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(generator.normal());
  seqnet::Tensor<float, 3> y;
  conv.forward_into(x, y);
  for (auto _ : state) {
    conv.forward_into(x, y);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(seqnet::detail::concat("[", s.batch, ", ", s.in, ", ", s.length, "] k=", s.kernel, " s=", s.stride,
                                        " -> ", s.out));
}

}  // namespace

BENCHMARK(BM_Conv1d)->DenseRange(0, 2)->Unit(benchmark::kMicrosecond);
