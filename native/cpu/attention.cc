// Attention with SAM's decomposed relative-position bias (sam-architecture.md 2.3; without the
// tables it is the decoder's plain attention of 4.2), forward and backward, on the CPU.
//
// Letters: BH batch*heads, N queries (t), M keys (u), D q/k width, Dv v width, gh x gw the token
// grid (token t at grid row r_t = t / gw, column c_t = t % gw), R = gh + gw.
//
//   logit[t,u] = scale q_t.k_u + rel[t, r_u] + rel[t, gh + c_u]
//   rel[t, r]      = q_t . rel_pos_h[r_t - r + gh - 1]        (the unscaled q)
//   rel[t, gh + c] = q_t . rel_pos_w[c_t - c + gw - 1]
//   out_t = sum_u softmax_u(logit[t,:]) v_u,   lse_t = log sum_u exp(logit[t,u])
//
// Forward (flash-style): a task is one (bh, tile of kQueryTile queries). It computes the tile's
// relative logits once (rows x R), then walks the keys in tiles of kKeyTile: S = scale Q K^T (one
// GEMM) plus the bias gathered from rel, the online softmax (running max and sum, rescaling the
// accumulator), and acc += P V (one GEMM). Scratch is O(kQueryTile (kKeyTile + Dv + R)) per task:
// the BH x N x M scores of a global block (12 x 4096 x 4096) never exist.
//
// Backward (FlashAttention-2, P recomputed from the saved lse), with delta_t = dout_t . out_t:
//   P = exp(logit - lse),  dP = dout V^T,  dS = P o (dP - delta)
//   dv_u = sum_t P[t,u] dout_t,  dk_u = scale sum_t dS[t,u] q_t,  dq_t = scale sum_u dS[t,u] k_u + bias terms
//   drel[t, r] = sum over keys u in grid row r of dS[t,u];  drel[t, gh + c] likewise over grid column c
//   dq_t += sum_r drel[t,r] rel_pos_h[r_t - r + gh - 1] + sum_c drel[t,gh+c] rel_pos_w[c_t - c + gw - 1]
//   drel_pos_h[i] = sum over bh, t of drel[t, r] q_t for the r with r_t - r + gh - 1 = i  (w likewise)
// in passes that each write disjoint outputs, so no two threads add into the same number:
//   0. per (bh, query tile): delta, and the relative logits of every query (BH, N, R), kept for 1 and 2;
//   1. per (bh, key tile): dk and dv, walking the queries;
//   2. per (bh, query tile): dq and drel, walking the keys; drel then overwrites the tile's rel rows;
//   3. per table row: the table gradients, summing drel * q in a fixed order.
// Every sum runs in an order fixed by the shapes: the result does not depend on the thread count.
//
// The exponentials of the softmax, forward and recomputed in the backward, dominated at ~3 ns per
// scalar std::exp (~8e8 per ViT-B forward): in f32 they run the vectorised kernels of exp_kernels.h
// for the CPU's SIMD level (within a few ulp); f64, the checks' reference, keeps std::exp.
#include "attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "../core/cpu_features.h"
#include "../core/thread_pool.h"
#include "../ops/attention_shape.h"
#include "dispatch.h"
#include "exp_kernels.h"
#include "gemm.h"

