// CUDA kernels of the attention family (twins of native/cpu/attention.cc, same math, same letters):
// flash-style attention with SAM's decomposed relative-position bias (sam-architecture.md 2.3),
// and its backward, in f32.
//
//   logit[t,u] = scale q_t.k_u + rel[t, r_u] + rel[t, gh + c_u]
//   rel[t, r] = q_t . rel_pos_h[r_t - r + gh - 1],  rel[t, gh + c] = q_t . rel_pos_w[c_t - c + gw - 1]
//
// Forward: relative_logits_kernel writes rel (BH, N, R) once (R = gh + gw, a few % of the work);
// then one block per (bh, 64 queries) walks the keys in tiles of 64 through shared memory: each of
// the 128 threads computes a 4 x 8 patch of the 64 x 64 logits (queries 4 rg .. 4 rg + 3, keys
// cg + 8 j), adds the bias gathered from rel, and keeps the online softmax (running max and sum of
// its 4 rows, reduced over the 8 threads of a row by warp shuffles); P goes through shared memory
// to acc += P V, each thread owning 4 rows x columns cg + 8 c of the output. Scores never leave
// the chip: there is no N x M buffer.
//
// Backward (FlashAttention-2, P recomputed from lse; delta_t = dout_t . out_t from delta_kernel):
//   dkdv_kernel, one block per (bh, 64 keys), walks the queries in steps of 32 and accumulates
//     dv = P^T dout and dk = scale dS^T q in registers (dS = P o (dP - delta), dP = dout V^T);
//   dq_kernel, one block per (bh, 64 queries), walks the keys and accumulates dq = scale dS K;
//     per key tile it sums dS over each grid row and column of the tile into drel (BH, N, R), each
//     (t, index) by one thread, then adds drel through the tables into dq at the end;
//   table_partial_kernel and table_sum_kernel reduce drel * q into the table gradients: a fixed
//     split over bh chunks, then the chunks summed in order.
// Every output element is written by one thread and every sum runs in a fixed order: no atomics,
// and the same inputs give the same bits. Sums run in another order than on the CPU, so parity
// holds to rounding (tolerances in native/tests/parity_attention.cc).
//
// Head widths up to 128 (template on the output columns per thread: 4, 8 or 16, i.e. widths
// <= 32, 64, 128); any width works (ViT-H's 80, 20, 8). Shared memory is sized at launch from D.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "../ops/attention_shape.h"
#include "attention.h"
#include "runtime.h"

