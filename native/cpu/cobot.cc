// The COBOT ops on the CPU (cobot-method.md §3, §4, §10.3-10.5; the formulas are in
// native/ops/cobot_math.h). Letters: N token rows, V bottleneck width, T heads.
//
// cobot_prepare, cobot_prepare_backward: once per step, at most T·V² entries, each one formula of
//   cobot_math.h summed in double. Serial: the work is far below the cost of waking the pool.
// cobot_bottleneck: out = (A ⊙ κ_t)·Q_t, then ReLU. One parallel pass over the rows; a row's scaled
//   activation and output live in V-sized arrays on the stack, so nothing of size N·V is allocated
//   besides the output.
// cobot_bottleneck_backward: per row, dH = dOut (masked by out > 0 under ReLU), dS = dH·Q_tᵀ and
//   dA = dS ⊙ κ_t; dκ_t and dQ_t gather colsum(dS ⊙ A) and Sᵀ·dH over the rows. The rows are cut into
//   fixed blocks of kCobotRowsPerPartial, each block sums its rows in order into its own double
//   partial, and the partials are added in block order: the result does not depend on the thread
//   count, and the CUDA kernel, which uses the same partition and order, gives the same f32 bits.
// dropout: y = x · keep(i) / (1 − p), with the counter-based mask of cobot_math.h.
#include "cobot.h"

#include <algorithm>
#include <vector>

#include "../core/thread_pool.h"
#include "../ops/cobot_math.h"
#include "dispatch.h"

namespace samcobot::cpu {
namespace {

constexpr int64_t kRowGrain = 64;
constexpr int64_t kElementGrain = 1 << 14;

// The head index and ReLU switch of cobot_bottleneck(_backward), validated by native/ops/cobot.cc.
int64_t head_index(const OpCall& call) { return static_cast<int64_t>(call.attrs.number_or("head", 0)); }
bool relu_on(const OpCall& call) { return call.attrs.flag("relu"); }

}  // namespace

void cobot_prepare(const OpCall& call) {
  CobotPrepareMode mode = cobot_prepare_mode(call.name, call.attrs);
  int64_t V = call.in(0).dim(0), T = call.in(0).dim(1);
  for_float_types(call.name, call.in(0).dtype(), [&](auto zero) {
    using Real = decltype(zero);
    const Real* C = call.in(0).data<Real>();      // (V, T)
    const Real* P = call.in(1).data<Real>();      // (T, T)
    const Real* gamma = call.in(2).data<Real>();  // (T, V)
    const Real* heads = call.in(3).data<Real>();  // (T, 4, B, B) | (T, V, V) | (1)
    Real* kappa = call.out(0).data<Real>();       // (T, V)
    Real* q = call.out(1).data<Real>();           // (T, V, V)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t v = 0; v < V; ++v) kappa[t * V + v] = static_cast<Real>(cobot_kappa(mode, C, P, gamma, V, T, t, v));
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < V; ++i)
        for (int64_t j = 0; j < V; ++j) q[(t * V + i) * V + j] = static_cast<Real>(cobot_head_matrix(mode.head, heads, V, t, i, j));
  });
}

void cobot_prepare_backward(const OpCall& call) {
  CobotPrepareMode mode = cobot_prepare_mode(call.name, call.attrs);
  int64_t V = call.in(0).dim(0), T = call.in(0).dim(1);
  for_float_types(call.name, call.in(0).dtype(), [&](auto zero) {
    using Real = decltype(zero);
    const Real* C = call.in(0).data<Real>();       // (V, T)
    const Real* P = call.in(1).data<Real>();       // (T, T)
    const Real* dkappa = call.in(2).data<Real>();  // (T, V)
    const Real* dq = call.in(3).data<Real>();      // (T, V, V)
    Real* dc = call.out(0).data<Real>();           // (V, T)
    Real* dp = call.out(1).data<Real>();           // (T, T)
    Real* dgamma = call.out(2).data<Real>();       // (T, V)
    Real* dheads = call.out(3).data<Real>();       // heads' shape
    for (int64_t v = 0; v < V; ++v)
      for (int64_t m = 0; m < T; ++m) dc[v * T + m] = static_cast<Real>(cobot_grad_c(mode, P, dkappa, V, T, v, m));
    for (int64_t m = 0; m < T; ++m)
      for (int64_t t = 0; t < T; ++t) dp[m * T + t] = static_cast<Real>(cobot_grad_p(mode, C, dkappa, V, T, m, t));
    for (int64_t e = 0; e < T * V; ++e) dgamma[e] = static_cast<Real>(cobot_grad_gamma(mode, dkappa, e));
    for (int64_t e = 0; e < call.out(3).numel(); ++e) dheads[e] = static_cast<Real>(cobot_grad_head(mode.head, dq, V, e));
  });
}

