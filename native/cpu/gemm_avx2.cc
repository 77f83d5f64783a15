// The AVX2+FMA f32 GEMM micro-kernel: a 6 x 16 tile of C in 12 ymm registers (2 per row), leaving
// 4 of the 16 for one 16-wide B row and the A broadcast. Built with -mavx2 -mfma (native/sources.json
// key "cpu_avx2"); chosen at run time where cpu_level() reports AVX2 and FMA but not AVX-512.
//
// Blocking: an A micro-panel (6 x 256 floats, 6 KiB) stays in L1; the packed B block (256 x 512
// floats, 512 KiB) fits the smaller L2 of AVX2-era cores.
#include "gemm_kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include "gemm_microkernel.h"

namespace samcobot::cpu {
namespace {

struct Avx2 {
  using V = __m256;
  static constexpr int width = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V set1(float x) { return _mm256_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
};

const GemmKernel kernel = {"avx2+fma", gemm_microkernel<Avx2, 6, 2>, 6, 16, 256, 512, 4096};

}  // namespace

const GemmKernel* gemm_kernel_avx2() { return &kernel; }

}  // namespace samcobot::cpu

#else

const samcobot::cpu::GemmKernel* samcobot::cpu::gemm_kernel_avx2() { return nullptr; }

#endif
