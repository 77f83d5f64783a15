// LayerNorm on CUDA, forward and backward: the twin of native/cpu/norm.cc (same formulas, same
// (O, C, I) view of native/ops/norm_shape.h). x, weight and bias are f32, bf16 or f16; arithmetic
// and the statistics (mean, rstd) are f32.
//
// Two thread layouts, as the memory layouts differ:
//  - I = 1 (tokens (..., C)): one warp per row, lanes striding over the contiguous channels, the
//    sums finished by an xor butterfly (every lane ends with the same bits).
//  - I > 1 (NCHW maps): a block of 32 positions x 8 channel groups; along x the positions are
//    contiguous (coalesced), the 8 partial sums of a position are added in a fixed order.
// Each pass re-reads x from L1/L2 rather than holding a row in registers: LayerNorm is bound by
// HBM traffic, which this keeps at one read of x (and dy) and one write of y (dx).
// dweight and dbias are deterministic: fixed chunks of positions write partial sums (no atomics),
// and a last kernel adds each channel's partials in chunk order, in double.
#include "../ops/norm_shape.h"
#include "dtype.cuh"
#include "norm.h"
#include "runtime.h"

namespace samcobot::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int kRowsPerBlock = 8;   // warps (rows) per block when I = 1
constexpr int kGroups = 8;         // channel groups per block when I > 1
constexpr int64_t kChunkRows = 64;     // rows per partial-sum chunk when I = 1
constexpr int64_t kChunkInner = 2048;  // positions per partial-sum chunk when I > 1
constexpr int kReduceThreads = 256;

__device__ inline float warp_all_sum(float v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// The sum over threadIdx.y of v for this threadIdx.x, in a fixed order; every thread gets it.
__device__ inline float group_sum(float v, float (*scratch)[kWarp + 1]) {
  scratch[threadIdx.y][threadIdx.x] = v;
  __syncthreads();
  float s = 0;
  for (int g = 0; g < kGroups; ++g) s += scratch[g][threadIdx.x];
  __syncthreads();
  return s;
}

template <class T>
__global__ void forward_rows_kernel(const T* x, const T* w, const T* b, float eps, int64_t rows, int64_t C, T* y, float* mean, float* rstd) {
  const int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= rows) return;
  const T* xr = x + row * C;
  float s = 0;
  for (int64_t c = lane; c < C; c += kWarp) s += to_float(xr[c]);
  const float mu = warp_all_sum(s) / float(C);
  float v = 0;
  for (int64_t c = lane; c < C; c += kWarp) {
    float d = to_float(xr[c]) - mu;
    v += d * d;
  }
  const float rs = 1.0f / sqrtf(warp_all_sum(v) / float(C) + eps);
  T* yr = y + row * C;
  for (int64_t c = lane; c < C; c += kWarp) yr[c] = from_float<T>((to_float(xr[c]) - mu) * rs * to_float(w[c]) + to_float(b[c]));
  if (lane == 0) {
    mean[row] = mu;
    rstd[row] = rs;
  }
}

template <class T>
__global__ void forward_columns_kernel(const T* x, const T* w, const T* b, float eps, NormShape s, T* y, float* mean, float* rstd) {
  __shared__ float scratch[kGroups][kWarp + 1];
  const int64_t p = int64_t(blockIdx.x) * kWarp + threadIdx.x;
  const bool live = p < s.positions();
  const int64_t base = live ? (p / s.inner) * s.channels * s.inner + p % s.inner : 0;
  const int64_t C = s.channels, I = s.inner;
  float acc = 0;
  if (live)
    for (int64_t c = threadIdx.y; c < C; c += kGroups) acc += to_float(x[base + c * I]);
  const float mu = group_sum(acc, scratch) / float(C);
  acc = 0;
  if (live)
    for (int64_t c = threadIdx.y; c < C; c += kGroups) {
      float d = to_float(x[base + c * I]) - mu;
      acc += d * d;
    }
  const float rs = 1.0f / sqrtf(group_sum(acc, scratch) / float(C) + eps);
  if (!live) return;
  for (int64_t c = threadIdx.y; c < C; c += kGroups)
    y[base + c * I] = from_float<T>((to_float(x[base + c * I]) - mu) * rs * to_float(w[c]) + to_float(b[c]));
  if (threadIdx.y == 0) {
    mean[p] = mu;
    rstd[p] = rs;
  }
}

