// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "fp_mode.hpp"

namespace seqnet::detail {

/// Threads meeting once per time step. Waiters spin briefly (a step is microseconds long), then yield
/// so an oversubscribed machine still makes progress.
class SpinBarrier {
 public:
  explicit SpinBarrier(int count) : count_(count) {}

  void arrive_and_wait() {
    const unsigned generation = generation_.load(std::memory_order_acquire);
    if (waiting_.fetch_add(1, std::memory_order_acq_rel) + 1 == count_) {
      waiting_.store(0, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_acq_rel);
      return;
    }
    for (int spins = 0; generation_.load(std::memory_order_acquire) == generation; ++spins)
      if (spins > 2000) std::this_thread::yield();
  }

 private:
  const int count_;
  std::atomic<int> waiting_{0};
  std::atomic<unsigned> generation_{0};
};

/// A pause inside a spin-wait loop: lets the sibling hyper-thread run and saves power.
inline void spin_pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/// seqnet's worker threads, started on first use and kept for the life of the process, so a forward
/// call pays no thread start-up. One parallel region runs at a time; a caller that finds the pool busy
/// (another thread's forward) runs its region on its own thread instead.
///
/// After a region a worker spins for a while (`spin_time`) before it sleeps, as OpenMP runtimes do: a
/// cell step or a small layer is a region of a few microseconds, and waking a sleeping thread costs
/// about as much, so back-to-back calls would otherwise run slower on two threads than on one.
class ThreadPool {
 public:
  static ThreadPool& instance() {
    static ThreadPool pool;
    return pool;
  }

  /// Regions that ran on more than one thread so far (lets tests see that work really was shared).
  long parallel_regions() const noexcept { return parallel_regions_.load(std::memory_order_relaxed); }

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_.store(true, std::memory_order_release);
    }
    wake_.notify_all();
    for (auto& worker : workers_) worker.join();
  }

  /// Runs `region(thread, threads)` on `threads` threads at once (thread 0 is the caller), with
  /// `threads` at most `wanted`: 1 when `wanted` is 1 or the pool is busy. Returns when all are done.
  template <typename Region>
  void run(int wanted, Region& region) {
    if (wanted <= 1) {
      region(0, 1);
      return;
    }
    std::unique_lock<std::mutex> busy(region_mutex_, std::try_to_lock);
    if (!busy.owns_lock()) {
      region(0, 1);
      return;
    }
    start_workers(wanted - 1);
    parallel_regions_.fetch_add(1, std::memory_order_relaxed);
    remaining_.store(wanted - 1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = {&invoke<Region>, &region, wanted, fp_mode()};
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    region(0, wanted);
    // The workers run the same amount of work, so they finish about when the caller does; yielding after
    // a short spin lets a worker that shares this core (an oversubscribed machine) finish.
    for (int spins = 0; remaining_.load(std::memory_order_acquire) != 0; ++spins) {
      if (spins < 2000) {
        spin_pause();
      } else {
        std::this_thread::yield();
      }
    }
  }

 private:
  struct Job {
    void (*call)(void*, int, int) = nullptr;
    void* region = nullptr;
    int threads = 0;
    unsigned fp_mode = 0;  ///< the caller's denormal handling (set_flush_denormal), which the workers adopt
  };
  static constexpr std::chrono::microseconds spin_time{200};

  ThreadPool() = default;

  template <typename Region>
  static void invoke(void* region, int thread, int threads) {
    (*static_cast<Region*>(region))(thread, threads);
  }

  void start_workers(int count) {
    std::lock_guard<std::mutex> lock(mutex_);
    while (static_cast<int>(workers_.size()) < count) {
      // A new worker starts from the current generation, so it never mistakes the last region for a new one.
      const int index = static_cast<int>(workers_.size()) + 1;
      workers_.emplace_back([this, index, seen = generation_.load(std::memory_order_relaxed)] { work(index, seen); });
    }
  }

  /// Whether a region newer than `seen` was published, or the pool is stopping.
  bool signalled(unsigned seen) const {
    return generation_.load(std::memory_order_acquire) != seen || stopping_.load(std::memory_order_acquire);
  }

  void work(int index, unsigned seen) {
    for (;;) {
      const auto deadline = std::chrono::steady_clock::now() + spin_time;
      for (int spins = 1; !signalled(seen); ++spins) {
        spin_pause();
        if (spins % 64 == 0 && std::chrono::steady_clock::now() > deadline) break;
      }
      Job job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return signalled(seen); });
        if (stopping_.load(std::memory_order_relaxed)) return;
        seen = generation_.load(std::memory_order_relaxed);
        job = job_;
      }
      if (index >= job.threads) continue;
      set_fp_mode(job.fp_mode);
      job.call(job.region, index, job.threads);
      remaining_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  std::atomic<long> parallel_regions_{0};
  std::mutex region_mutex_;
  std::mutex mutex_;  ///< guards job_ and sleeping on wake_
  std::condition_variable wake_;
  std::vector<std::thread> workers_;
  Job job_;
  std::atomic<unsigned> generation_{0};
  std::atomic<int> remaining_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace seqnet::detail
