// The f32 GEMM micro-kernels and their cache blocking, one per SIMD level (gemm_avx512.cc,
// gemm_avx2.cc, gemm_portable.cc, each compiled with its own flags); gemm_packed.cc picks one at
// run time from cpu_level() and drives it.
//
// A micro-kernel computes one MR x NR tile of row-major C from packed panels:
//   a: (K, MR)  MR rows of op(A), interleaved per k (zero-padded past M)
//   b: (K, NR)  NR columns of op(B), contiguous per k (zero-padded past N)
//   c: (MR, NR) with row stride ldc:  c = alpha * a^T b + beta * c, beta == 0 ignoring c's contents.
// It always computes a full tile; the driver routes edge tiles through a scratch tile.
#pragma once
#include <cstdint>

namespace samcobot::cpu {

using GemmMicroKernel = void (*)(int64_t K, const float* a, const float* b, float* c, int64_t ldc, float alpha, float beta);

struct GemmKernel {
  const char* name;
  GemmMicroKernel run;
  int64_t mr, nr;  // tile rows (broadcast from A) and columns (vectors of B and C)
  int64_t kc;      // K block: an A micro-panel (MR x KC) stays in L1 across a row of tiles
  int64_t nc;      // N block: the packed B block (KC x NC) stays in one core's L2
  int64_t mc;      // M block: rows of A packed at once (the packed A block is read from L3/memory)
};

// nullptr where the file was built for another architecture.
const GemmKernel* gemm_kernel_avx512();
const GemmKernel* gemm_kernel_avx2();
const GemmKernel* gemm_kernel_portable();

}  // namespace samcobot::cpu
