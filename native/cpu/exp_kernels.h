// The f32 softmax exponentials of the CPU attention (attention.cc), one per SIMD level like the GELU
// kernels: exp_avx512.cc, exp_avx2.cc and exp_portable.cc each compile exp_vector.h with their own
// flags, and attention.cc picks one from cpu_level(). f64 does not come here: it stays on std::exp,
// the reference the checks use.
#pragma once
#include <cstdint>

namespace samcobot::cpu {

struct ExpKernels {
  const char* name;
  // x (n), in place: x[j] = e^(x[j] − shift); returns the sum of the new x (accumulated in double).
  float (*exp_shifted)(float* x, int64_t n, float shift);
};

// nullptr where the file was built for another architecture.
const ExpKernels* exp_kernels_avx512();
const ExpKernels* exp_kernels_avx2();
const ExpKernels* exp_kernels_portable();

}  // namespace samcobot::cpu
