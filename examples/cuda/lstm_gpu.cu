// The tutorial's stacked bidirectional LSTM on the GPU: built from the CPU module, run on device
// tensors, and compared with the CPU. Exits 77 (reported as skipped by ctest) without a CUDA device.
#include <seqnet/cuda.hpp>

#include <algorithm>
#include <cmath>
#include <iostream>

int main() {
  if (!seqnet::cuda::is_available()) {
    std::cout << "no CUDA device: skipped\n";
    return 77;
  }
  seqnet::manual_seed(1);
  seqnet::LSTM<float> cpu(seqnet::LSTMOptions(100, 20).num_layers(2).bidirectional(true));
  cpu.eval();
  seqnet::cuda::LSTM<float> gpu(cpu);  // copies the parameters to the device
  std::cout << gpu.repr() << "\n";

  const auto x = seqnet::randn<float>(10, 3, 100);
  const auto h0 = seqnet::zeros<float>(4, 3, 20), c0 = seqnet::zeros<float>(4, 3, 20);
  const cudaStream_t stream = gpu.stream();
  auto [out, hc] = gpu(seqnet::cuda::to_device(x, stream), seqnet::cuda::to_device(h0, stream),
                       seqnet::cuda::to_device(c0, stream));
  std::cout << out.shape() << " " << hc.first.shape() << " " << hc.second.shape() << "\n";

  const auto out_host = out.to_host(stream);  // waits for the stream
  auto [expected, expected_hc] = cpu(x, {h0, c0});
  float worst = 0;
  for (seqnet::Index i = 0; i < out_host.size(); ++i)
    worst = std::max(worst, std::abs(out_host.data()[i] - expected.data()[i]));
  std::cout << "max |GPU - CPU| = " << worst << (worst < 1e-5f ? " (ok)" : " (MISMATCH)") << "\n";
  return worst < 1e-5f ? 0 : 1;
}
