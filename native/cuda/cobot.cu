// CUDA kernels of the COBOT ops (twins of native/cpu/cobot.cc; the formulas are in
// native/ops/cobot_math.h; method: cobot-method.md §3, §4, §10.3-10.5). Letters: N token rows,
// V bottleneck width (at most 64), T heads. f32 only (validation says so), except dropout.
//
// cobot_prepare, cobot_prepare_backward: one block walks every output entry, each one formula of
//   cobot_math.h. A few thousand entries once per step: one launch is all they cost.
// cobot_bottleneck: κ_t and Q_t are staged in shared memory; each thread computes output elements
//   (row, j) = Σ_v (A[row, v] κ_t[v]) Q_t[v, j] in a grid-stride loop. A row's V threads read it
//   together, so A is read from memory once and out written once.
// cobot_bottleneck_backward: block b owns rows [64b, 64b + 64) (kCobotRowsPerPartial, the CPU's
//   partition) and walks them in tiles of 16 rows staged in shared memory: first S = A ⊙ κ_t and
//   the masked dH per element, then dS = dH·Q_tᵀ and dA = dS ⊙ κ_t, then each thread adds the
//   tile's rows, in order, into the entries of dQ_t and dκ_t it owns (double registers). The
//   block's partials go to the workspace, and a second kernel adds them in block order into row t
//   of dKappa and dQ. No atomics: deterministic, and the same f32 bits as the CPU.
// f32 products and sums use __fmul_rn/__fadd_rn in the CPU's order: a fused multiply-add would round
//   once where the CPU rounds twice, and the outputs (and so the ReLU mask) would differ in the last bit.
// dropout: the counter-based mask of cobot_math.h, so CPU and CUDA keep the same elements.
#include "../ops/cobot_math.h"
#include "cobot.h"
#include "dtype.cuh"
#include "runtime.h"

namespace samcobot::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kTileRows = 16;
constexpr int kWidth = static_cast<int>(kCobotMaxWidth);
// The entries of dQ_t and dκ_t (V² + V) that each of the kThreads threads owns, at most.
constexpr int kOwnedEntries = (kWidth * kWidth + kWidth + kThreads - 1) / kThreads;

int64_t head_index(const OpCall& call) { return static_cast<int64_t>(call.attrs.number_or("head", 0)); }
bool relu_on(const OpCall& call) { return call.attrs.flag("relu"); }

__global__ void prepare_kernel(CobotPrepareMode mode, const float* C, const float* P, const float* gamma, const float* heads,
                               float* kappa, float* q, int64_t V, int64_t T) {
  for (int64_t e = threadIdx.x; e < T * V; e += blockDim.x) kappa[e] = static_cast<float>(cobot_kappa(mode, C, P, gamma, V, T, e / V, e % V));
  for (int64_t e = threadIdx.x; e < T * V * V; e += blockDim.x)
    q[e] = static_cast<float>(cobot_head_matrix(mode.head, heads, V, e / (V * V), e / V % V, e % V));
}

__global__ void prepare_backward_kernel(CobotPrepareMode mode, const float* C, const float* P, const float* dkappa, const float* dq,
                                        float* dc, float* dp, float* dgamma, float* dheads, int64_t head_count, int64_t V, int64_t T) {
  for (int64_t e = threadIdx.x; e < V * T; e += blockDim.x) dc[e] = static_cast<float>(cobot_grad_c(mode, P, dkappa, V, T, e / T, e % T));
  for (int64_t e = threadIdx.x; e < T * T; e += blockDim.x) dp[e] = static_cast<float>(cobot_grad_p(mode, C, dkappa, V, T, e / T, e % T));
  for (int64_t e = threadIdx.x; e < T * V; e += blockDim.x) dgamma[e] = static_cast<float>(cobot_grad_gamma(mode, dkappa, e));
  for (int64_t e = threadIdx.x; e < head_count; e += blockDim.x) dheads[e] = static_cast<float>(cobot_grad_head(mode.head, dq, V, e));
}

