// Caching arenas for tensor memory, one per device. A training loop allocates the same sizes every
// step; keeping freed blocks in size classes means no large allocation (and, on the CPU, no fresh
// page faults) after the first step. Blocks are reused only once the last reference to a storage is
// gone; on CUDA all work runs on one stream, so reuse is ordered after every earlier use.
#pragma once
#include <cstddef>
#include <memory>
#include <mutex>

#include "device.h"

namespace samcobot {

struct ArenaStats {
  size_t bytes_in_use = 0;
  size_t bytes_cached = 0;
  size_t peak_bytes_in_use = 0;
  size_t system_allocations = 0;
};

void* arena_allocate(Device device, size_t bytes);
void arena_release(Device device, void* ptr, size_t bytes);
ArenaStats arena_stats(Device device);
// Returns cached blocks to the system (tests, and users between jobs).
void arena_empty_cache(Device device);
// Poison mode (off by default): every block handed out, fresh or reused, is first filled with
// 0xFF bytes (NaN for floats), so a kernel that leaves part of its output unwritten is caught.
// The parity harness turns it on; on CUDA the fill is queued on the stream.
void set_allocation_poison(bool on);

// Raw device memory owned through shared_ptr: the last owner returns it to the arena.
//
// The memory is taken from the arena on first use, not at construction. The JS thread enqueues
// ops far ahead of the device worker and creates each op's outputs when it enqueues it; if they
// were allocated then, a whole forward pass's intermediates would exist at once. Allocated when
// the producing kernel first touches them, and released when the last queued op using them has
// run (and JS has let go), the live set is the working set of the ops actually running.
class Storage {
 public:
  Storage(Device device, size_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  Device device() const { return device_; }
  size_t bytes() const { return bytes_; }
  // Allocates on first call (thread-safe: kernels may touch a tensor from pool threads).
  void* data() const {
    std::call_once(allocated_, [this] { data_ = arena_allocate(device_, bytes_); });
    return data_;
  }

 private:
  Device device_;
  size_t bytes_;
  mutable std::once_flag allocated_;
  mutable void* data_ = nullptr;
};

}  // namespace samcobot