namespace samcobot::cuda {
namespace {

constexpr int kThreads = 128;    // 16 row groups x 8 column groups
constexpr int kColGroups = 8;    // threads sharing a row (consecutive lanes of one warp)
constexpr int kRows = 4;         // rows per thread
constexpr int kTileQ = 64;       // queries per block (forward, dq)
constexpr int kTileK = 64;       // keys per tile (and per dkdv block)
constexpr int kStepQ = 32;       // queries per step of the dkdv block
constexpr int kMaxWidth = int(kCudaMaxHeadWidth);

struct Geometry {
  int BH, N, M, D, Dv;
  float scale;
  int gh, gw, R;  // R = 0 without tables
};

Geometry geometry_of(const AttentionShape& s) {
  return {int(s.BH), int(s.N), int(s.M), int(s.D), int(s.Dv), float(s.scale), int(s.gh), int(s.gw), int(s.rel_width())};
}

__host__ __device__ inline int ceil_div(int a, int b) { return (a + b - 1) / b; }

// Copies rows [0, rows) of a (rows_total x width) row-major block into a shared tile with leading
// dimension ld, zero-filling rows [rows, tile_rows): the padded rows then contribute exact zeros.
__device__ void load_tile(float* tile, int ld, const float* __restrict__ src, int width, int rows, int tile_rows) {
  for (int idx = threadIdx.x; idx < tile_rows * width; idx += kThreads) {
    const int r = idx / width, c = idx % width;
    tile[r * ld + c] = r < rows ? src[int64_t(r) * width + c] : 0.f;
  }
}

// s[i][j] = a_i . b_j over `width`, with a_i = a[i * lda ...] and b_j = b[kColGroups * j * ldb ...]
// (shared memory; the caller offsets a and b to the thread's first row and column).
template <int NJ>
__device__ __forceinline__ void tile_dot(float (&s)[kRows][NJ], const float* a, int lda, const float* b, int ldb, int width) {
#pragma unroll
  for (int i = 0; i < kRows; ++i)
#pragma unroll
    for (int j = 0; j < NJ; ++j) s[i][j] = 0.f;
  for (int e = 0; e < width; ++e) {
    float av[kRows], bv[NJ];
#pragma unroll
    for (int i = 0; i < kRows; ++i) av[i] = a[i * lda + e];
#pragma unroll
    for (int j = 0; j < NJ; ++j) bv[j] = b[kColGroups * j * ldb + e];
#pragma unroll
    for (int i = 0; i < kRows; ++i)
#pragma unroll
      for (int j = 0; j < NJ; ++j) s[i][j] = fmaf(av[i], bv[j], s[i][j]);
  }
}

// The relative bias of query t against key u of one bh slice (t < N).
__device__ __forceinline__ float bias(const Geometry& g, const float* __restrict__ rel, int bh, int t, int u) {
  const float* row = rel + (int64_t(bh) * g.N + t) * g.R;
  return row[u / g.gw] + row[g.gh + u % g.gw];
}

// Reduces over the 8 consecutive lanes of a row group, in a fixed butterfly order.
__device__ __forceinline__ float group_max(float x) {
#pragma unroll
  for (int offset = 1; offset < kColGroups; offset <<= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, offset));
  return x;
}

__device__ __forceinline__ float group_sum(float x) {
#pragma unroll
  for (int offset = 1; offset < kColGroups; offset <<= 1) x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}

// rel (BH, N, R): one thread per entry.
__global__ void relative_logits_kernel(Geometry g, const float* __restrict__ q, const float* __restrict__ rel_pos_h,
                                       const float* __restrict__ rel_pos_w, float* __restrict__ rel) {
  const int64_t total = int64_t(g.BH) * g.N * g.R;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total; idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = idx / g.R;
    const int x = int(idx % g.R), t = int(row % g.N);
    const float* table = x < g.gh ? rel_pos_h + int64_t(t / g.gw - x + g.gh - 1) * g.D
                                  : rel_pos_w + int64_t(t % g.gw - (x - g.gh) + g.gw - 1) * g.D;
    const float* qt = q + row * g.D;
    float sum = 0.f;
    for (int d = 0; d < g.D; ++d) sum = fmaf(qt[d], table[d], sum);
    rel[idx] = sum;
  }
}

