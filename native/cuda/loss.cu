// The mask losses and the IoU-prediction MSE on CUDA: the twin of native/cpu/loss.cc (formulas:
// native/ops/loss_math.h). Logits and targets are f32, bf16 or f16; arithmetic is f32 per pixel
// and double for every sum.
//
// mask_loss runs three kernels, with no atomics, so the result is deterministic:
//  1. one block per (mask, chunk of kLossChunk pixels) collects the chunk's sums (the same fixed
//     partition as the CPU), finished by a tree in shared memory;
//  2. one block adds each mask's chunks in order, derives the mask's terms and gradient
//     coefficients, and its thread 0 averages the masks in order into total and terms;
//  3. a grid-stride pass writes the gradient of every pixel from its mask's coefficients.
// Scratch (partial sums, per-mask terms and coefficients) lives in the backend's workspace.
#include "../ops/loss_math.h"
#include "dtype.cuh"
#include "loss.h"
#include "runtime.h"

namespace samcobot::cuda {
namespace {

constexpr int kThreads = 256;

// Sums each of the N values of every thread of the block into sums[s][0], in a fixed tree.
template <int N>
__device__ void block_sums(double (*sums)[kThreads], const double* values) {
  for (int s = 0; s < N; ++s) sums[s][threadIdx.x] = values[s];
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half)
      for (int s = 0; s < N; ++s) sums[s][threadIdx.x] += sums[s][threadIdx.x + half];
    __syncthreads();
  }
}

int64_t chunks_of(int64_t n) { return (n + kLossChunk - 1) / kLossChunk; }

// Block `item` = m · chunks + k sums chunk k of mask m into partial[item] (kMaskSums values).
template <class T>
__global__ void mask_sums_kernel(const T* z, const T* g, int64_t M, int64_t chunks, float gamma, float alpha, double* partial) {
  __shared__ double sums[kMaskSums][kThreads];
  const int64_t item = blockIdx.x, m = item / chunks;
  const int64_t lo = m * M + (item % chunks) * kLossChunk, hi = min(lo + kLossChunk, (m + 1) * M);
  double mine[kMaskSums] = {};
  for (int64_t i = lo + threadIdx.x; i < hi; i += kThreads) add_pixel_sums(mine, to_float(z[i]), to_float(g[i]), gamma, alpha);
  block_sums<kMaskSums>(sums, mine);
  if (threadIdx.x < kMaskSums) partial[item * kMaskSums + threadIdx.x] = sums[threadIdx.x][0];
}

// One block: mask m's chunks in order → its terms (3 per mask) and coefficients; thread 0 then
// averages the masks in order.
template <class T>
__global__ void mask_finish_kernel(const double* partial, int64_t P, int64_t M, int64_t chunks, MaskLossConfig c, double* terms,
                                   MaskGradCoefficients<float>* coefficients, T* total, T* means) {
  for (int64_t m = threadIdx.x; m < P; m += blockDim.x) {
    double sums[kMaskSums] = {};
    for (int64_t k = 0; k < chunks; ++k)
      for (int s = 0; s < kMaskSums; ++s) sums[s] += partial[(m * chunks + k) * kMaskSums + s];
    MaskLossTerms t = mask_loss_terms(sums, M, c);
    terms[m * 3 + 0] = t.bce;
    terms[m * 3 + 1] = t.dice;
    terms[m * 3 + 2] = t.focal;
    coefficients[m] = mask_grad_coefficients<float>(sums, P, M, c);
  }
  __syncthreads();
  if (threadIdx.x != 0) return;
  double sum[3] = {0, 0, 0};
  for (int64_t m = 0; m < P; ++m)
    for (int i = 0; i < 3; ++i) sum[i] += terms[m * 3 + i];
  for (int i = 0; i < 3; ++i) means[i] = from_float<T>(float(sum[i] / double(P)));
  total[0] = from_float<T>(float((c.w_bce * sum[0] + c.w_dice * sum[1] + c.w_focal * sum[2]) / double(P)));
}

