#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace samcobot {
namespace {

class ThreadPool {
 public:
  explicit ThreadPool(int threads) : threads_(threads) {
    for (int i = 1; i < threads_; ++i) workers_.emplace_back([this] { work(); });
  }
  // Leaked with the process (see device_queue): no join at exit while a kernel might run.

  int size() const { return threads_; }

  void run(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body) {
    int64_t chunks = std::min<int64_t>((n + grain - 1) / grain, int64_t(threads_) * 4);
    if (threads_ == 1 || chunks <= 1 || in_region_.exchange(true)) {
      body(0, n);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      body_ = &body;
      n_ = n;
      chunk_size_ = (n + chunks - 1) / chunks;
      next_.store(0);
      active_ = threads_ - 1;
      ++generation_;
    }
    wake_.notify_all();
    drain();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return active_ == 0; });
    body_ = nullptr;
    in_region_.store(false);
  }

 private:
  void drain() {
    for (;;) {
      int64_t begin = next_.fetch_add(chunk_size_);
      if (begin >= n_) return;
      (*body_)(begin, std::min(n_, begin + chunk_size_));
    }
  }
  void work() {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
      }
      drain();
      std::lock_guard<std::mutex> lock(mutex_);
      if (--active_ == 0) done_.notify_one();
    }
  }

  int threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  uint64_t generation_ = 0;
  int active_ = 0;
  const std::function<void(int64_t, int64_t)>* body_ = nullptr;
  int64_t n_ = 0, chunk_size_ = 1;
  std::atomic<int64_t> next_{0};
  std::atomic<bool> in_region_{false};
};

ThreadPool& pool() {
  static ThreadPool* p = [] {
    int n = static_cast<int>(std::thread::hardware_concurrency());
    if (const char* env = std::getenv("SAM_COBOT_THREADS")) {
      int v = std::atoi(env);
      if (v > 0) n = v;
    }
    return new ThreadPool(std::max(1, std::min(n, 256)));
  }();
  return *p;
}

}  // namespace

int thread_count() { return pool().size(); }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body) {
  if (n <= 0) return;
  pool().run(n, std::max<int64_t>(1, grain), body);
}

}  // namespace samcobot
