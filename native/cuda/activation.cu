// Activations on CUDA, the twins of native/cpu/activation.cc: exact-erf GELU (formulas shared in
// native/ops/activation_math.h), ReLU, and sin_cos(x (R, F)) = [sin x | cos x] (R, 2F), each with
// its backward. f32, bf16 and f16 storage, f32 arithmetic (erff, expf, sinf, cosf: full-accuracy
// versions, the build does not use fast math). One grid-stride loop per op: memory-bound, nothing
// to gain from more.
#include "../ops/activation_math.h"
#include "activation.h"
#include "dtype.cuh"
#include "runtime.h"

namespace samcobot::cuda {
namespace {

constexpr int kThreads = 256;

enum class Pointwise { Gelu, GeluBackward, Relu, ReluBackward };

// out = f(a) for the forwards; out = f(a = dy, b = the saved tensor) for the backwards.
template <class T, Pointwise kOp>
__global__ void pointwise_kernel(const T* a, const T* b, T* out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float v = to_float(a[i]);
    float r;
    if constexpr (kOp == Pointwise::Gelu) r = gelu_value(v);
    else if constexpr (kOp == Pointwise::GeluBackward) r = v * gelu_derivative(to_float(b[i]));
    else if constexpr (kOp == Pointwise::Relu) r = v <= 0.0f ? 0.0f : v;  // NaN passes through, as on the CPU
    else r = to_float(b[i]) > 0.0f ? v : 0.0f;
    out[i] = from_float<T>(r);
  }
}

template <Pointwise kOp>
void launch_pointwise(const OpCall& call) {
  const int64_t n = call.in(0).numel();
  if (n == 0) return;
  for_float_types(call.name, call.in(0).dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* b = call.inputs.size() > 1 ? call.in(1).data<T>() : nullptr;
    pointwise_kernel<T, kOp><<<grid_for(n, kThreads), kThreads, 0, stream()>>>(call.in(0).data<T>(), b, call.out(0).data<T>(), n);
    CUDA_CHECK_LAUNCH();
  });
}

// Element i of x (R, F) is (r, f) = (i / F, i % F); its sin and cos sit at r·2F + f and r·2F + F + f.
template <class T>
__global__ void sin_cos_kernel(const T* x, T* y, int64_t n, int64_t F) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float v = to_float(x[i]);
    T* row = y + (i / F) * 2 * F + i % F;
    row[0] = from_float<T>(sinf(v));
    row[F] = from_float<T>(cosf(v));
  }
}

template <class T>
__global__ void sin_cos_backward_kernel(const T* dy, const T* x, T* dx, int64_t n, int64_t F) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float v = to_float(x[i]);
    const T* row = dy + (i / F) * 2 * F + i % F;
    dx[i] = from_float<T>(to_float(row[0]) * cosf(v) - to_float(row[F]) * sinf(v));
  }
}

}  // namespace

void gelu(const OpCall& call) { launch_pointwise<Pointwise::Gelu>(call); }
void gelu_backward(const OpCall& call) { launch_pointwise<Pointwise::GeluBackward>(call); }
void relu(const OpCall& call) { launch_pointwise<Pointwise::Relu>(call); }
void relu_backward(const OpCall& call) { launch_pointwise<Pointwise::ReluBackward>(call); }

void sin_cos(const OpCall& call) {
  const Tensor& x = call.in(0);
  const int64_t n = x.numel();
  if (n == 0) return;
  for_float_types(call.name, x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    sin_cos_kernel<T><<<grid_for(n, kThreads), kThreads, 0, stream()>>>(x.data<T>(), call.out(0).data<T>(), n, x.dim(-1));
    CUDA_CHECK_LAUNCH();
  });
}

void sin_cos_backward(const OpCall& call) {
  const Tensor& x = call.in(1);
  const int64_t n = x.numel();
  if (n == 0) return;
  for_float_types(call.name, x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    sin_cos_backward_kernel<T><<<grid_for(n, kThreads), kThreads, 0, stream()>>>(call.in(0).data<T>(), x.data<T>(), call.out(0).data<T>(), n,
                                                                                 x.dim(-1));
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace samcobot::cuda
