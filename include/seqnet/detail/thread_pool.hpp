// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

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

/// seqnet's worker threads, started on first use and kept for the life of the process, so a forward
/// call pays no thread start-up. One parallel region runs at a time; a caller that finds the pool busy
/// (another thread's forward) runs its region on its own thread instead.
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
      stopping_ = true;
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
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = {&invoke<Region>, &region, wanted};
      remaining_ = wanted - 1;
      ++generation_;
    }
    wake_.notify_all();
    region(0, wanted);
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return remaining_ == 0; });
  }

 private:
  struct Job {
    void (*call)(void*, int, int) = nullptr;
    void* region = nullptr;
    int threads = 0;
  };

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
      workers_.emplace_back([this, index, seen = generation_] { work(index, seen); });
    }
  }

  void work(int index, unsigned seen) {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      const Job job = job_;
      if (index >= job.threads) continue;
      lock.unlock();
      job.call(job.region, index, job.threads);
      lock.lock();
      if (--remaining_ == 0) done_.notify_one();
    }
  }

  std::atomic<long> parallel_regions_{0};
  std::mutex region_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<std::thread> workers_;
  Job job_;
  unsigned generation_ = 0;
  int remaining_ = 0;
  bool stopping_ = false;
};

}  // namespace seqnet::detail
