// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>

#include "errors.hpp"

namespace seqnet {
namespace detail {
inline std::atomic<int>& thread_setting() {
  static std::atomic<int> threads{1};
  return threads;
}
}  // namespace detail

/// How many threads one forward call may use, like `torch.set_num_threads` (default 1). With 2 or more,
/// a bidirectional layer runs its two directions at once, and a large unidirectional layer splits each
/// product's output columns and each step's batch rows across threads. Results are bitwise identical
/// whatever the setting. Small problems stay on the calling thread.
inline void set_num_threads(int threads) {
  SEQNET_CHECK(value_error, threads >= 1, "set_num_threads: expected a positive number of threads, got ", threads);
  detail::thread_setting().store(threads, std::memory_order_relaxed);
}

/// The thread count `set_num_threads` set.
inline int get_num_threads() { return detail::thread_setting().load(std::memory_order_relaxed); }

}  // namespace seqnet
