// The portable f32 GEMM micro-kernel: a 4 x 8 tile of C in 4-float vectors written with the
// GCC/Clang vector extension, so any target (SSE2, NEON, ...) gets SIMD without per-architecture
// code and without special flags. The fallback where neither AVX2+FMA nor AVX-512 is available
// (and what SAM_COBOT_CPU=portable selects, to test it).
#include <cstring>

#include "gemm_kernels.h"
#include "gemm_microkernel.h"

namespace samcobot::cpu {
namespace {

struct Vector4 {
  typedef float V __attribute__((vector_size(16)));
  static constexpr int width = 4;
  static V zero() { return V{0, 0, 0, 0}; }
  // memcpy: the pointers are only float-aligned (C rows); compilers emit one unaligned load/store.
  static V load(const float* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static void store(float* p, V v) { std::memcpy(p, &v, sizeof v); }
  static V set1(float x) { return V{x, x, x, x}; }
  static V fma(V a, V b, V c) { return a * b + c; }
  static V mul(V a, V b) { return a * b; }
};

const GemmKernel kernel = {"portable", gemm_microkernel<Vector4, 4, 2>, 4, 8, 256, 512, 4096};

}  // namespace

const GemmKernel* gemm_kernel_portable() { return &kernel; }

}  // namespace samcobot::cpu