// Copies κ_t (V) and Q_t (V, V) into shared memory; the caller synchronises.
__device__ inline void stage_head(const float* kappa, const float* q, int V, float* kappa_s, float* q_s) {
  for (int i = threadIdx.x; i < V * V; i += blockDim.x) q_s[i] = q[i];
  for (int i = threadIdx.x; i < V; i += blockDim.x) kappa_s[i] = kappa[i];
}

__global__ void bottleneck_kernel(const float* a, const float* kappa, const float* q, float* out, int64_t n, int V, bool relu) {
  __shared__ float kappa_s[kWidth];
  __shared__ float q_s[kWidth * kWidth];
  stage_head(kappa, q, V, kappa_s, q_s);
  __syncthreads();
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < n * V; e += int64_t(gridDim.x) * blockDim.x) {
    const float* row = a + (e / V) * V;
    int j = static_cast<int>(e % V);
    float h = 0.f;
    for (int v = 0; v < V; ++v) h = __fadd_rn(h, __fmul_rn(__fmul_rn(row[v], kappa_s[v]), q_s[v * V + j]));
    out[e] = relu && h < 0.f ? 0.f : h;
  }
}

__global__ void bottleneck_backward_rows_kernel(const float* dout, const float* a, const float* kappa, const float* q, const float* out,
                                                float* da, double* partial, int64_t n, int V, bool relu) {
  __shared__ float kappa_s[kWidth];
  __shared__ float q_s[kWidth * kWidth];
  __shared__ float a_s[kTileRows][kWidth];   // A
  __shared__ float s_s[kTileRows][kWidth];   // S = A ⊙ κ_t
  __shared__ float dh_s[kTileRows][kWidth];  // dH = dOut, masked under ReLU
  __shared__ float ds_s[kTileRows][kWidth];  // dS = dH·Q_tᵀ
  stage_head(kappa, q, V, kappa_s, q_s);
  __syncthreads();
  const int entries = V * V + V;
  double acc[kOwnedEntries];
#pragma unroll
  for (int k = 0; k < kOwnedEntries; ++k) acc[k] = 0;
  int64_t begin = blockIdx.x * kCobotRowsPerPartial;
  int64_t end = begin + kCobotRowsPerPartial < n ? begin + kCobotRowsPerPartial : n;
  for (int64_t tile = begin; tile < end; tile += kTileRows) {
    int rows = static_cast<int>(end - tile < kTileRows ? end - tile : kTileRows);
    for (int e = threadIdx.x; e < rows * V; e += blockDim.x) {
      int r = e / V, v = e % V;
      int64_t at = (tile + r) * V + v;
      a_s[r][v] = a[at];
      s_s[r][v] = __fmul_rn(a[at], kappa_s[v]);
      dh_s[r][v] = relu && !(out[at] > 0.f) ? 0.f : dout[at];
    }
    __syncthreads();
    for (int e = threadIdx.x; e < rows * V; e += blockDim.x) {
      int r = e / V, v = e % V;
      float ds = 0.f;
      for (int j = 0; j < V; ++j) ds = __fadd_rn(ds, __fmul_rn(dh_s[r][j], q_s[v * V + j]));
      ds_s[r][v] = ds;
      da[(tile + r) * V + v] = __fmul_rn(ds, kappa_s[v]);
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kOwnedEntries; ++k) {
      int e = threadIdx.x + k * kThreads;
      if (e < V * V) {
        int v = e / V, j = e % V;
        for (int r = 0; r < rows; ++r) acc[k] += double(s_s[r][v]) * double(dh_s[r][j]);
      } else if (e < entries) {
        int v = e - V * V;
        for (int r = 0; r < rows; ++r) acc[k] += double(ds_s[r][v]) * double(a_s[r][v]);
      }
    }
    __syncthreads();
  }
#pragma unroll
  for (int k = 0; k < kOwnedEntries; ++k) {
    int e = threadIdx.x + k * kThreads;
    if (e < entries) partial[blockIdx.x * int64_t(entries) + e] = acc[k];
  }
}