template <class T>
__global__ void mask_grad_kernel(const T* z, const T* g, int64_t n, int64_t M, const MaskGradCoefficients<float>* coefficients, bool squared,
                                 float gamma, float alpha, T* dz) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    dz[i] = from_float<T>(pixel_grad(to_float(z[i]), to_float(g[i]), coefficients[i / M], squared, gamma, alpha));
}

// Block k: Σ (pred − target)² over chunk k into partial[k], and dpred = slope · (pred − target).
template <class T>
__global__ void mse_chunks_kernel(const T* pred, const T* target, int64_t n, float slope, double* partial, T* dpred) {
  __shared__ double sums[1][kThreads];
  const int64_t lo = int64_t(blockIdx.x) * kLossChunk, hi = min(lo + kLossChunk, n);
  double mine = 0;
  for (int64_t i = lo + threadIdx.x; i < hi; i += kThreads) {
    const float d = to_float(pred[i]) - to_float(target[i]);
    mine += double(d) * double(d);
    dpred[i] = from_float<T>(slope * d);
  }
  block_sums<1>(sums, &mine);
  if (threadIdx.x == 0) partial[blockIdx.x] = sums[0][0];
}

template <class T>
__global__ void mse_finish_kernel(const double* partial, int64_t chunks, int64_t n, T* loss) {
  double sum = 0;
  for (int64_t k = 0; k < chunks; ++k) sum += partial[k];
  loss[0] = from_float<T>(float(sum / double(n)));
}

// The workspace carved into aligned pieces.
struct Scratch {
  char* base;
  size_t used = 0;
  template <class U>
  U* take(int64_t count) {
    U* p = reinterpret_cast<U*>(base + used);
    used += (size_t(count) * sizeof(U) + 255) / 256 * 256;
    return p;
  }
};

}  // namespace

void mask_loss(const OpCall& call) {
  const MaskLossConfig c = mask_loss_config(call.name, call.attrs);
  const Tensor& logits = call.in(0);
  const int64_t P = logits.dim(0), M = logits.numel() / P, chunks = chunks_of(M);
  const size_t bytes = (size_t(P * chunks * kMaskSums + P * 3) * sizeof(double) + size_t(P) * sizeof(MaskGradCoefficients<float>)) + 3 * 256;
  Scratch scratch{static_cast<char*>(workspace(bytes))};
  double* partial = scratch.take<double>(P * chunks * kMaskSums);
  double* terms = scratch.take<double>(P * 3);
  auto* coefficients = scratch.take<MaskGradCoefficients<float>>(P);
  const float gamma = float(c.gamma), alpha = float(c.alpha);
  for_float_types(call.name, logits.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T *z = logits.data<T>(), *g = call.in(1).data<T>();
    mask_sums_kernel<<<unsigned(P * chunks), kThreads, 0, stream()>>>(z, g, M, chunks, gamma, alpha, partial);
    CUDA_CHECK_LAUNCH();
    mask_finish_kernel<<<1, kThreads, 0, stream()>>>(partial, P, M, chunks, c, terms, coefficients, call.out(0).data<T>(), call.out(1).data<T>());
    CUDA_CHECK_LAUNCH();
    mask_grad_kernel<<<grid_for(P * M, kThreads), kThreads, 0, stream()>>>(z, g, P * M, M, coefficients, c.squared, gamma, alpha,
                                                                        call.out(2).data<T>());
    CUDA_CHECK_LAUNCH();
  });
}

void mse_loss(const OpCall& call) {
  const int64_t n = call.in(0).numel(), chunks = chunks_of(n);
  const float slope = float(2.0 * call.attrs.number_or("gradScale", 1) / double(n));
  double* partial = static_cast<double*>(workspace(size_t(chunks) * sizeof(double)));
  for_float_types(call.name, call.in(0).dtype(), [&](auto zero) {
    using T = decltype(zero);
    mse_chunks_kernel<<<unsigned(chunks), kThreads, 0, stream()>>>(call.in(0).data<T>(), call.in(1).data<T>(), n, slope, partial, call.out(1).data<T>());
    CUDA_CHECK_LAUNCH();
    mse_finish_kernel<<<1, 1, 0, stream()>>>(partial, chunks, n, call.out(0).data<T>());
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace samcobot::cuda