template <int kCols>
__global__ void __launch_bounds__(kThreads) forward_kernel(Geometry g, const float* __restrict__ q, const float* __restrict__ k,
                                                           const float* __restrict__ v, const float* __restrict__ rel,
                                                           float* __restrict__ out, float* __restrict__ lse) {
  extern __shared__ float smem[];
  const int ldq = g.D + 1, ldv = g.Dv, ldp = kTileK + 1;
  float* q_s = smem;                  // (kTileQ, D)
  float* k_s = q_s + kTileQ * ldq;    // (kTileK, D)
  float* v_s = k_s + kTileK * ldq;    // (kTileK, Dv)
  float* p_s = v_s + kTileK * ldv;    // (kTileQ, kTileK)
  const int tiles = ceil_div(g.N, kTileQ);
  const int bh = blockIdx.x / tiles, t0 = blockIdx.x % tiles * kTileQ;
  const int rg = threadIdx.x / kColGroups, cg = threadIdx.x % kColGroups;
  const float* kb = k + int64_t(bh) * g.M * g.D;
  const float* vb = v + int64_t(bh) * g.M * g.Dv;
  load_tile(q_s, ldq, q + (int64_t(bh) * g.N + t0) * g.D, g.D, min(kTileQ, g.N - t0), kTileQ);

  float row_max[kRows], row_sum[kRows], acc[kRows][kCols];
#pragma unroll
  for (int i = 0; i < kRows; ++i) {
    row_max[i] = -INFINITY;
    row_sum[i] = 0.f;
#pragma unroll
    for (int c = 0; c < kCols; ++c) acc[i][c] = 0.f;
  }
  for (int u0 = 0; u0 < g.M; u0 += kTileK) {
    const int cols = min(kTileK, g.M - u0);
    __syncthreads();  // the previous tile's k_s, v_s and p_s are read
    load_tile(k_s, ldq, kb + int64_t(u0) * g.D, g.D, cols, kTileK);
    load_tile(v_s, ldv, vb + int64_t(u0) * g.Dv, g.Dv, cols, kTileK);
    __syncthreads();
    float s[kRows][kColGroups];
    tile_dot(s, q_s + rg * kRows * ldq, ldq, k_s + cg * ldq, ldq, g.D);
#pragma unroll
    for (int i = 0; i < kRows; ++i) {
      const int t = t0 + rg * kRows + i;
      float tile_max = -INFINITY;
#pragma unroll
      for (int j = 0; j < kColGroups; ++j) {
        const int u = u0 + cg + kColGroups * j;
        s[i][j] = u >= g.M ? -INFINITY : g.scale * s[i][j] + (g.R && t < g.N ? bias(g, rel, bh, t, u) : 0.f);
        tile_max = fmaxf(tile_max, s[i][j]);
      }
      const float new_max = fmaxf(row_max[i], group_max(tile_max));
      const float rescale = expf(row_max[i] - new_max);  // 0 on the first tile (the max was -inf)
      float sum = 0.f;
#pragma unroll
      for (int j = 0; j < kColGroups; ++j) {
        const float p = expf(s[i][j] - new_max);
        p_s[(rg * kRows + i) * ldp + cg + kColGroups * j] = p;
        sum += p;
      }
      row_sum[i] = row_sum[i] * rescale + group_sum(sum);
      row_max[i] = new_max;
#pragma unroll
      for (int c = 0; c < kCols; ++c) acc[i][c] *= rescale;
    }
    __syncthreads();  // p_s is complete
    for (int j = 0; j < cols; ++j) {
      float p[kRows];
#pragma unroll
      for (int i = 0; i < kRows; ++i) p[i] = p_s[(rg * kRows + i) * ldp + j];
#pragma unroll
      for (int c = 0; c < kCols; ++c) {
        const int col = cg + kColGroups * c;
        if (col < g.Dv) {
          const float value = v_s[j * ldv + col];
#pragma unroll
          for (int i = 0; i < kRows; ++i) acc[i][c] = fmaf(p[i], value, acc[i][c]);
        }
      }
    }
  }
#pragma unroll
  for (int i = 0; i < kRows; ++i) {
    const int t = t0 + rg * kRows + i;
    if (t >= g.N) continue;
    const int64_t row = int64_t(bh) * g.N + t;
#pragma unroll
    for (int c = 0; c < kCols; ++c) {
      const int col = cg + kColGroups * c;
      if (col < g.Dv) out[row * g.Dv + col] = acc[i][c] / row_sum[i];
    }
    if (cg == 0) lse[row] = row_max[i] + logf(row_sum[i]);
  }
}

// delta (BH * N) = rowsum(dout o out): one warp per row, a fixed shuffle tree.
__global__ void delta_kernel(int64_t rows, int width, const float* __restrict__ dout, const float* __restrict__ out, float* __restrict__ delta) {
  const int lane = threadIdx.x % 32;
  for (int64_t row = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32; row < rows; row += int64_t(gridDim.x) * blockDim.x / 32) {
    float sum = 0.f;
    for (int e = lane; e < width; e += 32) sum = fmaf(dout[row * width + e], out[row * width + e], sum);
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
    if (lane == 0) delta[row] = sum;
  }
}