namespace samcobot::cpu {
namespace {

constexpr int64_t kQueryTile = 64;         // queries per task of the forward and of pass 2
constexpr int64_t kKeyTile = 256;          // keys per step of the forward and of pass 2
constexpr int64_t kKeyTileBackward = 64;   // keys per task of pass 1
constexpr int64_t kQueryStep = 256;        // queries per step of pass 1

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

template <class T>
constexpr DType dtype_of() {
  return std::is_same_v<T, float> ? DType::F32 : DType::F64;
}

template <class T>
void matmul(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B, int64_t ldb, T beta, T* C,
            int64_t ldc) {
  if constexpr (std::is_same_v<T, float>) sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else dgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// Eight interleaved partial sums: the compiler vectorises this (it may not reorder a single sum).
template <class T>
T dot(const T* a, const T* b, int64_t n) {
  constexpr int kLanes = 8;
  T part[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) part[l] += a[i + l] * b[i + l];
  T sum = 0;
  for (; i < n; ++i) sum += a[i] * b[i];
  for (int l = 0; l < kLanes; ++l) sum += part[l];
  return sum;
}

// The largest of n >= 1 values, in eight lanes so that the compiler vectorises it (max is exact:
// the lanes change nothing but the speed).
template <class T>
T max_of(const T* x, int64_t n) {
  constexpr int kLanes = 8;
  T lane[kLanes];
  for (int l = 0; l < kLanes; ++l) lane[l] = x[0];
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] = std::max(lane[l], x[i + l]);
  T m = x[0];
  for (; i < n; ++i) m = std::max(m, x[i]);
  for (int l = 0; l < kLanes; ++l) m = std::max(m, lane[l]);
  return m;
}

const ExpKernels& exp_f32() {
  static const ExpKernels* kernels = [] {
    const ExpKernels* chosen = nullptr;
    if (cpu_level() >= CpuLevel::Avx512) chosen = exp_kernels_avx512();
    if (!chosen && cpu_level() >= CpuLevel::Avx2Fma) chosen = exp_kernels_avx2();
    return chosen ? chosen : exp_kernels_portable();
  }();
  return *kernels;
}

// x (n), in place: x[j] = exp(x[j] - shift); returns their sum.
template <class T>
T exp_shifted(T* x, int64_t n, T shift) {
  if constexpr (std::is_same_v<T, float>) return exp_f32().exp_shifted(x, n, shift);
  T sum = 0;
  for (int64_t j = 0; j < n; ++j) {
    x[j] = std::exp(x[j] - shift);
    sum += x[j];
  }
  return sum;
}

template <class T>
void axpy(T alpha, const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

// Splits the keys u0 .. u0 + cols of a tile into runs along one grid row and calls
// f(j, r, w, len) for each: keys u0 + j .. u0 + j + len share grid row r, and the rel columns of
// their grid columns start at w (= gh + c_u). The bias of key u0 + j + x is rel[r] + rel[w + x].
template <class F>
void for_each_grid_run(const AttentionShape& s, int64_t u0, int64_t cols, F&& f) {
  for (int64_t j = 0; j < cols;) {
    const int64_t u = u0 + j, c = u % s.gw, len = std::min(cols - j, s.gw - c);
    f(j, u / s.gw, s.gh + c, len);
    j += len;
  }
}

// The relative logits of queries t0 .. t0 + rows of one bh slice: rel (rows, R).
template <class T>
void relative_logits(const AttentionShape& s, const T* q /* (N, D) */, const T* rel_pos_h, const T* rel_pos_w, int64_t t0, int64_t rows,
                     T* rel) {
  const int64_t R = s.rel_width(), D = s.D;
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t t = t0 + i, rt = t / s.gw, ct = t % s.gw;
    const T* qt = q + t * D;
    T* row = rel + i * R;
    for (int64_t r = 0; r < s.gh; ++r) row[r] = dot(qt, rel_pos_h + (rt - r + s.gh - 1) * D, D);
    for (int64_t c = 0; c < s.gw; ++c) row[s.gh + c] = dot(qt, rel_pos_w + (ct - c + s.gw - 1) * D, D);
  }
}

// The transpose of relative_logits for q: dq (rows, D) += drel (rows, R) through the tables.
template <class T>
void relative_logits_backward_q(const AttentionShape& s, const T* drel, const T* rel_pos_h, const T* rel_pos_w, int64_t t0, int64_t rows,
                                T* dq) {
  const int64_t R = s.rel_width(), D = s.D;
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t t = t0 + i, rt = t / s.gw, ct = t % s.gw;
    const T* row = drel + i * R;
    T* dqt = dq + i * D;
    for (int64_t r = 0; r < s.gh; ++r) axpy(row[r], rel_pos_h + (rt - r + s.gh - 1) * D, dqt, D);
    for (int64_t c = 0; c < s.gw; ++c) axpy(row[s.gh + c], rel_pos_w + (ct - c + s.gw - 1) * D, dqt, D);
  }
}

// S (rows, cols; leading dimension ld) = the logits of queries t0.. against keys u0.. of one bh
// slice; rel, when given, holds the relative logits of those queries (row i is query t0 + i).
template <class T>
void logits(const AttentionShape& s, const T* q, const T* k, const T* rel, int64_t t0, int64_t rows, int64_t u0, int64_t cols, T* S,
            int64_t ld) {
  matmul<T>(false, true, rows, cols, s.D, T(s.scale), q + t0 * s.D, s.D, k + u0 * s.D, s.D, T(0), S, ld);
  if (!rel) return;
  const int64_t R = s.rel_width();
  for (int64_t i = 0; i < rows; ++i) {
    const T* bias = rel + i * R;
    T* row = S + i * ld;
    for_each_grid_run(s, u0, cols, [&](int64_t j, int64_t r, int64_t w, int64_t len) {
      for (int64_t x = 0; x < len; ++x) row[j + x] += bias[r] + bias[w + x];
    });
  }
}

// P = exp(logits - lse) for a tile, as logits() lays it out.
template <class T>
void probabilities(const AttentionShape& s, const T* q, const T* k, const T* rel, const T* lse, int64_t t0, int64_t rows, int64_t u0,
                   int64_t cols, T* P, int64_t ld) {
  logits(s, q, k, rel, t0, rows, u0, cols, P, ld);
  for (int64_t i = 0; i < rows; ++i) exp_shifted(P + i * ld, cols, lse[t0 + i]);
}

// dS = P o (dout V^T - delta) for a tile.
template <class T>
void logit_gradients(const AttentionShape& s, const T* dout, const T* v, const T* delta, const T* P, int64_t t0, int64_t rows, int64_t u0,
                     int64_t cols, T* dS, int64_t ld) {
  matmul<T>(false, true, rows, cols, s.Dv, T(1), dout + t0 * s.Dv, s.Dv, v + u0 * s.Dv, s.Dv, T(0), dS, ld);
  for (int64_t i = 0; i < rows; ++i) {
    const T d = delta[t0 + i];
    for (int64_t j = 0; j < cols; ++j) dS[i * ld + j] = P[i * ld + j] * (dS[i * ld + j] - d);
  }
}

template <class T>
void forward(const AttentionShape& s, const T* q, const T* k, const T* v, const T* rel_pos_h, const T* rel_pos_w, T* out, T* lse) {
  const int64_t tiles = ceil_div(s.N, kQueryTile), R = s.rel_width(), Dv = s.Dv;
  parallel_for(s.BH * tiles, 1, [&](int64_t lo, int64_t hi) {
    std::vector<T> S(kQueryTile * kKeyTile);   // (rows, keys of the tile)
    std::vector<T> acc(kQueryTile * Dv);       // (rows, Dv), unnormalised
    std::vector<T> rel(kQueryTile * R);        // (rows, R)
    std::vector<T> row_max(kQueryTile), row_sum(kQueryTile);
    for (int64_t task = lo; task < hi; ++task) {
      const int64_t bh = task / tiles, t0 = task % tiles * kQueryTile, rows = std::min(kQueryTile, s.N - t0);
      const T* qb = q + bh * s.N * s.D;
      const T* kb = k + bh * s.M * s.D;
      const T* vb = v + bh * s.M * Dv;
      if (s.rel) relative_logits(s, qb, rel_pos_h, rel_pos_w, t0, rows, rel.data());
      std::fill(row_max.begin(), row_max.end(), -std::numeric_limits<T>::infinity());
      std::fill(row_sum.begin(), row_sum.end(), T(0));
      std::fill(acc.begin(), acc.end(), T(0));
      for (int64_t u0 = 0; u0 < s.M; u0 += kKeyTile) {
        const int64_t cols = std::min(kKeyTile, s.M - u0);
        logits(s, qb, kb, s.rel ? rel.data() : nullptr, t0, rows, u0, cols, S.data(), kKeyTile);
        for (int64_t i = 0; i < rows; ++i) {
          T* row = S.data() + i * kKeyTile;
          const T new_max = std::max(row_max[i], max_of(row, cols));
          const T rescale = std::exp(row_max[i] - new_max);  // 0 on the first tile (max was -inf)
          row_sum[i] = row_sum[i] * rescale + exp_shifted(row, cols, new_max);
          row_max[i] = new_max;
          for (int64_t e = 0; e < Dv; ++e) acc[i * Dv + e] *= rescale;
        }
        matmul<T>(false, false, rows, Dv, cols, T(1), S.data(), kKeyTile, vb + u0 * Dv, Dv, T(1), acc.data(), Dv);
      }
      for (int64_t i = 0; i < rows; ++i) {
        const int64_t t = bh * s.N + t0 + i;
        const T inv = T(1) / row_sum[i];
        for (int64_t e = 0; e < Dv; ++e) out[t * Dv + e] = acc[i * Dv + e] * inv;
        lse[t] = row_max[i] + std::log(row_sum[i]);
      }
    }
  });
}

// Pass 3 for one table row i: dtable_i = sum over bh and queries t whose grid position a_t along the
// table's axis gives index a_t - p + g - 1 = i for some p in [0, g), of drel[t, offset + p] q_t.
template <class T>
void table_row_gradient(const AttentionShape& s, const T* q, const T* drel, bool columns, int64_t i, T* out) {
  const int64_t g = columns ? s.gw : s.gh, across = columns ? s.gh : s.gw, offset = columns ? s.gh : 0;
  const int64_t R = s.rel_width(), D = s.D;
  std::fill(out, out + D, T(0));
  for (int64_t bh = 0; bh < s.BH; ++bh) {
    for (int64_t a = std::max<int64_t>(0, i - g + 1); a <= std::min(g - 1, i); ++a) {
      const int64_t p = a - i + g - 1;
      for (int64_t b = 0; b < across; ++b) {
        const int64_t t = bh * s.N + (columns ? b * s.gw + a : a * s.gw + b);
        axpy(drel[t * R + offset + p], q + t * D, out, D);
      }
    }
  }
}

template <class T>
void backward(const AttentionShape& s, const T* dout, const T* q, const T* k, const T* v, const T* out, const T* lse, const T* rel_pos_h,
              const T* rel_pos_w, T* dq, T* dk, T* dv, T* drel_pos_h, T* drel_pos_w) {
  const int64_t N = s.N, M = s.M, D = s.D, Dv = s.Dv, R = s.rel_width();
  const int64_t query_tiles = ceil_div(N, kQueryTile), key_tiles = ceil_div(M, kKeyTileBackward);
  Tensor delta_storage = Tensor::empty({s.BH, N}, dtype_of<T>(), Device::Cpu);
  Tensor rel_storage = Tensor::empty({s.BH, N, R}, dtype_of<T>(), Device::Cpu);  // rel, then drel after pass 2
  T* delta = delta_storage.data<T>();
  T* rel = rel_storage.data<T>();

  parallel_for(s.BH * query_tiles, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t task = lo; task < hi; ++task) {
      const int64_t bh = task / query_tiles, t0 = task % query_tiles * kQueryTile, rows = std::min(kQueryTile, N - t0);
      for (int64_t t = bh * N + t0; t < bh * N + t0 + rows; ++t) delta[t] = dot(dout + t * Dv, out + t * Dv, Dv);
      if (s.rel) relative_logits(s, q + bh * N * D, rel_pos_h, rel_pos_w, t0, rows, rel + (bh * N + t0) * R);
    }
  });

  parallel_for(s.BH * key_tiles, 1, [&](int64_t lo, int64_t hi) {
    std::vector<T> P(kQueryStep * kKeyTileBackward), dS(kQueryStep * kKeyTileBackward);  // (queries of the step, keys of the tile)
    for (int64_t task = lo; task < hi; ++task) {
      const int64_t bh = task / key_tiles, u0 = task % key_tiles * kKeyTileBackward, cols = std::min(kKeyTileBackward, M - u0);
      const T *qb = q + bh * N * D, *kb = k + bh * M * D, *vb = v + bh * M * Dv, *dob = dout + bh * N * Dv;
      T* dk_tile = dk + (bh * M + u0) * D;
      T* dv_tile = dv + (bh * M + u0) * Dv;
      std::fill(dk_tile, dk_tile + cols * D, T(0));
      std::fill(dv_tile, dv_tile + cols * Dv, T(0));
      for (int64_t t0 = 0; t0 < N; t0 += kQueryStep) {
        const int64_t rows = std::min(kQueryStep, N - t0);
        const T* rel_rows = s.rel ? rel + (bh * N + t0) * R : nullptr;
        probabilities(s, qb, kb, rel_rows, lse + bh * N, t0, rows, u0, cols, P.data(), kKeyTileBackward);
        logit_gradients(s, dob, vb, delta + bh * N, P.data(), t0, rows, u0, cols, dS.data(), kKeyTileBackward);
        matmul<T>(true, false, cols, Dv, rows, T(1), P.data(), kKeyTileBackward, dob + t0 * Dv, Dv, T(1), dv_tile, Dv);
        matmul<T>(true, false, cols, D, rows, T(s.scale), dS.data(), kKeyTileBackward, qb + t0 * D, D, T(1), dk_tile, D);
      }
    }
  });

  parallel_for(s.BH * query_tiles, 1, [&](int64_t lo, int64_t hi) {
    std::vector<T> P(kQueryTile * kKeyTile), dS(kQueryTile * kKeyTile);  // (rows, keys of the tile)
    std::vector<T> drel(kQueryTile * R);                                 // (rows, R)
    for (int64_t task = lo; task < hi; ++task) {
      const int64_t bh = task / query_tiles, t0 = task % query_tiles * kQueryTile, rows = std::min(kQueryTile, N - t0);
      const T *qb = q + bh * N * D, *kb = k + bh * M * D, *vb = v + bh * M * Dv, *dob = dout + bh * N * Dv;
      T* dq_rows = dq + (bh * N + t0) * D;
      T* rel_rows = s.rel ? rel + (bh * N + t0) * R : nullptr;
      std::fill(dq_rows, dq_rows + rows * D, T(0));
      std::fill(drel.begin(), drel.end(), T(0));
      for (int64_t u0 = 0; u0 < M; u0 += kKeyTile) {
        const int64_t cols = std::min(kKeyTile, M - u0);
        probabilities(s, qb, kb, rel_rows, lse + bh * N, t0, rows, u0, cols, P.data(), kKeyTile);
        logit_gradients(s, dob, vb, delta + bh * N, P.data(), t0, rows, u0, cols, dS.data(), kKeyTile);
        matmul<T>(false, false, rows, D, cols, T(s.scale), dS.data(), kKeyTile, kb + u0 * D, D, T(1), dq_rows, D);
        if (!s.rel) continue;
        for (int64_t i = 0; i < rows; ++i) {
          const T* row = dS.data() + i * kKeyTile;
          T* grad = drel.data() + i * R;
          for_each_grid_run(s, u0, cols, [&](int64_t j, int64_t r, int64_t w, int64_t len) {
            T sum = 0;
            for (int64_t x = 0; x < len; ++x) {
              sum += row[j + x];
              grad[w + x] += row[j + x];
            }
            grad[r] += sum;
          });
        }
      }
      if (!s.rel) continue;
      relative_logits_backward_q(s, drel.data(), rel_pos_h, rel_pos_w, t0, rows, dq_rows);
      if (s.need_rel_grad) std::copy(drel.begin(), drel.begin() + rows * R, rel_rows);
    }
  });

  if (!s.need_rel_grad) return;
  const int64_t rows_h = 2 * s.gh - 1, rows_w = 2 * s.gw - 1;
  parallel_for(rows_h + rows_w, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      if (i < rows_h) table_row_gradient(s, q, rel, false, i, drel_pos_h + i * D);
      else table_row_gradient(s, q, rel, true, i - rows_h, drel_pos_w + (i - rows_h) * D);
    }
  });
}

