// The activation formulas, written once for both backends (the CUDA kernels call them on f32
// values, the CPU kernels on f64; CPU f32 GELU has its own vectorised kernels, native/cpu/gelu_vector.h).
// Exact-erf GELU as SAM uses it (sam-architecture.md 2.2):
//   gelu(x)  = ½ x (1 + erf(x / √2)) = x Φ(x),   Φ(x) = ½ erfc(−x / √2)
//   gelu'(x) = Φ(x) + x φ(x),   φ(x) = exp(−x² / 2) / √(2π)
// Φ comes from erfc: the same value, without the cancellation in 1 + erf that leaves no correct
// digit of gelu below x ≈ −5.5 in f32 (−8.2 in f64).
#pragma once
#include <cmath>

#include "../core/random.h"  // SAM_COBOT_HD

namespace samcobot {

template <class T>
SAM_COBOT_HD inline T normal_cdf(T x) {
  using std::erfc;
  return T(0.5) * erfc(x * T(-0.70710678118654752440));
}

template <class T>
SAM_COBOT_HD inline T gelu_value(T x) {
  return x * normal_cdf(x);
}

template <class T>
SAM_COBOT_HD inline T gelu_derivative(T x) {
  using std::exp;
  T pdf = T(0.39894228040143267794) * exp(T(-0.5) * x * x);
  return normal_cdf(x) + x * pdf;
}

}  // namespace samcobot