template <int kCols>
__global__ void __launch_bounds__(kThreads) dkdv_kernel(Geometry g, const float* __restrict__ q, const float* __restrict__ k,
                                                        const float* __restrict__ v, const float* __restrict__ dout,
                                                        const float* __restrict__ lse, const float* __restrict__ delta,
                                                        const float* __restrict__ rel, float* __restrict__ dk, float* __restrict__ dv) {
  extern __shared__ float smem[];
  const int ldq = g.D + 1, ldo = g.Dv + 1, ldt = kStepQ + 1;
  float* k_s = smem;                   // (kTileK, D)
  float* v_s = k_s + kTileK * ldq;     // (kTileK, Dv)
  float* q_s = v_s + kTileK * ldo;     // (kStepQ, D)
  float* do_s = q_s + kStepQ * ldq;    // (kStepQ, Dv)
  float* pt_s = do_s + kStepQ * ldo;   // (kTileK, kStepQ): P^T
  float* dst_s = pt_s + kTileK * ldt;  // (kTileK, kStepQ): dS^T
  float* lse_s = dst_s + kTileK * ldt; // (kStepQ)
  float* delta_s = lse_s + kStepQ;     // (kStepQ)
  const int tiles = ceil_div(g.M, kTileK);
  const int bh = blockIdx.x / tiles, u0 = blockIdx.x % tiles * kTileK, cols = min(kTileK, g.M - u0);
  const int kg = threadIdx.x / kColGroups, cg = threadIdx.x % kColGroups;  // keys 4 kg + i, queries cg + 8 j of a step
  constexpr int kJ = kStepQ / kColGroups;
  const float* qb = q + int64_t(bh) * g.N * g.D;
  const float* dob = dout + int64_t(bh) * g.N * g.Dv;
  load_tile(k_s, ldq, k + (int64_t(bh) * g.M + u0) * g.D, g.D, cols, kTileK);
  load_tile(v_s, ldo, v + (int64_t(bh) * g.M + u0) * g.Dv, g.Dv, cols, kTileK);

  float dk_acc[kRows][kCols], dv_acc[kRows][kCols];
#pragma unroll
  for (int i = 0; i < kRows; ++i)
#pragma unroll
    for (int c = 0; c < kCols; ++c) dk_acc[i][c] = dv_acc[i][c] = 0.f;
  for (int t0 = 0; t0 < g.N; t0 += kStepQ) {
    const int rows = min(kStepQ, g.N - t0);
    __syncthreads();  // the previous step's q_s, do_s, pt_s, dst_s are read
    load_tile(q_s, ldq, qb + int64_t(t0) * g.D, g.D, rows, kStepQ);
    load_tile(do_s, ldo, dob + int64_t(t0) * g.Dv, g.Dv, rows, kStepQ);
    for (int j = threadIdx.x; j < kStepQ; j += kThreads) {
      lse_s[j] = j < rows ? lse[int64_t(bh) * g.N + t0 + j] : 0.f;
      delta_s[j] = j < rows ? delta[int64_t(bh) * g.N + t0 + j] : 0.f;
    }
    __syncthreads();
    float s[kRows][kJ], dp[kRows][kJ];
    tile_dot(s, k_s + kg * kRows * ldq, ldq, q_s + cg * ldq, ldq, g.D);
    tile_dot(dp, v_s + kg * kRows * ldo, ldo, do_s + cg * ldo, ldo, g.Dv);
#pragma unroll
    for (int i = 0; i < kRows; ++i) {
      const int u = u0 + kg * kRows + i;
#pragma unroll
      for (int j = 0; j < kJ; ++j) {
        const int tj = cg + kColGroups * j, t = t0 + tj;
        float p = 0.f;
        if (u < g.M && t < g.N) p = expf(g.scale * s[i][j] + (g.R ? bias(g, rel, bh, t, u) : 0.f) - lse_s[tj]);
        pt_s[(kg * kRows + i) * ldt + tj] = p;
        dst_s[(kg * kRows + i) * ldt + tj] = p * (dp[i][j] - delta_s[tj]);
      }
    }
    __syncthreads();  // pt_s and dst_s are complete
    for (int j = 0; j < rows; ++j) {
      float p[kRows], ds[kRows];
#pragma unroll
      for (int i = 0; i < kRows; ++i) {
        p[i] = pt_s[(kg * kRows + i) * ldt + j];
        ds[i] = dst_s[(kg * kRows + i) * ldt + j];
      }
#pragma unroll
      for (int c = 0; c < kCols; ++c) {
        const int col = cg + kColGroups * c;
        if (col < g.Dv) {
          const float value = do_s[j * ldo + col];
#pragma unroll
          for (int i = 0; i < kRows; ++i) dv_acc[i][c] = fmaf(p[i], value, dv_acc[i][c]);
        }
        if (col < g.D) {
          const float value = q_s[j * ldq + col];
#pragma unroll
          for (int i = 0; i < kRows; ++i) dk_acc[i][c] = fmaf(ds[i], value, dk_acc[i][c]);
        }
      }
    }
  }
#pragma unroll
  for (int i = 0; i < kRows; ++i) {
    const int u = u0 + kg * kRows + i;
    if (u >= g.M) continue;
    const int64_t row = int64_t(bh) * g.M + u;
#pragma unroll
    for (int c = 0; c < kCols; ++c) {
      const int col = cg + kColGroups * c;
      if (col < g.D) dk[row * g.D + col] = g.scale * dk_acc[i][c];
      if (col < g.Dv) dv[row * g.Dv + col] = dv_acc[i][c];
    }
  }
}

