// The per-device work queue of design section 3. Ops are validated on the JS thread and enqueued
// here; one worker thread per device runs them in order (CPU kernels run on it, using the thread
// pool; CUDA work is launched from it onto the one stream). A failure while running is kept and
// reported by the next read on that device, as an asynchronous error should be.
#pragma once
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "device.h"

namespace samcobot {

struct QueuedError {
  std::string code;
  std::string message;
};

class WorkQueue {
 public:
  explicit WorkQueue(Device device);
  ~WorkQueue();
  void push(std::function<void()> task);
  // Runs `task` after everything queued before it; `done` gets the first error raised since the
  // last read (or an empty code), and runs on the worker thread.
  void push_read(std::function<void()> task, std::function<void(const QueuedError&)> done);
  // Blocks the caller until the queue is empty (used at exit and by synchronous tests).
  void drain();
  size_t pending() const;

 private:
  void run();
  Device device_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<std::function<void()>> tasks_;
  bool busy_ = false;
  bool stopping_ = false;
  QueuedError sticky_error_;
  std::thread worker_;
};

WorkQueue& device_queue(Device device);

}  // namespace samcobot
