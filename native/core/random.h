// Counter-based random numbers: element i of a seeded draw depends only on (seed, i), so the CPU
// and CUDA backends produce the same tensor bit for bit, whatever the thread layout.
#pragma once
#include <cmath>
#include <cstdint>

#ifdef __CUDACC__
#define SAM_COBOT_HD __host__ __device__
#else
#define SAM_COBOT_HD
#endif

namespace samcobot {

SAM_COBOT_HD inline uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Uniform in [0, 1) with 53 bits (as a double) for element `index` of stream `seed`.
SAM_COBOT_HD inline double uniform01(uint64_t seed, uint64_t index, uint64_t lane) {
  uint64_t bits = mix64(mix64(seed ^ 0x5851f42d4c957f2dull) + index * 2 + lane);
  return static_cast<double>(bits >> 11) * (1.0 / 9007199254740992.0);
}

// Standard normal by Box-Muller on two uniforms of the same element.
SAM_COBOT_HD inline double normal01(uint64_t seed, uint64_t index) {
  double u1 = uniform01(seed, index, 0);
  double u2 = uniform01(seed, index, 1);
  double r = sqrt(-2.0 * log(1.0 - u1));
  return r * cos(6.283185307179586 * u2);
}

}  // namespace samcobot