// Adds this key tile's dS (ds_s, (kTileQ, kTileK)) into drel of the block's queries: per grid row r
// the sum over the tile's keys in row r, per grid column c the sum over its keys in column c. Each
// (query, index) is owned by one thread within a call; calls are separated by __syncthreads.
__device__ void accumulate_drel(const Geometry& g, const float* ds_s, int ldp, int bh, int t0, int u0, int cols, float* __restrict__ drel) {
  const int r_first = u0 / g.gw, grid_rows = (u0 + cols - 1) / g.gw - r_first + 1;
  for (int w = threadIdx.x; w < kTileQ * grid_rows; w += kThreads) {
    const int i = w / grid_rows, r = r_first + w % grid_rows, t = t0 + i;
    if (t >= g.N) continue;
    const int j_end = min(cols, (r + 1) * g.gw - u0);
    float sum = 0.f;
    for (int j = max(0, r * g.gw - u0); j < j_end; ++j) sum += ds_s[i * ldp + j];
    drel[(int64_t(bh) * g.N + t) * g.R + r] += sum;
  }
  const int grid_cols = min(g.gw, cols);
  for (int w = threadIdx.x; w < kTileQ * grid_cols; w += kThreads) {
    const int i = w / grid_cols, x = w % grid_cols, t = t0 + i;
    if (t >= g.N) continue;
    float sum = 0.f;
    for (int j = x; j < cols; j += g.gw) sum += ds_s[i * ldp + j];
    drel[(int64_t(bh) * g.N + t) * g.R + g.gh + (u0 + x) % g.gw] += sum;
  }
}

