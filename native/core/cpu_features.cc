#include "cpu_features.h"

#include <cstdlib>
#include <cstring>

namespace samcobot {

CpuLevel cpu_level() {
  static CpuLevel level = [] {
    // SAM_COBOT_CPU=portable|avx2 caps the level (tests run every micro-kernel this way).
    CpuLevel cap = CpuLevel::Avx512;
    if (const char* env = std::getenv("SAM_COBOT_CPU")) {
      if (!std::strcmp(env, "portable")) cap = CpuLevel::Portable;
      else if (!std::strcmp(env, "avx2")) cap = CpuLevel::Avx2Fma;
    }
    CpuLevel found = CpuLevel::Portable;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) found = CpuLevel::Avx2Fma;
    if (__builtin_cpu_supports("avx512f")) found = CpuLevel::Avx512;
#endif
    return found < cap ? found : cap;
  }();
  return level;
}

const char* cpu_gemm_kernel_name() {
  switch (cpu_level()) {
    case CpuLevel::Avx512: return "avx512";
    case CpuLevel::Avx2Fma: return "avx2+fma";
    default: return "portable";
  }
}

}  // namespace samcobot
