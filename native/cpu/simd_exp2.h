// The double-lane vector types and the 2^u evaluation shared by the vectorised f32 kernels
// (gelu_vector.h, exp_vector.h), written once with the GCC/Clang vector extension and compiled by
// each <kernel>_<level>.cc with its own flags.
//
// 2^u = 2^n · 2^f with n = round(u) and f = u − n in [−½, ½]; 2^f is a minimax fit of relative
// error (Lawson's reweighted least squares in the Chebyshev basis, checked against mpmath in double
// Horner evaluation), degree 6, relative error 1.9e-9: far below the one rounding to float the
// callers end with.
//
// Everything here has internal linkage on purpose (as in gemm_microkernel.h): each SIMD file must
// get its own copy compiled with its own flags.
#pragma once
#include <cstdint>
#include <cstring>

namespace samcobot::cpu {
namespace {

// The vector types of N lanes (kept apart from the kernels' class templates: GCC drops vector_size
// on a member typedef that its own class template's member functions use).
template <int N>
struct Lanes {
  typedef float F __attribute__((vector_size(4 * N)));    // N inputs
  typedef double D __attribute__((vector_size(8 * N)));   // the same lanes, widened
  typedef int64_t I __attribute__((vector_size(8 * N)));  // their bits
};

template <int N>
struct Exp2Vector {
  using F = typename Lanes<N>::F;
  using D = typename Lanes<N>::D;
  using I = typename Lanes<N>::I;

  static constexpr double kExp2[7] = {1.0000000005541665,   0.693147205737266,     0.2402264689063129, 0.05550328776971167,
                                      0.009618488957411785, 0.0013399931217185756, 0.00015345811918105376};

  static D splat(double v) {
    D r;
    for (int i = 0; i < N; ++i) r[i] = v;
    return r;
  }

  static D load(const float* p) {
    F v;
    std::memcpy(&v, p, sizeof v);
    return __builtin_convertvector(v, D);
  }

  static F narrow(D v) { return __builtin_convertvector(v, F); }

  static void store(float* p, F v) { std::memcpy(p, &v, sizeof v); }

  // 2^u for u in [−1022, 1023]. Adding 1.5 · 2^52 rounds u to an integer held in the low mantissa
  // bits, which then become 2^n's exponent field.
  static D exp2(D u) {
    const double shifter = 0x1.8p52;
    D s = u + shifter;
    D f = u - (s - shifter);
    D p = splat(kExp2[6]);
    for (int k = 5; k >= 0; --k) p = p * f + kExp2[k];
    return p * (D)(((I)s + 1023) << 52);
  }
};

}  // namespace
}  // namespace samcobot::cpu
