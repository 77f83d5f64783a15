// f32 e^(x − shift) over an array and its sum (contract in exp_kernels.h), on N double lanes with
// the 2^u of simd_exp2.h. The library expf is a scalar call of ~3 ns per element, and a ViT-B
// forward takes ~8e8 of them in the attention softmax (its backward recomputes as many).
//
// Each float is widened to double and e^(x − shift) = 2^((x − shift) log2 e) computed there, within
// ~2e-9 relative, so the one rounding back to float dominates (≤ 0.5 ulp plus that). u is clamped
// to [−200, 128] first, where the exponent trick of Exp2Vector::exp2 holds: below, 2^−200 rounds to
// float 0 as e^u does (also for u = −inf); above, 2^128 rounds to float +inf. NaN stays NaN. The sum
// adds the float values actually stored, in double lanes, so it is exactly consistent with them
// (padding lanes of the last partial block store 0 and add nothing).
//
// Internal linkage on purpose, as in simd_exp2.h.
#pragma once
#include <cstdint>
#include <cstring>

#include "exp_kernels.h"
#include "simd_exp2.h"

namespace samcobot::cpu {
namespace {

template <int N>
struct ExpVector {
  using V = Exp2Vector<N>;
  using D = typename V::D;
  using F = typename V::F;

  // Stores e^(x − shift) of one block at y and adds it to sum.
  static void block(const float* x, float* y, D shift, D& sum) {
    D u = (V::load(x) - shift) * 1.44269504088896340736;  // log2(e)
    const D lo = V::splat(-200), hi = V::splat(128);
    u = u < lo ? lo : u;
    u = u > hi ? hi : u;
    F e = V::narrow(V::exp2(u));
    V::store(y, e);
    sum += __builtin_convertvector(e, D);
  }

  static float exp_shifted(float* x, int64_t n, float shift) {
    const D s = V::splat(shift);
    D sum = V::splat(0);
    int64_t i = 0;
    for (; i + N <= n; i += N) block(x + i, x + i, s, sum);
    if (i < n) {
      float b[N];
      for (int l = 0; l < N; ++l) b[l] = -__builtin_inff();
      std::memcpy(b, x + i, (n - i) * sizeof(float));
      block(b, b, s, sum);
      std::memcpy(x + i, b, (n - i) * sizeof(float));
    }
    double total = 0;
    for (int l = 0; l < N; ++l) total += sum[l];
    return static_cast<float>(total);
  }
};

}  // namespace
}  // namespace samcobot::cpu