// Adds the blocks' partials, in block order, into dQ_t (V, V) and dκ_t (V).
__global__ void bottleneck_backward_sum_kernel(const double* partial, int64_t blocks, int V, float* dkappa, float* dq) {
  const int entries = V * V + V;
  for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < entries; e += gridDim.x * blockDim.x) {
    double total = 0;
    for (int64_t b = 0; b < blocks; ++b) total += partial[b * entries + e];
    float& target = e < V * V ? dq[e] : dkappa[e - V * V];
    target = static_cast<float>(double(target) + total);
  }
}

template <class T>
__global__ void dropout_kernel(const T* x, T* y, int64_t n, uint64_t seed, double p, float scale) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = from_float<T>(dropout_keeps(seed, i, p) ? __fmul_rn(to_float(x[i]), scale) : 0.f);
}

}  // namespace

void cobot_prepare(const OpCall& call) {
  CobotPrepareMode mode = cobot_prepare_mode(call.name, call.attrs);
  int64_t V = call.in(0).dim(0), T = call.in(0).dim(1);
  prepare_kernel<<<1, kThreads, 0, stream()>>>(mode, call.in(0).data<float>(), call.in(1).data<float>(), call.in(2).data<float>(),
                                              call.in(3).data<float>(), call.out(0).data<float>(), call.out(1).data<float>(), V, T);
  CUDA_CHECK_LAUNCH();
}

void cobot_prepare_backward(const OpCall& call) {
  CobotPrepareMode mode = cobot_prepare_mode(call.name, call.attrs);
  int64_t V = call.in(0).dim(0), T = call.in(0).dim(1);
  prepare_backward_kernel<<<1, kThreads, 0, stream()>>>(mode, call.in(0).data<float>(), call.in(1).data<float>(), call.in(2).data<float>(),
                                                       call.in(3).data<float>(), call.out(0).data<float>(), call.out(1).data<float>(),
                                                       call.out(2).data<float>(), call.out(3).data<float>(), call.out(3).numel(), V, T);
  CUDA_CHECK_LAUNCH();
}

void cobot_bottleneck(const OpCall& call) {
  const Tensor& a = call.in(0);
  int64_t N = a.dim(0), t = head_index(call);
  int V = static_cast<int>(a.dim(1));
  if (N == 0) return;
  bottleneck_kernel<<<grid_for(N * V, kThreads), kThreads, 0, stream()>>>(a.data<float>(), call.in(1).data<float>() + t * V,
                                                                         call.in(2).data<float>() + t * V * V, call.out(0).data<float>(), N, V,
                                                                         relu_on(call));
  CUDA_CHECK_LAUNCH();
}

void cobot_bottleneck_backward(const OpCall& call) {
  int64_t N = call.in(1).dim(0), t = head_index(call);
  int V = static_cast<int>(call.in(1).dim(1));
  if (N == 0) return;
  int64_t blocks = (N + kCobotRowsPerPartial - 1) / kCobotRowsPerPartial;
  int entries = V * V + V;
  double* partial = static_cast<double*>(workspace(size_t(blocks) * size_t(entries) * sizeof(double)));
  bottleneck_backward_rows_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream()>>>(
      call.in(0).data<float>(), call.in(1).data<float>(), call.in(2).data<float>() + t * V, call.in(3).data<float>() + t * V * V,
      call.in(4).data<float>(), call.out(0).data<float>(), partial, N, V, relu_on(call));
  CUDA_CHECK_LAUNCH();
  bottleneck_backward_sum_kernel<<<grid_for(entries, kThreads), kThreads, 0, stream()>>>(partial, blocks, V, call.in(5).data<float>() + t * V,
                                                                                        call.in(6).data<float>() + t * V * V);
  CUDA_CHECK_LAUNCH();
}

void dropout(const OpCall& call) {
  const Tensor& x = call.in(0);
  int64_t n = x.numel();
  if (n == 0) return;
  double p = call.attrs.number_or("p", 0);
  uint64_t seed = static_cast<uint64_t>(call.attrs.number_or("seed", 0));
  float scale = static_cast<float>(1.0 / (1.0 - p));
  for_float_types(call.name, x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    dropout_kernel<<<grid_for(n, kThreads), kThreads, 0, stream()>>>(x.data<T>(), call.out(0).data<T>(), n, seed, p, scale);
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace samcobot::cuda