template <class T>
const T* optional_input(const OpCall& call, size_t index) {
  return index < call.inputs.size() ? call.in(index).data<T>() : nullptr;
}

template <class T>
T* optional_output(const OpCall& call, size_t index) {
  return index < call.outputs.size() ? call.out(index).data<T>() : nullptr;
}

}  // namespace

void attention(const OpCall& call) {
  AttentionShape s = attention_shape(call.name, call.inputs, call.attrs, false);
  for_float_types(call.name, call.in(0).dtype(), [&](auto zero) {
    using T = decltype(zero);
    forward<T>(s, call.in(0).data<T>(), call.in(1).data<T>(), call.in(2).data<T>(), optional_input<T>(call, 3), optional_input<T>(call, 4),
               call.out(0).data<T>(), call.out(1).data<T>());
  });
}

void attention_backward(const OpCall& call) {
  AttentionShape s = attention_shape(call.name, call.inputs, call.attrs, true);
  for_float_types(call.name, call.in(0).dtype(), [&](auto zero) {
    using T = decltype(zero);
    backward<T>(s, call.in(0).data<T>(), call.in(1).data<T>(), call.in(2).data<T>(), call.in(3).data<T>(), call.in(4).data<T>(),
                call.in(5).data<T>(), optional_input<T>(call, 6), optional_input<T>(call, 7), call.out(0).data<T>(), call.out(1).data<T>(),
                call.out(2).data<T>(), optional_output<T>(call, 3), optional_output<T>(call, 4));
  });
}

}  // namespace samcobot::cpu