template <int kCols>
__global__ void __launch_bounds__(kThreads) dq_kernel(Geometry g, const float* __restrict__ q, const float* __restrict__ k,
                                                      const float* __restrict__ v, const float* __restrict__ dout,
                                                      const float* __restrict__ lse, const float* __restrict__ delta,
                                                      const float* __restrict__ rel, const float* __restrict__ rel_pos_h,
                                                      const float* __restrict__ rel_pos_w, float* __restrict__ dq, float* __restrict__ drel) {
  extern __shared__ float smem[];
  const int ldq = g.D + 1, ldo = g.Dv + 1, ldp = kTileK + 1;
  float* q_s = smem;                   // (kTileQ, D)
  float* do_s = q_s + kTileQ * ldq;    // (kTileQ, Dv)
  float* k_s = do_s + kTileQ * ldo;    // (kTileK, D)
  float* v_s = k_s + kTileK * ldq;     // (kTileK, Dv)
  float* ds_s = v_s + kTileK * ldo;    // (kTileQ, kTileK)
  const int tiles = ceil_div(g.N, kTileQ);
  const int bh = blockIdx.x / tiles, t0 = blockIdx.x % tiles * kTileQ, rows = min(kTileQ, g.N - t0);
  const int rg = threadIdx.x / kColGroups, cg = threadIdx.x % kColGroups;
  const float* kb = k + int64_t(bh) * g.M * g.D;
  const float* vb = v + int64_t(bh) * g.M * g.Dv;
  load_tile(q_s, ldq, q + (int64_t(bh) * g.N + t0) * g.D, g.D, rows, kTileQ);
  load_tile(do_s, ldo, dout + (int64_t(bh) * g.N + t0) * g.Dv, g.Dv, rows, kTileQ);
  if (g.R)
    for (int idx = threadIdx.x; idx < rows * g.R; idx += kThreads) drel[(int64_t(bh) * g.N + t0) * g.R + idx] = 0.f;
  float row_lse[kRows], row_delta[kRows], acc[kRows][kCols];
#pragma unroll
  for (int i = 0; i < kRows; ++i) {
    const int t = t0 + rg * kRows + i;
    row_lse[i] = t < g.N ? lse[int64_t(bh) * g.N + t] : 0.f;
    row_delta[i] = t < g.N ? delta[int64_t(bh) * g.N + t] : 0.f;
#pragma unroll
    for (int c = 0; c < kCols; ++c) acc[i][c] = 0.f;
  }
  for (int u0 = 0; u0 < g.M; u0 += kTileK) {
    const int cols = min(kTileK, g.M - u0);
    __syncthreads();  // the previous tile's k_s, v_s, ds_s are read (and drel zeroed or updated)
    load_tile(k_s, ldq, kb + int64_t(u0) * g.D, g.D, cols, kTileK);
    load_tile(v_s, ldo, vb + int64_t(u0) * g.Dv, g.Dv, cols, kTileK);
    __syncthreads();
    float s[kRows][kColGroups], dp[kRows][kColGroups];
    tile_dot(s, q_s + rg * kRows * ldq, ldq, k_s + cg * ldq, ldq, g.D);
    tile_dot(dp, do_s + rg * kRows * ldo, ldo, v_s + cg * ldo, ldo, g.Dv);
#pragma unroll
    for (int i = 0; i < kRows; ++i) {
      const int t = t0 + rg * kRows + i;
#pragma unroll
      for (int j = 0; j < kColGroups; ++j) {
        const int u = u0 + cg + kColGroups * j;
        float p = 0.f;
        if (u < g.M && t < g.N) p = expf(g.scale * s[i][j] + (g.R ? bias(g, rel, bh, t, u) : 0.f) - row_lse[i]);
        ds_s[(rg * kRows + i) * ldp + cg + kColGroups * j] = p * (dp[i][j] - row_delta[i]);
      }
    }
    __syncthreads();  // ds_s is complete
    for (int j = 0; j < cols; ++j) {
      float ds[kRows];
#pragma unroll
      for (int i = 0; i < kRows; ++i) ds[i] = ds_s[(rg * kRows + i) * ldp + j];
#pragma unroll
      for (int c = 0; c < kCols; ++c) {
        const int col = cg + kColGroups * c;
        if (col < g.D) {
          const float value = k_s[j * ldq + col];
#pragma unroll
          for (int i = 0; i < kRows; ++i) acc[i][c] = fmaf(ds[i], value, acc[i][c]);
        }
      }
    }
    if (g.R) accumulate_drel(g, ds_s, ldp, bh, t0, u0, cols, drel);
  }
  __syncthreads();  // drel of the block's queries is final
#pragma unroll
  for (int i = 0; i < kRows; ++i) {
    const int t = t0 + rg * kRows + i;
    if (t >= g.N) continue;
    const int64_t row = int64_t(bh) * g.N + t;
    const float* dr = g.R ? drel + row * g.R : nullptr;
#pragma unroll
    for (int c = 0; c < kCols; ++c) {
      const int col = cg + kColGroups * c;
      if (col >= g.D) continue;
      float value = g.scale * acc[i][c];
      if (g.R) {
        const int rt = t / g.gw, ct = t % g.gw;
        for (int r = 0; r < g.gh; ++r) value = fmaf(dr[r], rel_pos_h[int64_t(rt - r + g.gh - 1) * g.D + col], value);
        for (int x = 0; x < g.gw; ++x) value = fmaf(dr[g.gh + x], rel_pos_w[int64_t(ct - x + g.gw - 1) * g.D + col], value);
      }
      dq[row * g.D + col] = value;
    }
  }
}

// Table gradients, stage 1. Block (row, chunk): row < 2 gh - 1 is a rel_pos_h row, the rest are
// rel_pos_w rows. For table row i along an axis of length n (the grid's other axis has `across`
// positions), the queries at axis position a in [max(0, i - n + 1), min(n - 1, i)] contribute
// drel[t, offset + a - i + n - 1] q_t. Lanes own columns d, the 4 warps take pairs in turn, and the
// warps' sums are added in warp order: partial (chunks, rows, D).
__global__ void table_partial_kernel(Geometry g, int bh_per_chunk, const float* __restrict__ q, const float* __restrict__ drel,
                                     float* __restrict__ partial) {
  constexpr int kWarps = kThreads / 32;
  constexpr int kLaneCols = kMaxWidth / 32;
  __shared__ float sums[kWarps][kMaxWidth];
  const int table_rows = 2 * g.gh - 1 + 2 * g.gw - 1;
  const int row = blockIdx.x % table_rows, chunk = blockIdx.x / table_rows;
  const bool columns = row >= 2 * g.gh - 1;
  const int i = columns ? row - (2 * g.gh - 1) : row;
  const int n = columns ? g.gw : g.gh, across = columns ? g.gh : g.gw, offset = columns ? g.gh : 0;
  const int a_first = max(0, i - n + 1), positions = min(n - 1, i) - a_first + 1;
  const int bh_first = chunk * bh_per_chunk, bh_count = min(bh_per_chunk, g.BH - bh_first);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  float acc[kLaneCols] = {};
  const int pairs = bh_count * positions * across;
  for (int p = warp; p < pairs; p += kWarps) {
    const int b = p % across, a = a_first + p / across % positions, bh = bh_first + p / (across * positions);
    const int t = columns ? b * g.gw + a : a * g.gw + b;
    const int64_t qrow = int64_t(bh) * g.N + t;
    const float weight = drel[qrow * g.R + offset + a - i + n - 1];
#pragma unroll
    for (int x = 0; x < kLaneCols; ++x) {
      const int d = lane + 32 * x;
      if (d < g.D) acc[x] = fmaf(weight, q[qrow * g.D + d], acc[x]);
    }
  }
#pragma unroll
  for (int x = 0; x < kLaneCols; ++x) sums[warp][lane + 32 * x] = acc[x];
  __syncthreads();
  for (int d = threadIdx.x; d < g.D; d += kThreads) {
    float sum = 0.f;
    for (int w = 0; w < kWarps; ++w) sum += sums[w][d];
    partial[(int64_t(chunk) * table_rows + row) * g.D + d] = sum;
  }
}