void cobot_bottleneck(const OpCall& call) {
  const Tensor& a = call.in(0);
  int64_t N = a.dim(0), V = a.dim(1), t = head_index(call);
  bool relu = relu_on(call);
  for_float_types(call.name, a.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* A = a.data<T>();                           // (N, V)
    const T* kappa = call.in(1).data<T>() + t * V;      // (V): row t of (T, V)
    const T* Q = call.in(2).data<T>() + t * V * V;      // (V, V): slice t of (T, V, V)
    T* out = call.out(0).data<T>();                     // (N, V)
    parallel_for(N, kRowGrain, [&](int64_t lo, int64_t hi) {
      T s[kCobotMaxWidth], h[kCobotMaxWidth];
      for (int64_t r = lo; r < hi; ++r) {
        const T* a_row = A + r * V;
        for (int64_t v = 0; v < V; ++v) s[v] = a_row[v] * kappa[v];
        for (int64_t j = 0; j < V; ++j) h[j] = 0;
        for (int64_t v = 0; v < V; ++v)
          for (int64_t j = 0; j < V; ++j) h[j] += s[v] * Q[v * V + j];
        // NaN passes through the ReLU, so a diverging step stays visible.
        T* out_row = out + r * V;
        for (int64_t j = 0; j < V; ++j) out_row[j] = relu && h[j] < T(0) ? T(0) : h[j];
      }
    });
  });
}

void cobot_bottleneck_backward(const OpCall& call) {
  int64_t N = call.in(1).dim(0), V = call.in(1).dim(1), t = head_index(call);
  bool relu = relu_on(call);
  int64_t blocks = (N + kCobotRowsPerPartial - 1) / kCobotRowsPerPartial;
  int64_t entries = V * V + V;  // per partial: dQ_t (V, V), then dκ_t (V)
  std::vector<double> partial(static_cast<size_t>(blocks * entries));
  for_float_types(call.name, call.in(1).dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* dout = call.in(0).data<T>();               // (N, V)
    const T* A = call.in(1).data<T>();                  // (N, V)
    const T* kappa = call.in(2).data<T>() + t * V;      // (V)
    const T* Q = call.in(3).data<T>() + t * V * V;      // (V, V)
    const T* out = call.in(4).data<T>();                // (N, V)
    T* dkappa = call.in(5).data<T>() + t * V;           // (V), accumulated into
    T* dq = call.in(6).data<T>() + t * V * V;           // (V, V), accumulated into
    T* da = call.out(0).data<T>();                      // (N, V)
    parallel_for(blocks, 1, [&](int64_t lo, int64_t hi) {
      T s[kCobotMaxWidth], dh[kCobotMaxWidth];
      for (int64_t b = lo; b < hi; ++b) {
        double* dq_part = partial.data() + b * entries;  // (V, V)
        double* dk_part = dq_part + V * V;               // (V)
        for (int64_t e = 0; e < entries; ++e) dq_part[e] = 0;
        int64_t end = std::min(N, (b + 1) * kCobotRowsPerPartial);
        for (int64_t r = b * kCobotRowsPerPartial; r < end; ++r) {
          const T* a_row = A + r * V;
          for (int64_t j = 0; j < V; ++j) dh[j] = relu && !(out[r * V + j] > T(0)) ? T(0) : dout[r * V + j];
          for (int64_t v = 0; v < V; ++v) {
            s[v] = a_row[v] * kappa[v];
            T ds = 0;
            for (int64_t j = 0; j < V; ++j) ds += dh[j] * Q[v * V + j];
            da[r * V + v] = ds * kappa[v];
            dk_part[v] += double(ds) * double(a_row[v]);
          }
          for (int64_t v = 0; v < V; ++v)
            for (int64_t j = 0; j < V; ++j) dq_part[v * V + j] += double(s[v]) * double(dh[j]);
        }
      }
    });
    for (int64_t e = 0; e < entries; ++e) {
      double total = 0;
      for (int64_t b = 0; b < blocks; ++b) total += partial[b * entries + e];
      T& target = e < V * V ? dq[e] : dkappa[e - V * V];
      target = static_cast<T>(double(target) + total);
    }
  });
}

void dropout(const OpCall& call) {
  const Tensor& x = call.in(0);
  double p = call.attrs.number_or("p", 0);
  uint64_t seed = static_cast<uint64_t>(call.attrs.number_or("seed", 0));
  for_float_types(call.name, x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* in = x.data<T>();
    T* y = call.out(0).data<T>();
    const T scale = static_cast<T>(1.0 / (1.0 - p));
    parallel_for(x.numel(), kElementGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) y[i] = dropout_keeps(seed, i, p) ? in[i] * scale : T(0);
    });
  });
}

}  // namespace samcobot::cpu
