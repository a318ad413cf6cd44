// An installed seqnet::cuda consumer: compiles the GPU modules; runs one when a device is there.
#include <seqnet/cuda.hpp>

#include <iostream>

int main() {
  seqnet::LSTM<float> cpu(seqnet::LSTMOptions(4, 8));
  if (!seqnet::cuda::is_available()) {
    std::cout << "seqnet::cuda consumer built; no CUDA device to run on\n";
    return 0;
  }
  seqnet::cuda::LSTM<float> gpu(cpu);
  auto [out, hc] = gpu(seqnet::cuda::to_device(seqnet::rand<float>(3, 2, 4), gpu.stream()));
  return out.to_host(gpu.stream()).size() == 3 * 2 * 8 ? 0 : 1;
}
