// The one register-blocked GEMM micro-kernel (contract in gemm_kernels.h), written once over a
// SIMD type S and instantiated by each gemm_<level>.cc with that file's compiler flags.
//
// The MR x NR tile of C lives in MR * NV vector registers (NR = NV * S::width). Per k it loads NV
// vectors of the packed B row and broadcasts MR scalars of the packed A column: MR * NV fused
// multiply-adds for MR + NV loads, so the FMA units, not the loads, set the pace.
//
// S provides: V, width, zero(), load(p), store(p, v), set1(x), fma(a, b, c) = a * b + c, mul(a, b).
//
// Everything here has internal linkage on purpose: each SIMD file must get its own copy compiled
// with its own flags. A shared (inline, COMDAT) copy could be taken from the AVX-512 object by the
// linker and then run on a CPU without AVX-512.
#pragma once
#include <cstdint>

namespace samcobot::cpu {
namespace {

template <class S, int MR, int NV>
void gemm_microkernel(int64_t K, const float* a, const float* b, float* c, int64_t ldc, float alpha, float beta) {
  using V = typename S::V;
  constexpr int W = S::width;
  constexpr int NR = NV * W;
  V acc[MR][NV];  // the C tile, (MR, NR)
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[i][v] = S::zero();
  }
  for (int64_t k = 0; k < K; ++k) {
    V bk[NV];  // row k of the B panel, (NR)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bk[v] = S::load(b + v * W);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      V ai = S::set1(a[i]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[i][v] = S::fma(ai, bk[v], acc[i][v]);
    }
    a += MR;
    b += NR;
  }
  V va = S::set1(alpha);
  if (beta == 0.0f) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) S::store(c + i * ldc + v * W, S::mul(acc[i][v], va));
    }
  } else {
    V vb = S::set1(beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) {
        float* ci = c + i * ldc + v * W;
        S::store(ci, S::fma(acc[i][v], va, S::mul(S::load(ci), vb)));
      }
    }
  }
}

}  // namespace
}  // namespace samcobot::cpu
