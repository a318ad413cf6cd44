// Threads: results are bitwise identical whatever seqnet::set_num_threads says, on the paths that split
// work (concurrent directions, column-split products, row-split gates, packed batches, projections).
#include <catch2/catch.hpp>

#include <seqnet/seqnet.hpp>

#include "tensor_compare.hpp"

namespace {

using seqnet::Tensor;

/// Restores one thread when a test ends, passed or not.
struct ThreadSetting {
  explicit ThreadSetting(int threads) { seqnet::set_num_threads(threads); }
  ~ThreadSetting() { seqnet::set_num_threads(1); }
};

template <typename Module, typename... Args>
auto run_with_threads(int threads, const Module& module, const Args&... args) {
  ThreadSetting setting(threads);
  return module(args...);
}

}  // namespace

TEMPLATE_TEST_CASE("results are bitwise identical for 1, 2 and 3 threads", "[threads]", float, double) {
  using T = TestType;
  seqnet::Generator generator(9);
  // Big enough that each path really splits (see step_threads and forward_layers).
  seqnet::LSTM<T> lstm(seqnet::LSTMOptions(48, 96).num_layers(2), generator);
  seqnet::LSTM<T> bidirectional(seqnet::LSTMOptions(48, 96).num_layers(2).bidirectional(true).proj_size(40), generator);
  seqnet::GRU<T> gru(seqnet::GRUOptions(48, 96).batch_first(true), generator);
  seqnet::RNN<T> rnn(seqnet::RNNOptions(48, 160), generator);
  const Tensor<T, 3> x = seqnet::randn<T>(12, 24, 48);
  const seqnet::SequenceLengths lengths = seqnet::SequenceLengths(std::vector<seqnet::Index>{
      12, 3, 7, 12, 1, 5, 9, 2, 12, 11, 4, 6, 8, 10, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9}).enforce_sorted(false);

  const auto lstm_1 = run_with_threads(1, lstm, x);
  const auto bidirectional_1 = run_with_threads(1, bidirectional, x);
  const auto gru_1 = run_with_threads(1, gru, x);
  const auto rnn_1 = run_with_threads(1, rnn, x);
  const long serial_before = seqnet::detail::ThreadPool::instance().parallel_regions();
  const auto packed_1 = run_with_threads(1, lstm, x, lengths);
  CHECK(seqnet::detail::ThreadPool::instance().parallel_regions() == serial_before);
  const long parallel_before = seqnet::detail::ThreadPool::instance().parallel_regions();
  for (int threads : {2, 3}) {
    INFO(threads << " threads");
    const auto lstm_n = run_with_threads(threads, lstm, x);
    CHECK(seqnet_test::identical(lstm_n.first, lstm_1.first));
    CHECK(seqnet_test::identical(lstm_n.second.first, lstm_1.second.first));
    CHECK(seqnet_test::identical(lstm_n.second.second, lstm_1.second.second));
    const auto bidirectional_n = run_with_threads(threads, bidirectional, x);
    CHECK(seqnet_test::identical(bidirectional_n.first, bidirectional_1.first));
    CHECK(seqnet_test::identical(bidirectional_n.second.first, bidirectional_1.second.first));
    const auto gru_n = run_with_threads(threads, gru, x);
    CHECK(seqnet_test::identical(gru_n.first, gru_1.first));
    CHECK(seqnet_test::identical(gru_n.second, gru_1.second));
    const auto rnn_n = run_with_threads(threads, rnn, x);
    CHECK(seqnet_test::identical(rnn_n.first, rnn_1.first));
    const auto packed_n = run_with_threads(threads, lstm, x, lengths);
    CHECK(seqnet_test::identical(packed_n.first, packed_1.first));
    CHECK(seqnet_test::identical(packed_n.second.second, packed_1.second.second));
  }
  // The comparisons above mean something only if the work really was shared: 5 modules x 2 thread counts,
  // each with at least one parallel region per layer.
  CHECK(seqnet::detail::ThreadPool::instance().parallel_regions() - parallel_before >= 10);
}

TEMPLATE_TEST_CASE("cell steps and frozen modules are bitwise identical for 1, 2 and 3 threads", "[threads]", float,
                   double) {
  using T = TestType;
  seqnet::Generator generator(10);
  seqnet::LSTMCell<T> lstm_cell(seqnet::LSTMCellOptions(48, 96), generator);
  seqnet::GRUCell<T> gru_cell(seqnet::GRUCellOptions(48, 96), generator);
  seqnet::RNNCell<T> rnn_cell(seqnet::RNNCellOptions(48, 160), generator);
  seqnet::GRU<T> gru(seqnet::GRUOptions(48, 96).num_layers(2), generator);
  gru_cell.prepack();
  gru.prepack();
  const Tensor<T, 2> x = seqnet::randn<T>(24, 48);
  const Tensor<T, 2> h = seqnet::randn<T>(24, 96), c = seqnet::randn<T>(24, 96), h_rnn = seqnet::randn<T>(24, 160);
  const Tensor<T, 3> xs = seqnet::randn<T>(30, 24, 48);  // 720 rows: the input projection splits by rows
  const seqnet::LSTMStateRef<T> state(h, c);

  const auto lstm_1 = run_with_threads(1, lstm_cell, x, state);
  const auto gru_1 = run_with_threads(1, gru_cell, x, h);
  const auto rnn_1 = run_with_threads(1, rnn_cell, x, h_rnn);
  const auto stacked_1 = run_with_threads(1, gru, xs);
  const long parallel_before = seqnet::detail::ThreadPool::instance().parallel_regions();
  for (int threads : {2, 3}) {
    INFO(threads << " threads");
    const auto lstm_n = run_with_threads(threads, lstm_cell, x, state);
    CHECK(seqnet_test::identical(lstm_n.first, lstm_1.first));
    CHECK(seqnet_test::identical(lstm_n.second, lstm_1.second));
    CHECK(seqnet_test::identical(run_with_threads(threads, gru_cell, x, h), gru_1));
    CHECK(seqnet_test::identical(run_with_threads(threads, rnn_cell, x, h_rnn), rnn_1));
    const auto stacked_n = run_with_threads(threads, gru, xs);
    CHECK(seqnet_test::identical(stacked_n.first, stacked_1.first));
    CHECK(seqnet_test::identical(stacked_n.second, stacked_1.second));
  }
  // Each cell step (24 rows x G*H x H multiply-adds >= step_threads' threshold) ran as a parallel region.
  CHECK(seqnet::detail::ThreadPool::instance().parallel_regions() - parallel_before >= 6);
}

TEST_CASE("set_num_threads", "[threads]") {
  CHECK(seqnet::get_num_threads() == 1);
  {
    ThreadSetting setting(4);
    CHECK(seqnet::get_num_threads() == 4);
  }
  CHECK(seqnet::get_num_threads() == 1);
  CHECK_THROWS_WITH(seqnet::set_num_threads(0), "set_num_threads: expected a positive number of threads, got 0");
}
