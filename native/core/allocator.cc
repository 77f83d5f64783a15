#include "allocator.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>

#include "error.h"

namespace samcobot {
namespace {

// Size classes: round up to 256 B below 1 MiB, else to 1/8 of the next power of two, so a
// request reuses a block at most 12.5% larger than it needs.
size_t size_class(size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes < (1u << 20)) return (bytes + 255) & ~size_t(255);
  size_t p = 1;
  while (p < bytes) p <<= 1;
  size_t step = p / 16;
  return (bytes + step - 1) / step * step;
}

struct Arena {
  std::mutex mutex;
  std::multimap<size_t, void*> free_blocks;  // size class -> block
  ArenaStats stats;
};

Arena& arena(Device device) {
  static Arena arenas[2];
  return arenas[static_cast<int>(device)];
}

void* system_allocate(Device device, size_t bytes) {
  if (device == Device::Cuda) return cuda_hooks().malloc(bytes);
  void* p = std::aligned_alloc(64, bytes);
  if (!p) throw Error("ERR_OUT_OF_MEMORY", "Expected " + std::to_string(bytes) + " bytes of host memory for a tensor but the allocation failed");
  return p;
}

void system_free(Device device, void* p) {
  if (device == Device::Cuda) cuda_hooks().free(p);
  else std::free(p);
}

std::atomic<bool> poison_blocks{false};

void* poisoned(Device device, void* p, size_t bytes) {
  if (!poison_blocks.load(std::memory_order_relaxed)) return p;
  if (device == Device::Cuda) cuda_hooks().memset(p, 0xFF, bytes);
  else std::memset(p, 0xFF, bytes);
  return p;
}

}  // namespace

void set_allocation_poison(bool on) { poison_blocks.store(on); }

void* arena_allocate(Device device, size_t bytes) {
  size_t cls = size_class(bytes);
  Arena& a = arena(device);
  {
    std::lock_guard<std::mutex> lock(a.mutex);
    auto it = a.free_blocks.find(cls);
    if (it != a.free_blocks.end()) {
      void* p = it->second;
      a.free_blocks.erase(it);
      a.stats.bytes_cached -= cls;
      a.stats.bytes_in_use += cls;
      if (a.stats.bytes_in_use > a.stats.peak_bytes_in_use) a.stats.peak_bytes_in_use = a.stats.bytes_in_use;
      return poisoned(device, p, cls);
    }
  }
  void* p;
  try {
    p = system_allocate(device, cls);
  } catch (const Error&) {
    // Out of memory with blocks cached: give them back and try once more.
    arena_empty_cache(device);
    p = system_allocate(device, cls);
  }
  std::lock_guard<std::mutex> lock(a.mutex);
  a.stats.system_allocations += 1;
  a.stats.bytes_in_use += cls;
  if (a.stats.bytes_in_use > a.stats.peak_bytes_in_use) a.stats.peak_bytes_in_use = a.stats.bytes_in_use;
  return poisoned(device, p, cls);
}

void arena_release(Device device, void* ptr, size_t bytes) {
  size_t cls = size_class(bytes);
  Arena& a = arena(device);
  std::lock_guard<std::mutex> lock(a.mutex);
  a.free_blocks.emplace(cls, ptr);
  a.stats.bytes_in_use -= cls;
  a.stats.bytes_cached += cls;
}

ArenaStats arena_stats(Device device) {
  Arena& a = arena(device);
  std::lock_guard<std::mutex> lock(a.mutex);
  return a.stats;
}

void arena_empty_cache(Device device) {
  Arena& a = arena(device);
  std::multimap<size_t, void*> blocks;
  {
    std::lock_guard<std::mutex> lock(a.mutex);
    blocks.swap(a.free_blocks);
    a.stats.bytes_cached = 0;
  }
  for (auto& kv : blocks) system_free(device, kv.second);
}

Storage::Storage(Device device, size_t bytes) : device_(device), bytes_(bytes) {}

Storage::~Storage() {
  if (data_) arena_release(device_, data_, bytes_);
}

}  // namespace samcobot
