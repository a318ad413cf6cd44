// Concurrency stress: forward is const and documented as safe to call on one module from several threads
// at once (each call that finds the module's cached workspace busy takes its own). Eight threads call one
// module and one frozen (prepacked) module with mixed sequence lengths and batches, step a shared cell,
// run Streams, and change set_num_threads as they go; every result must equal, bit for bit, the single-threaded
// reference. scripts/run-tests' tsan job runs this file under ThreadSanitizer at full size.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <utility>  // std::declval, std::pair
#include <vector>

#include <seqnet/seqnet.hpp>

#include "tensor_compare.hpp"

namespace {

using seqnet::Index;
using seqnet::Tensor;

struct Restore {
  ~Restore() { seqnet::set_num_threads(1); }
};

/// Calls per thread: issue 14's 1000 by default; SEQNET_STRESS_CALLS=<n> changes it (a slow sanitized build
/// may run fewer; scripts/run-tests' TSan job runs the full size).
int calls_per_thread() {
  static const int calls = [] {
    const char* env = std::getenv("SEQNET_STRESS_CALLS");
    const int n = env != nullptr ? std::atoi(env) : 0;
    return n > 0 ? n : 1000;
  }();
  return calls;
}
constexpr int threads = 8;

}  // namespace

TEMPLATE_TEST_CASE("one const module used from 8 threads at once gives the single-threaded bits", "[concurrency][threads]",
                   float, double) {
  using T = TestType;
  Restore restore;
  seqnet::Generator generator(21);
  // Bidirectional and wide enough that set_num_threads(2 or 3) really splits a call.
  const seqnet::LSTM<T> plain(seqnet::LSTMOptions(24, 48).num_layers(2).bidirectional(true), generator);
  seqnet::LSTM<T> frozen_module = plain;
  frozen_module.prepack();
  const seqnet::LSTM<T>& frozen = frozen_module;
  const seqnet::GRU<T> streamed(seqnet::GRUOptions(24, 40).num_layers(2), generator);
  // A cell shares its cached workspace the same way (several-row steps split among threads too).
  const seqnet::LSTMCell<T> cell(seqnet::LSTMCellOptions(24, 64), generator);

  const std::vector<std::pair<Index, Index>> shapes{{1, 1}, {3, 2}, {9, 5}, {14, 3}, {5, 16}, {2, 1}, {20, 7}};
  std::vector<Tensor<T, 3>> inputs;
  for (const auto& [seq, batch] : shapes) inputs.push_back(seqnet::randn<T>(seq, batch, 24));
  const seqnet::SequenceLengths lengths =
      seqnet::SequenceLengths(std::vector<Index>{9, 2, 7, 1, 9}).enforce_sorted(false);

  seqnet::set_num_threads(1);
  std::vector<decltype(plain(inputs[0]))> reference;
  std::vector<decltype(streamed(inputs[0]))> stream_reference;
  for (const auto& x : inputs) {
    reference.push_back(plain(x));
    stream_reference.push_back(streamed(x));
  }
  const auto packed_reference = plain(inputs[2], lengths);
  std::vector<Tensor<T, 2>> cell_inputs;
  std::vector<decltype(cell(std::declval<const Tensor<T, 2>&>()))> cell_reference;
  for (Index batch : {1, 4, 33}) {
    cell_inputs.push_back(seqnet::randn<T>(batch, 24));
    cell_reference.push_back(cell(cell_inputs.back()));
  }

  const int calls = calls_per_thread();
  std::atomic<int> mismatches{0}, calls_made{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (int id = 0; id < threads; ++id) {
    pool.emplace_back([&, id] {
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (int call = 0; call < calls; ++call) {
        const std::size_t k = static_cast<std::size_t>(id + call) % inputs.size();
        if (id == 0 && call % 10 == 0) seqnet::set_num_threads(1 + call / 10 % 3);
        const auto& module = (id + call) % 2 == 0 ? plain : frozen;
        bool same = true;
        if (call % 15 == 7) {
          const auto out = module(inputs[2], lengths);
          same = seqnet_test::identical(out.first, packed_reference.first) &&
                 seqnet_test::identical(out.second.first, packed_reference.second.first);
        } else if (call % 15 == 3) {
          const std::size_t c = static_cast<std::size_t>(id + call) % cell_inputs.size();
          const auto hc = cell(cell_inputs[c]);
          same = seqnet_test::identical(hc.first, cell_reference[c].first) &&
                 seqnet_test::identical(hc.second, cell_reference[c].second);
        } else if (call % 15 == 11) {
          // A stream fed one step at a time ends in the state of one call on the whole sequence.
          const Tensor<T, 3>& x = inputs[k];
          seqnet::Stream<seqnet::GRU<T>> stream(streamed, x.dimension(1));
          for (Index t = 0; t < x.dimension(0); ++t) {
            Eigen::array<Index, 3> offsets{t, 0, 0}, extents{1, x.dimension(1), x.dimension(2)};
            (void)stream.feed(x.slice(offsets, extents));
          }
          same = seqnet_test::identical(stream.h(), stream_reference[k].second);
        } else {
          const auto out = module(inputs[k]);
          same = seqnet_test::identical(out.first, reference[k].first) &&
                 seqnet_test::identical(out.second.first, reference[k].second.first) &&
                 seqnet_test::identical(out.second.second, reference[k].second.second);
        }
        if (!same) mismatches.fetch_add(1);
        calls_made.fetch_add(1);
      }
    });
  }
  go.store(true, std::memory_order_release);
  for (auto& t : pool) t.join();
  INFO(calls_made.load() << " calls from " << threads << " threads");
  CHECK(calls_made.load() == threads * calls);
  CHECK(mismatches.load() == 0);
}
