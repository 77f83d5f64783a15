// Caching arenas for tensor memory, one per device. A training loop allocates the same sizes every
// step; keeping freed blocks in size classes means no large allocation (and, on the CPU, no fresh
// page faults) after the first step. Blocks are reused only once the last reference to a storage is
// gone; on CUDA all work runs on one stream, so reuse is ordered after every earlier use.
#pragma once
#include <cstddef>
#include <memory>

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
class Storage {
 public:
  Storage(Device device, size_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  Device device() const { return device_; }
  size_t bytes() const { return bytes_; }
  void* data() const { return data_; }

 private:
  Device device_;
  size_t bytes_;
  void* data_;
};

}  // namespace samcobot
