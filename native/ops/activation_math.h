// The activation formulas, written once for both backends (the CUDA kernels call them on f32
// values, the CPU kernels on f32 and f64). Exact-erf GELU as SAM uses it (sam-architecture.md 2.2):
//   gelu(x)  = ½ x (1 + erf(x / √2)) = x Φ(x)
//   gelu'(x) = Φ(x) + x φ(x),   φ(x) = exp(−x² / 2) / √(2π)
#pragma once
#include <cmath>

#include "../core/random.h"  // SAM_COBOT_HD

namespace samcobot {

template <class T>
SAM_COBOT_HD inline T gelu_value(T x) {
  using std::erf;
  return T(0.5) * x * (T(1) + erf(x * T(0.70710678118654752440)));
}

template <class T>
SAM_COBOT_HD inline T gelu_derivative(T x) {
  using std::erf;
  using std::exp;
  T cdf = T(0.5) * (T(1) + erf(x * T(0.70710678118654752440)));
  T pdf = T(0.39894228040143267794) * exp(T(-0.5) * x * x);
  return cdf + x * pdf;
}

}  // namespace samcobot
