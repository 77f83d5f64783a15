#include "queue.h"

#include "error.h"

namespace samcobot {

WorkQueue::WorkQueue(Device device) : device_(device), worker_([this] { run(); }) {}

WorkQueue::~WorkQueue() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void WorkQueue::push(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks_.push_back([this, task = std::move(task)] {
      try {
        task();
      } catch (const Error& e) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (sticky_error_.code.empty()) sticky_error_ = {e.code(), e.what()};
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (sticky_error_.code.empty()) sticky_error_ = {"ERR_RUNTIME", e.what()};
      }
    });
  }
  wake_.notify_one();
}

void WorkQueue::push_read(std::function<void()> task, std::function<void(const QueuedError&)> done) {
  push([this, task = std::move(task), done = std::move(done)]() mutable {
    QueuedError error;
    try {
      if (device_ == Device::Cuda) cuda_hooks().synchronize();
      task();
    } catch (const Error& e) {
      error = {e.code(), e.what()};
    } catch (const std::exception& e) {
      error = {"ERR_RUNTIME", e.what()};
    }
    // Release what the read captured (the tensor) before JS hears of it, so a dispose() right
    // after the await returns the storage to the arena at once.
    task = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!sticky_error_.code.empty()) {
        error = sticky_error_;
        sticky_error_ = {};
      }
    }
    done(error);
  });
}

void WorkQueue::drain() {
  std::unique_lock<std::mutex> lock(mutex_);
  idle_.wait(lock, [this] { return tasks_.empty() && !busy_; });
}

size_t WorkQueue::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return tasks_.size() + (busy_ ? 1 : 0);
}

void WorkQueue::run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
      busy_ = true;
    }
    task();
    task = nullptr;  // drop captured tensors here, before reporting idle
    {
      std::lock_guard<std::mutex> lock(mutex_);
      busy_ = false;
      if (tasks_.empty()) idle_.notify_all();
    }
  }
}

WorkQueue& device_queue(Device device) {
  // Leaked on purpose: worker threads must outlive every static that might enqueue at exit.
  static WorkQueue* queues[2] = {new WorkQueue(Device::Cpu), nullptr};
  static std::once_flag cuda_once;
  if (device == Device::Cpu) return *queues[0];
  std::call_once(cuda_once, [] { queues[1] = new WorkQueue(Device::Cuda); });
  return *queues[1];
}

}  // namespace samcobot