// dx = rstd · (g − mean_c(g) − x̂ · mean_c(g · x̂)), g = dy · w, x̂ = (x − mean) · rstd.
template <class T>
__global__ void backward_rows_kernel(const T* dy, const T* x, const T* w, const float* mean, const float* rstd, int64_t rows, int64_t C, T* dx) {
  const int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= rows) return;
  const T *dyr = dy + row * C, *xr = x + row * C;
  const float mu = mean[row], rs = rstd[row];
  float sg = 0, sgx = 0;
  for (int64_t c = lane; c < C; c += kWarp) {
    float g = to_float(dyr[c]) * to_float(w[c]);
    sg += g;
    sgx += g * (to_float(xr[c]) - mu) * rs;
  }
  const float g_mean = warp_all_sum(sg) / float(C), gx_mean = warp_all_sum(sgx) / float(C);
  T* dxr = dx + row * C;
  for (int64_t c = lane; c < C; c += kWarp) {
    float xhat = (to_float(xr[c]) - mu) * rs;
    dxr[c] = from_float<T>(rs * (to_float(dyr[c]) * to_float(w[c]) - g_mean - xhat * gx_mean));
  }
}

template <class T>
__global__ void backward_columns_kernel(const T* dy, const T* x, const T* w, const float* mean, const float* rstd, NormShape s, T* dx) {
  __shared__ float scratch[kGroups][kWarp + 1];
  const int64_t p = int64_t(blockIdx.x) * kWarp + threadIdx.x;
  const bool live = p < s.positions();
  const int64_t base = live ? (p / s.inner) * s.channels * s.inner + p % s.inner : 0;
  const int64_t C = s.channels, I = s.inner;
  const float mu = live ? mean[p] : 0.0f, rs = live ? rstd[p] : 0.0f;
  float sg = 0, sgx = 0;
  if (live)
    for (int64_t c = threadIdx.y; c < C; c += kGroups) {
      float g = to_float(dy[base + c * I]) * to_float(w[c]);
      sg += g;
      sgx += g * (to_float(x[base + c * I]) - mu) * rs;
    }
  const float g_mean = group_sum(sg, scratch) / float(C);
  const float gx_mean = group_sum(sgx, scratch) / float(C);
  if (!live) return;
  for (int64_t c = threadIdx.y; c < C; c += kGroups) {
    float xhat = (to_float(x[base + c * I]) - mu) * rs;
    dx[base + c * I] = from_float<T>(rs * (to_float(dy[base + c * I]) * to_float(w[c]) - g_mean - xhat * gx_mean));
  }
}

// I = 1: thread c of chunk k sums dy·x̂ and dy over the chunk's rows into partial[k] = [dw (C) | db (C)].
// Block b covers chunk b / channel_blocks and channels (b % channel_blocks) · blockDim.x onwards.
template <class T>
__global__ void partial_rows_kernel(const T* dy, const T* x, const float* mean, const float* rstd, int64_t rows, int64_t C, float* partial) {
  const int64_t channel_blocks = (C + blockDim.x - 1) / blockDim.x;
  const int64_t k = blockIdx.x / channel_blocks;
  const int64_t c = (blockIdx.x % channel_blocks) * blockDim.x + threadIdx.x;
  if (c >= C) return;
  const int64_t r0 = k * kChunkRows, r1 = min(rows, r0 + kChunkRows);
  float sw = 0, sb = 0;
  for (int64_t r = r0; r < r1; ++r) {
    float d = to_float(dy[r * C + c]);
    sw += d * (to_float(x[r * C + c]) - mean[r]) * rstd[r];
    sb += d;
  }
  partial[k * 2 * C + c] = sw;
  partial[k * 2 * C + C + c] = sb;
}

// I > 1: block k·C + c reduces chunk k's positions (one outer o, a range of i) for channel c, in a fixed tree.
template <class T>
__global__ void partial_columns_kernel(const T* dy, const T* x, const float* mean, const float* rstd, NormShape s, float* partial) {
  __shared__ float sums[2][kReduceThreads];
  const int64_t C = s.channels, I = s.inner;
  const int64_t k = blockIdx.x / C, c = blockIdx.x % C;
  const int64_t chunks_per_outer = (I + kChunkInner - 1) / kChunkInner;
  const int64_t o = k / chunks_per_outer, i0 = (k % chunks_per_outer) * kChunkInner;
  const int64_t i1 = min(I, i0 + kChunkInner);
  float sw = 0, sb = 0;
  for (int64_t i = i0 + threadIdx.x; i < i1; i += kReduceThreads) {
    float d = to_float(dy[(o * C + c) * I + i]);
    sw += d * (to_float(x[(o * C + c) * I + i]) - mean[o * I + i]) * rstd[o * I + i];
    sb += d;
  }
  sums[0][threadIdx.x] = sw;
  sums[1][threadIdx.x] = sb;
  __syncthreads();
  for (int half = kReduceThreads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) {
      sums[0][threadIdx.x] += sums[0][threadIdx.x + half];
      sums[1][threadIdx.x] += sums[1][threadIdx.x + half];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    partial[k * 2 * C + c] = sums[0][0];
    partial[k * 2 * C + C + c] = sums[1][0];
  }
}

