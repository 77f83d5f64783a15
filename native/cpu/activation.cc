// Activations on the CPU, forward and backward: exact-erf GELU, ReLU, and the Fourier-feature map
// sin_cos(x (R, F)) = [sin x | cos x] (R, 2F) of SAM's prompt encoder (sam-architecture.md 3.1).
// All are independent per element, split across the pool in fixed chunks. GELU in f32 runs the
// vectorised kernels of gelu_kernels.h for the CPU's SIMD level (the library erf per element cost
// more than the MLP GEMMs); f64, the checks' reference, keeps the library formulas of
// native/ops/activation_math.h, shared with CUDA. The ReLU backward reads the forward output y
// (not x): y > 0 exactly where x > 0, and y is what a module keeps anyway.
#include "activation.h"

#include <cmath>

#include "../core/cpu_features.h"
#include "../core/thread_pool.h"
#include "../ops/activation_math.h"
#include "dispatch.h"
#include "gelu_kernels.h"

namespace samcobot::cpu {
namespace {

constexpr int64_t kGrain = 1 << 13;

// For the float type of `dtype`: make(zero) returns the per-element body (pointers already
// resolved), which is then called for every i in [0, n) across the pool.
template <class Make>
void map_elements(const OpCall& call, DType dtype, int64_t n, Make make) {
  for_float_types(call.name, dtype, [&](auto zero) {
    auto body = make(zero);
    parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) body(i);
    });
  });
}

const GeluKernels& gelu_f32() {
  static const GeluKernels* kernels = [] {
    const GeluKernels* chosen = nullptr;
    if (cpu_level() >= CpuLevel::Avx512) chosen = gelu_kernels_avx512();
    if (!chosen && cpu_level() >= CpuLevel::Avx2Fma) chosen = gelu_kernels_avx2();
    return chosen ? chosen : gelu_kernels_portable();
  }();
  return *kernels;
}

}  // namespace

void gelu(const OpCall& call) {
  const int64_t n = call.in(0).numel();
  if (call.in(0).dtype() == DType::F32) {
    const float* x = call.in(0).data<float>();
    float* y = call.out(0).data<float>();
    parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) { gelu_f32().forward(x + lo, y + lo, hi - lo); });
    return;
  }
  map_elements(call, call.in(0).dtype(), n, [&](auto zero) {
    using T = decltype(zero);
    const T* x = call.in(0).data<T>();
    T* y = call.out(0).data<T>();
    return [=](int64_t i) { y[i] = gelu_value(x[i]); };
  });
}

void gelu_backward(const OpCall& call) {
  const int64_t n = call.in(0).numel();
  if (call.in(0).dtype() == DType::F32) {
    const float* dy = call.in(0).data<float>();
    const float* x = call.in(1).data<float>();
    float* dx = call.out(0).data<float>();
    parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) { gelu_f32().backward(dy + lo, x + lo, dx + lo, hi - lo); });
    return;
  }
  map_elements(call, call.in(0).dtype(), n, [&](auto zero) {
    using T = decltype(zero);
    const T* dy = call.in(0).data<T>();
    const T* x = call.in(1).data<T>();
    T* dx = call.out(0).data<T>();
    return [=](int64_t i) { dx[i] = dy[i] * gelu_derivative(x[i]); };
  });
}

void relu(const OpCall& call) {
  map_elements(call, call.in(0).dtype(), call.in(0).numel(), [&](auto zero) {
    using T = decltype(zero);
    const T* x = call.in(0).data<T>();
    T* y = call.out(0).data<T>();
    return [=](int64_t i) { y[i] = x[i] <= T(0) ? T(0) : x[i]; };  // NaN passes through, as in PyTorch
  });
}

void relu_backward(const OpCall& call) {
  map_elements(call, call.in(0).dtype(), call.in(0).numel(), [&](auto zero) {
    using T = decltype(zero);
    const T* dy = call.in(0).data<T>();
    const T* y = call.in(1).data<T>();
    T* dx = call.out(0).data<T>();
    return [=](int64_t i) { dx[i] = y[i] > T(0) ? dy[i] : T(0); };
  });
}

// x (R, F) -> y (R, 2F); element i of x is (r, f) = (i / F, i % F).
void sin_cos(const OpCall& call) {
  const int64_t F = call.in(0).dim(-1);
  map_elements(call, call.in(0).dtype(), call.in(0).numel(), [&](auto zero) {
    using T = decltype(zero);
    const T* x = call.in(0).data<T>();
    T* y = call.out(0).data<T>();
    return [=](int64_t i) {
      T* row = y + (i / F) * 2 * F + i % F;
      row[0] = std::sin(x[i]);
      row[F] = std::cos(x[i]);
    };
  });
}

// dy (R, 2F), x (R, F) -> dx (R, F) = dy_sin · cos x − dy_cos · sin x.
void sin_cos_backward(const OpCall& call) {
  const int64_t F = call.in(1).dim(-1);
  map_elements(call, call.in(1).dtype(), call.in(1).numel(), [&](auto zero) {
    using T = decltype(zero);
    const T* dy = call.in(0).data<T>();
    const T* x = call.in(1).data<T>();
    T* dx = call.out(0).data<T>();
    return [=](int64_t i) {
      const T* row = dy + (i / F) * 2 * F + i % F;
      dx[i] = row[0] * std::cos(x[i]) - row[F] * std::sin(x[i]);
    };
  });
}

}  // namespace samcobot::cpu
