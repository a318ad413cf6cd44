// Concurrency stress: forward is const and documented as safe to call on one module from several threads
// at once (each call that finds the module's cached workspace busy takes its own). Eight threads call one
// module and one frozen (prepacked) module with mixed sequence lengths and batches, run Streams on them,
// and change set_num_threads as they go; every result must equal, bit for bit, the single-threaded
// reference. tests/CMakeLists.txt runs this file under ThreadSanitizer in CI (scripts/run-tests).
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <utility>
#include <vector>

#include <seqnet/seqnet.hpp>

#include "tensor_compare.hpp"

namespace {

using seqnet::Index;
using seqnet::Tensor;

struct Restore {
  ~Restore() { seqnet::set_num_threads(1); }
};

/// Calls per thread (8 threads, two modules): small enough for a TSan build in CI.
constexpr int calls_per_thread = 120;
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

  std::atomic<int> mismatches{0}, calls{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (int id = 0; id < threads; ++id) {
    pool.emplace_back([&, id] {
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (int call = 0; call < calls_per_thread; ++call) {
        const std::size_t k = static_cast<std::size_t>(id + call) % inputs.size();
        if (id == 0 && call % 10 == 0) seqnet::set_num_threads(1 + call / 10 % 3);
        const auto& module = (id + call) % 2 == 0 ? plain : frozen;
        bool same = true;
        if (call % 15 == 7) {
          const auto out = module(inputs[2], lengths);
          same = seqnet_test::identical(out.first, packed_reference.first) &&
                 seqnet_test::identical(out.second.first, packed_reference.second.first);
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
        calls.fetch_add(1);
      }
    });
  }
  go.store(true, std::memory_order_release);
  for (auto& t : pool) t.join();
  INFO(calls.load() << " calls from " << threads << " threads");
  CHECK(calls.load() == threads * calls_per_thread);
  CHECK(mismatches.load() == 0);
}
