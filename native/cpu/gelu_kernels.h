// The f32 GELU kernels (exact erf form, forward and backward over a contiguous range), one per SIMD
// level like the GEMM micro-kernels: gelu_avx512.cc, gelu_avx2.cc and gelu_portable.cc each compile
// gelu_vector.h with their own flags, and activation.cc picks one from cpu_level(). f64 does not
// come here: it stays on the library erfc (native/ops/activation_math.h), the reference the checks use.
#pragma once
#include <cstdint>

namespace samcobot::cpu {

struct GeluKernels {
  const char* name;
  void (*forward)(const float* x, float* y, int64_t n);                     // x, y (n): y = gelu(x)
  void (*backward)(const float* dy, const float* x, float* dx, int64_t n);  // dy, x, dx (n): dx = dy · gelu'(x)
};

// nullptr where the file was built for another architecture.
const GeluKernels* gelu_kernels_avx512();
const GeluKernels* gelu_kernels_avx2();
const GeluKernels* gelu_kernels_portable();

}  // namespace samcobot::cpu