// dw[c] = Σ_k partial[k][c], db[c] = Σ_k partial[k][C + c], in chunk order.
template <class T>
__global__ void sum_partials_kernel(const float* partial, int64_t chunks, int64_t C, T* dw, T* db) {
  const int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= 2 * C) return;
  double acc = 0;
  for (int64_t k = 0; k < chunks; ++k) acc += partial[k * 2 * C + j];
  if (j < C) dw[j] = from_float<T>(float(acc));
  else db[j - C] = from_float<T>(float(acc));
}

int64_t axis_of(const Attrs& attrs) { return attrs.number_or("axis", -1) == 1 ? 1 : -1; }

unsigned blocks(int64_t n, int64_t per_block) { return static_cast<unsigned>((n + per_block - 1) / per_block); }

}  // namespace

void layer_norm(const OpCall& call) {
  NormShape s = norm_shape(call.in(0), axis_of(call.attrs));
  if (s.positions() == 0) return;
  float eps = static_cast<float>(call.attrs.number_or("eps", 1e-5));
  for_float_types(call.name, call.in(0).dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T *x = call.in(0).data<T>(), *w = call.in(1).data<T>(), *b = call.in(2).data<T>();
    T* y = call.out(0).data<T>();
    float *mean = call.out(1).data<float>(), *rstd = call.out(2).data<float>();
    if (s.inner == 1)
      forward_rows_kernel<<<blocks(s.outer, kRowsPerBlock), kRowsPerBlock * kWarp, 0, stream()>>>(x, w, b, eps, s.outer, s.channels, y, mean, rstd);
    else
      forward_columns_kernel<<<blocks(s.positions(), kWarp), dim3(kWarp, kGroups), 0, stream()>>>(x, w, b, eps, s, y, mean, rstd);
    CUDA_CHECK_LAUNCH();
  });
}

void layer_norm_backward(const OpCall& call) {
  NormShape s = norm_shape(call.in(1), axis_of(call.attrs));
  const bool need_weight = call.outputs.size() == 3;
  const int64_t C = s.channels;
  for_float_types(call.name, call.in(1).dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T *dy = call.in(0).data<T>(), *x = call.in(1).data<T>(), *w = call.in(2).data<T>();
    const float *mean = call.in(3).data<float>(), *rstd = call.in(4).data<float>();
    if (s.positions() > 0) {
      if (s.inner == 1)
        backward_rows_kernel<<<blocks(s.outer, kRowsPerBlock), kRowsPerBlock * kWarp, 0, stream()>>>(dy, x, w, mean, rstd, s.outer, C,
                                                                                                      call.out(0).data<T>());
      else
        backward_columns_kernel<<<blocks(s.positions(), kWarp), dim3(kWarp, kGroups), 0, stream()>>>(dy, x, w, mean, rstd, s,
                                                                                                      call.out(0).data<T>());
      CUDA_CHECK_LAUNCH();
    }
    if (!need_weight) return;
    const int64_t chunks = s.inner == 1 ? blocks(s.outer, kChunkRows) : s.outer * blocks(s.inner, kChunkInner);
    Tensor partial = Tensor::empty({std::max<int64_t>(chunks, 1) * 2 * C}, DType::F32, Device::Cuda);
    if (chunks > 0) {
      if (s.inner == 1)
        partial_rows_kernel<<<unsigned(chunks * blocks(C, kReduceThreads)), kReduceThreads, 0, stream()>>>(dy, x, mean, rstd, s.outer, C,
                                                                                                          partial.data<float>());
      else
        partial_columns_kernel<<<unsigned(chunks * C), kReduceThreads, 0, stream()>>>(dy, x, mean, rstd, s, partial.data<float>());
      CUDA_CHECK_LAUNCH();
    }
    sum_partials_kernel<<<blocks(2 * C, kReduceThreads), kReduceThreads, 0, stream()>>>(partial.data<float>(), chunks, C, call.out(1).data<T>(),
                                                                                       call.out(2).data<T>());
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace samcobot::cuda