// Table gradients, stage 2: the chunks' partial sums added in chunk order.
__global__ void table_sum_kernel(Geometry g, int chunks, const float* __restrict__ partial, float* __restrict__ drel_pos_h,
                                 float* __restrict__ drel_pos_w) {
  const int rows_h = 2 * g.gh - 1, table_rows = rows_h + 2 * g.gw - 1;
  const int64_t total = int64_t(table_rows) * g.D;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total; idx += int64_t(gridDim.x) * blockDim.x) {
    float sum = 0.f;
    for (int c = 0; c < chunks; ++c) sum += partial[int64_t(c) * total + idx];
    if (idx < int64_t(rows_h) * g.D) drel_pos_h[idx] = sum;
    else drel_pos_w[idx - int64_t(rows_h) * g.D] = sum;
  }
}

// Calls launch(integral_constant<int, kCols>) for the smallest column bucket holding `width`.
template <class Launch>
void with_columns(int width, Launch&& launch) {
  if (width <= 32) launch(std::integral_constant<int, 4>{});
  else if (width <= 64) launch(std::integral_constant<int, 8>{});
  else launch(std::integral_constant<int, 16>{});
}

// Allows `bytes` of dynamic shared memory for `kernel`, or fails clearly where the GPU has less.
template <class Kernel>
void allow_shared_memory(Kernel kernel, size_t bytes, const char* op) {
  int device = 0, limit = 0;
  CUDA_CHECK(cudaGetDevice(&device));
  CUDA_CHECK(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  if (bytes > size_t(limit))
    fail("ERR_UNSUPPORTED", op, "a head width whose tiles fit this GPU's " + std::to_string(limit) + " bytes of shared memory per block",
         "the shared memory needed", std::to_string(bytes) + " bytes");
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
}

Tensor scratch(const Shape& shape) { return Tensor::empty(shape, DType::F32, Device::Cuda); }

void launch_relative_logits(const Geometry& g, const float* q, const float* rel_pos_h, const float* rel_pos_w, float* rel) {
  relative_logits_kernel<<<grid_for(int64_t(g.BH) * g.N * g.R, 256), 256, 0, stream()>>>(g, q, rel_pos_h, rel_pos_w, rel);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void attention(const OpCall& call) {
  AttentionShape s = attention_shape(call.name, call.inputs, call.attrs, false);
  if (s.BH * s.N == 0) return;
  const Geometry g = geometry_of(s);
  const float* q = call.in(0).data<float>();
  Tensor rel;
  if (s.rel) {
    rel = scratch({s.BH, s.N, s.rel_width()});
    launch_relative_logits(g, q, call.in(3).data<float>(), call.in(4).data<float>(), rel.data<float>());
  }
  const size_t bytes = sizeof(float) * size_t(kTileQ * (g.D + 1) + kTileK * (g.D + 1) + kTileK * g.Dv + kTileQ * (kTileK + 1));
  const unsigned blocks = unsigned(g.BH * ceil_div(g.N, kTileQ));
  with_columns(std::max(g.D, g.Dv), [&](auto cols) {
    auto kernel = forward_kernel<decltype(cols)::value>;
    allow_shared_memory(kernel, bytes, "attention");
    kernel<<<blocks, kThreads, bytes, stream()>>>(g, q, call.in(1).data<float>(), call.in(2).data<float>(), s.rel ? rel.data<float>() : nullptr,
                                                  call.out(0).data<float>(), call.out(1).data<float>());
    CUDA_CHECK_LAUNCH();
  });
}

void attention_backward(const OpCall& call) {
  AttentionShape s = attention_shape(call.name, call.inputs, call.attrs, true);
  if (s.BH * s.M == 0) return;
  const Geometry g = geometry_of(s);
  const float* dout = call.in(0).data<float>();
  const float* q = call.in(1).data<float>();
  const float* k = call.in(2).data<float>();
  const float* v = call.in(3).data<float>();
  const float* rel_pos_h = s.rel ? call.in(6).data<float>() : nullptr;
  const float* rel_pos_w = s.rel ? call.in(7).data<float>() : nullptr;
  float* dq = call.out(0).data<float>();
  float* dk = call.out(1).data<float>();
  float* dv = call.out(2).data<float>();
  Tensor delta = scratch({s.BH, s.N}), rel, drel;
  if (s.rel) {
    rel = scratch({s.BH, s.N, s.rel_width()});
    drel = scratch({s.BH, s.N, s.rel_width()});
    launch_relative_logits(g, q, rel_pos_h, rel_pos_w, rel.data<float>());
  }
  const float* rel_data = s.rel ? rel.data<float>() : nullptr;
  float* drel_data = s.rel ? drel.data<float>() : nullptr;
  if (s.N > 0) {
    const int64_t rows = s.BH * s.N;
    delta_kernel<<<grid_for(rows * 32, 256), 256, 0, stream()>>>(rows, g.Dv, dout, call.in(4).data<float>(), delta.data<float>());
    CUDA_CHECK_LAUNCH();
  }
  const float* lse = call.in(5).data<float>();
  with_columns(std::max(g.D, g.Dv), [&](auto cols) {
    constexpr int kCols = decltype(cols)::value;
    const size_t dkdv_bytes = sizeof(float) * size_t(kTileK * (g.D + 1) + kTileK * (g.Dv + 1) + kStepQ * (g.D + 1) + kStepQ * (g.Dv + 1) +
                                                     2 * kTileK * (kStepQ + 1) + 2 * kStepQ);
    auto dkdv = dkdv_kernel<kCols>;
    allow_shared_memory(dkdv, dkdv_bytes, "attention_backward");
    dkdv<<<unsigned(g.BH * ceil_div(g.M, kTileK)), kThreads, dkdv_bytes, stream()>>>(g, q, k, v, dout, lse, delta.data<float>(), rel_data, dk, dv);
    CUDA_CHECK_LAUNCH();
    if (s.N == 0) return;
    const size_t dq_bytes = sizeof(float) * size_t(kTileQ * (g.D + 1) + kTileQ * (g.Dv + 1) + kTileK * (g.D + 1) + kTileK * (g.Dv + 1) +
                                                   kTileQ * (kTileK + 1));
    auto dq_launch = dq_kernel<kCols>;
    allow_shared_memory(dq_launch, dq_bytes, "attention_backward");
    dq_launch<<<unsigned(g.BH * ceil_div(g.N, kTileQ)), kThreads, dq_bytes, stream()>>>(g, q, k, v, dout, lse, delta.data<float>(), rel_data,
                                                                                       rel_pos_h, rel_pos_w, dq, drel_data);
    CUDA_CHECK_LAUNCH();
  });
  if (!s.need_rel_grad) return;
  const int table_rows = 2 * g.gh - 1 + 2 * g.gw - 1;
  const int bh_per_chunk = ceil_div(g.BH, 64), chunks = ceil_div(g.BH, bh_per_chunk);
  Tensor partial = scratch({chunks, table_rows, s.D});
  table_partial_kernel<<<unsigned(chunks * table_rows), kThreads, 0, stream()>>>(g, bh_per_chunk, q, drel_data, partial.data<float>());
  CUDA_CHECK_LAUNCH();
  table_sum_kernel<<<grid_for(int64_t(table_rows) * g.D, 256), 256, 0, stream()>>>(g, chunks, partial.data<float>(), call.out(3).data<float>(),
                                                                                   call.out(4).data<float>());
  CUDA_CHECK_LAUNCH();
}

}  // namespace samcobot::cuda
