// Proves the forward pass allocates nothing in steady state: once a module's cached workspace has
// seen its largest input, a call allocates only the tensors it returns, whatever the sequence length.
// malloc is interposed in this binary only.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <atomic>
#include <type_traits>
#include <utility>
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

/// Number of tensors a forward call returns (each is one heap allocation).
template <typename Module>
constexpr long result_tensors() {
  using T = typename Module::Scalar;
  return std::is_same_v<Module, seqnet::LSTM<T>> ? 3 : 2;
}

/// After one warm-up call on the longest input, the module's cached workspace fits every shorter one:
/// each further call allocates only the tensors it returns, whatever the sequence length.
template <typename Module, typename... Extra>
void require_steady_state_allocations(const Module& module, seqnet::Index batch, seqnet::Index features,
                                      bool batch_first, long bookkeeping, const Extra&... extra) {
  auto input = [&](seqnet::Index seq) {
    return batch_first ? seqnet::randn<typename Module::Scalar>(batch, seq, features)
                       : seqnet::randn<typename Module::Scalar>(seq, batch, features);
  };
  const auto short_input = input(3);
  const auto long_input = input(40);
  const long first_count = allocations_during([&] { (void)module(long_input, extra...); });
  const long long_count = allocations_during([&] { (void)module(long_input, extra...); });
  const long short_count = allocations_during([&] { (void)module(short_input, extra...); });
  const long again_count = allocations_during([&] { (void)module(long_input, extra...); });
  INFO("allocations: first call " << first_count << ", then seq 40: " << long_count << ", seq 3: " << short_count
                                  << ", seq 40 again: " << again_count);
  CHECK(first_count > long_count);  // the counter works: the first call builds the workspace
  CHECK(long_count == result_tensors<Module>() + bookkeeping);
  CHECK(short_count == long_count);
  CHECK(again_count == long_count);
}

}  // namespace

TEST_CASE("a steady-state forward allocates only the tensors it returns", "[allocation]") {
  SECTION("tutorial LSTM, 4 layers") {
    seqnet::LSTM<float> lstm(100, 20, 4);
    require_steady_state_allocations(lstm, 3, 100, false, 0);
  }
  SECTION("batch 1: the matrix-vector path") {
    seqnet::LSTM<float> lstm(seqnet::LSTMOptions(128, 128).proj_size(64).bidirectional(true));
    require_steady_state_allocations(lstm, 1, 128, false, 0);
  }
  SECTION("large LSTM: the packed GEMM path") {
    seqnet::LSTM<float> lstm(seqnet::LSTMOptions(256, 256).num_layers(2));
    require_steady_state_allocations(lstm, 16, 256, false, 0);
  }
  SECTION("bidirectional stacked LSTM with projection, batch_first") {
    seqnet::LSTM<double> lstm(seqnet::LSTMOptions(64, 128).num_layers(2).bidirectional(true).proj_size(48).batch_first(true));
    require_steady_state_allocations(lstm, 8, 64, true, 0);
  }
  SECTION("RNN relu, bidirectional") {
    seqnet::RNN<float> rnn(seqnet::RNNOptions(100, 200).num_layers(3).bidirectional(true).nonlinearity(seqnet::Nonlinearity::Relu));
    require_steady_state_allocations(rnn, 5, 100, false, 0);
  }
  SECTION("GRU, stacked, with h0") {
    seqnet::GRU<float> gru(seqnet::GRUOptions(32, 64).num_layers(2));
    const auto h0 = seqnet::randn<float>(2, 6, 64);
    require_steady_state_allocations(gru, 6, 32, false, 0, h0);
  }
  SECTION("frozen weights: packed once, kept between calls") {
    seqnet::LSTM<float> lstm(seqnet::LSTMOptions(64, 96).num_layers(2).proj_size(32));
    lstm.freeze_weights();
    require_steady_state_allocations(lstm, 8, 64, false, 0);
  }
  SECTION("training-mode dropout") {
    seqnet::RNN<float> rnn(seqnet::RNNOptions(32, 64).num_layers(3).dropout(0.3));
    rnn.train();
    require_steady_state_allocations(rnn, 4, 32, false, 0);
  }
  SECTION("packed sequences in any order: plus the sort order and the per-step batch sizes") {
    seqnet::LSTM<float> lstm(seqnet::LSTMOptions(16, 32).bidirectional(true));
    const seqnet::SequenceLengths lengths = seqnet::SequenceLengths{1, 3, 2}.enforce_sorted(false);
    require_steady_state_allocations(lstm, 3, 16, false, 2, lengths);
  }
}

TEST_CASE("a steady-state cell step allocates only the states it returns", "[allocation]") {
  seqnet::LSTMCell<float> lstm_cell(64, 32);
  seqnet::GRUCell<double> gru_cell(64, 32);
  const auto x = seqnet::randn<float>(8, 64);
  const auto x_double = seqnet::randn<double>(8, 64);
  (void)lstm_cell(x);
  (void)gru_cell(x_double);
  CHECK(allocations_during([&] { (void)lstm_cell(x); }) == 2);
  CHECK(allocations_during([&] { (void)gru_cell(x_double); }) == 1);
  // Frozen, alternating one-row (in place) and several-row (packed) steps.
  lstm_cell.freeze_weights();
  const auto row = seqnet::randn<float>(1, 64);
  (void)lstm_cell(x);
  (void)lstm_cell(row);
  CHECK(allocations_during([&] {
          (void)lstm_cell(row);
          (void)lstm_cell(x);
        }) == 4);
}

TEST_CASE("cell steps shared by two threads allocate only the states they return", "[allocation][threads]") {
  seqnet::set_num_threads(2);
  seqnet::LSTMCell<float> cell(128, 256);
  cell.freeze_weights();
  const auto x = seqnet::randn<float>(32, 128);
  (void)cell(x);
  CHECK(allocations_during([&] { (void)cell(x); }) == 2);
  seqnet::set_num_threads(1);
}

TEST_CASE("a stream's steady-state steps allocate nothing", "[allocation][stream]") {
  seqnet::LSTM<float> lstm(seqnet::LSTMOptions(32, 64).num_layers(2));
  seqnet::Stream stream(lstm, 2);
  const auto x = seqnet::randn<float>(2, 32);
  const auto chunk = seqnet::randn<float>(5, 2, 32);
  seqnet::Tensor<float, 2> y;
  seqnet::Tensor<float, 3> ys;
  stream.step_into(x, y);
  stream.feed_into(chunk, ys);
  CHECK(allocations_during([&] {
          for (int i = 0; i < 10; ++i) stream.step_into(x, y);
          stream.feed_into(chunk, ys);
          stream.step_into(x, y);
        }) == 0);
}
