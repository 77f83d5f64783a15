// A fixed pool of threads for CPU kernels (default: one per core; SAM_COBOT_THREADS overrides).
// Kernels split work with parallel_for; the calling thread takes part, so a pool of N threads
// keeps N cores busy. Only the CPU queue's worker calls it, so there is one parallel region at a
// time; a nested call runs serially on the caller.
#pragma once
#include <cstdint>
#include <functional>

namespace samcobot {

int thread_count();
// Calls body(begin, end) over [0, n) in chunks of at least `grain` items, across the pool.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body);

}  // namespace samcobot
