// f32 GELU and its derivative over arrays (contract in gelu_kernels.h), written once over N double
// lanes with the GCC/Clang vector extension and instantiated by each gelu_<level>.cc with its flags.
// The library erff is a scalar call of ~11 ns per element, which made GELU cost about as much as the
// MLP GEMMs around it; this takes 1.2 (AVX-512) to 1.7 (AVX2) ns per element per core, 5.5 portable.
//
// sam-architecture.md 2.2: gelu(x) = x Φ(x), gelu'(x) = Φ(x) + x φ(x). Each float is widened to
// double, where every step below is exact or within 3e-9 relative, so the one rounding back to float
// dominates: over all 2.2e9 floats in [−10, 10] gelu is within 0.54 ulp of its exact value, and
// gelu' within 0.53 ulp of the size of its terms (0.61 ulp of itself away from its zero near
// −0.75, where no f32 evaluation has a small relative error). With s = |x|:
//   e = e^(−s²/2)              s² is exact (24-bit s); 2^u by Exp2Vector (simd_exp2.h)
//   h = ½ erfc(s/√2) = t Q(t) e,   t = 1 / (1 + c s)
//   Φ = h for x < 0, 1 − h otherwise;   φ = e / √(2π)
// Computing the lower tail h directly avoids the 1 + erf cancellation (the library form loses all
// digits of gelu below x ≈ −5.5). Past s² > 1416 (e < 1e-307) e is set to 0, so ±inf and NaN come
// out as the exact formula gives them in IEEE arithmetic: gelu(+inf) = +inf, gelu(−inf) = NaN,
// gelu'(±inf) = NaN, NaN in NaN out.
//
// Q is a minimax fit of relative error (Lawson's reweighted least squares in the Chebyshev basis,
// checked against mpmath in double Horner evaluation), as is the 2^f of simd_exp2.h:
//   Q(t) = ½ erfc(s/√2) e^(s²/2) / t   on s in [0, 14.8] (gelu underflows f32 below −14.4),
//        c = 0.215, degree 10, relative error 2.5e-10 (what the derivative near its zero needs).
//
// Explicit vectors rather than a scalar loop left to the auto-vectoriser: GCC turned the range
// checks into branches around the exp, which it cannot if-convert without AVX-512 masking (the
// floating-point operations may trap), so that loop ran scalar on AVX2 and SSE2.
//
// Everything here has internal linkage on purpose (as in gemm_microkernel.h): each SIMD file must
// get its own copy compiled with its own flags.
#pragma once
#include <cstdint>
#include <cstring>

#include "gelu_kernels.h"
#include "simd_exp2.h"

namespace samcobot::cpu {
namespace {

template <int N>
struct GeluVector {
  using V = Exp2Vector<N>;
  using D = typename V::D;
  using I = typename V::I;

  static constexpr double kC = 0.215;
  static constexpr double kQ[11] = {0.08577942900042426, 0.08560579847154764, 0.08361558279742151,  0.06239294812741194,
                                    0.10998493639147554, -0.08463964989585859, 0.2940696521918235,   -0.3241747117966265,
                                    0.30868757058212415, -0.14730828348874425, 0.025986727694242782};
  static D splat(double v) { return V::splat(v); }
  static D load(const float* p) { return V::load(p); }
  static void store(float* p, D v) { V::store(p, V::narrow(v)); }

  struct Normal {
    D cdf, pdf;  // Φ(x), φ(x)
  };

  static Normal normal(D x) {
    const D zero = splat(0), one = splat(1), s2_max = splat(1416);
    D s = (D)((I)x & ~(I{} + INT64_MIN));
    D s2 = s * s;
    auto in_range = s2 <= s2_max;  // false for ±inf and NaN
    D e = V::exp2((in_range ? s2 : s2_max) * -0.72134752044448170368);  // −log2(e) / 2
    e = in_range ? e : zero;
    D t = one / (one + kC * s);
    D q = splat(kQ[10]);
    for (int k = 9; k >= 0; --k) q = q * t + kQ[k];
    D h = t * q * e;
    return {x < zero ? h : one - h, e * 0.39894228040143267794};  // 1 / √(2π)
  }

  static void forward_block(const float* x, float* y) {
    D v = load(x);
    store(y, v * normal(v).cdf);
  }

  static void backward_block(const float* dy, const float* x, float* dx) {
    D v = load(x);
    Normal m = normal(v);
    store(dx, load(dy) * (m.cdf + v * m.pdf));
  }

  // Whole blocks of N in place; the last partial block through zero-padded copies.
  static void forward(const float* x, float* y, int64_t n) {
    int64_t i = 0;
    for (; i + N <= n; i += N) forward_block(x + i, y + i);
    if (i == n) return;
    float xb[N] = {}, yb[N];
    std::memcpy(xb, x + i, (n - i) * sizeof(float));
    forward_block(xb, yb);
    std::memcpy(y + i, yb, (n - i) * sizeof(float));
  }

  static void backward(const float* dy, const float* x, float* dx, int64_t n) {
    int64_t i = 0;
    for (; i + N <= n; i += N) backward_block(dy + i, x + i, dx + i);
    if (i == n) return;
    float dyb[N] = {}, xb[N] = {}, dxb[N];
    std::memcpy(dyb, dy + i, (n - i) * sizeof(float));
    std::memcpy(xb, x + i, (n - i) * sizeof(float));
    backward_block(dyb, xb, dxb);
    std::memcpy(dx + i, dxb, (n - i) * sizeof(float));
  }
};

}  // namespace
}  // namespace samcobot::cpu
