// The AVX-512 f32 GEMM micro-kernel: a 12 x 32 tile of C in 24 zmm registers (2 per row), fed by
// one 32-wide B row and 12 broadcasts of A per k. Built with -mavx512f -mfma (native/sources.json
// key "cpu_avx512"); chosen at run time only where cpu_level() reports AVX-512.
//
// Blocking: an A micro-panel (12 x 384 floats, 18 KiB) stays in L1 while the kernel walks a row of
// tiles; the packed B block (384 x 480 floats, 720 KiB) stays in one core's L2 (1 MiB or more on
// AVX-512 parts).
#include "gemm_kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include "gemm_microkernel.h"

namespace samcobot::cpu {
namespace {

struct Avx512 {
  using V = __m512;
  static constexpr int width = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
};

const GemmKernel kernel = {"avx512", gemm_microkernel<Avx512, 12, 2>, 12, 32, 384, 480, 4096};

}  // namespace

const GemmKernel* gemm_kernel_avx512() { return &kernel; }

}  // namespace samcobot::cpu

#else

const samcobot::cpu::GemmKernel* samcobot::cpu::gemm_kernel_avx512() { return nullptr; }

#endif
