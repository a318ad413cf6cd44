// Proves the time-step loop allocates nothing: a forward call must make the same number of heap
// allocations whatever the sequence length. Global operator new is replaced in this binary only.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>

#include <seqnet/seqnet.hpp>

namespace {
std::atomic<long> allocation_count{0};
std::atomic<bool> counting{false};
void count_allocation() {
  if (counting.load(std::memory_order_relaxed)) allocation_count.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

// Eigen allocates its tensors and GEMM packing buffers with std::malloc, std::vector with operator new
// (which calls malloc in libstdc++), so counting at malloc catches both. glibc lets a program interpose
// malloc and reach the real one as __libc_malloc.
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* malloc(std::size_t size) {
  count_allocation();
  return __libc_malloc(size);
}
void* calloc(std::size_t n, std::size_t size) {
  count_allocation();
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t size) {
  count_allocation();
  return __libc_realloc(p, size);
}
}

namespace {

template <typename Fn>
long allocations_during(Fn&& fn) {
  allocation_count = 0;
  counting = true;
  fn();
  counting = false;
  return allocation_count.load();
}

template <typename Module, typename... States>
void require_seq_independent_allocations(const Module& module, seqnet::Index batch, seqnet::Index features, bool batch_first,
                                         const States&... states) {
  auto input = [&](seqnet::Index seq) {
    return batch_first ? seqnet::randn<typename Module::Scalar>(batch, seq, features)
                       : seqnet::randn<typename Module::Scalar>(seq, batch, features);
  };
  const auto short_input = input(3);
  const auto long_input = input(40);
  const long short_count = allocations_during([&] { (void)module(short_input, states...); });
  const long long_count = allocations_during([&] { (void)module(long_input, states...); });
  INFO("allocations for seq 3: " << short_count << ", for seq 40: " << long_count);
  CHECK(short_count > 0);  // the counter works: results and workspaces are allocated per call
  CHECK(short_count == long_count);
}

}  // namespace

TEST_CASE("forward allocates per call, never per time step", "[allocation]") {
  SECTION("tutorial LSTM, 4 layers") {
    seqnet::LSTM<float> lstm(100, 20, 4);
    require_seq_independent_allocations(lstm, 3, 100, false);
  }
  SECTION("batch 1: the matrix-vector path") {
    seqnet::LSTM<float> lstm(seqnet::LSTMOptions(128, 128).proj_size(64).bidirectional(true));
    require_seq_independent_allocations(lstm, 1, 128, false);
  }
  SECTION("large LSTM: Eigen's packed GEMM path") {
    seqnet::LSTM<float> lstm(seqnet::LSTMOptions(256, 256).num_layers(2));
    require_seq_independent_allocations(lstm, 16, 256, false);
  }
  SECTION("bidirectional stacked LSTM with projection, batch_first") {
    seqnet::LSTM<double> lstm(seqnet::LSTMOptions(64, 128).num_layers(2).bidirectional(true).proj_size(48).batch_first(true));
    require_seq_independent_allocations(lstm, 8, 64, true);
  }
  SECTION("RNN relu, bidirectional") {
    seqnet::RNN<float> rnn(seqnet::RNNOptions(100, 200).num_layers(3).bidirectional(true).nonlinearity(seqnet::Nonlinearity::Relu));
    require_seq_independent_allocations(rnn, 5, 100, false);
  }
  SECTION("training-mode dropout") {
    seqnet::RNN<float> rnn(seqnet::RNNOptions(32, 64).num_layers(3).dropout(0.3));
    rnn.train();
    require_seq_independent_allocations(rnn, 4, 32, false);
  }
}
