// LayerNorm on the CPU, forward and backward, over the (O, C, I) view of native/ops/norm_shape.h
// (O outer positions, C channels, I inner positions; C is normalised for every position (o, i)).
//
// Forward, per position: mean μ and biased variance σ² over C (two passes: the centred second
// pass keeps σ² accurate when |μ| ≫ σ), rstd = 1 / √(σ² + ε), y = (x − μ) · rstd · w + b.
// Backward, with x̂ = (x − μ) · rstd and g = dy · w:
//   dx = rstd · (g − mean_c(g) − x̂ · mean_c(g · x̂)),   dw = Σ_positions dy · x̂,   db = Σ_positions dy.
// Two loop orders, because the layouts differ: with I = 1 (tokens (..., C)) a position's channels
// are contiguous, so rows are reduced along C with lane accumulators; with I > 1 (NCHW maps)
// positions are contiguous, so a tile of positions is walked channel by channel, vectorised over
// the tile. dw and db are deterministic: work is cut into fixed blocks of positions (independent of
// the thread count), each block writes its own partial sums, and each channel adds them in block order.
#include "norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "../core/thread_pool.h"
#include "../ops/norm_shape.h"
#include "dispatch.h"

namespace samcobot::cpu {
namespace {

constexpr int64_t kRowsPerBlock = 16;  // positions per block when I = 1
constexpr int64_t kTile = 64;          // positions per block when I > 1
constexpr int kLanes = 8;

// Σ_{c < n} term(c) with kLanes independent accumulators: vectorisable, and always the same order.
template <class T, class Term>
T lane_sum(int64_t n, Term term) {
  T acc[kLanes] = {};
  int64_t c = 0;
  for (; c + kLanes <= n; c += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += term(c + l);
  for (; c < n; ++c) acc[0] += term(c);
  T s = 0;
  for (int l = 0; l < kLanes; ++l) s += acc[l];
  return s;
}

// One block of positions: the first position's index (o * I + i) and element offset of its channel
// 0, and how many consecutive positions (rows when I = 1, a tile of one outer slice when I > 1).
struct Block {
  int64_t position, offset, count;
};

int64_t block_count(const NormShape& s) {
  if (s.inner == 1) return (s.outer + kRowsPerBlock - 1) / kRowsPerBlock;
  return s.outer * ((s.inner + kTile - 1) / kTile);
}

Block block_at(const NormShape& s, int64_t t) {
  if (s.inner == 1) {
    int64_t r = t * kRowsPerBlock;
    return {r, r * s.channels, std::min(kRowsPerBlock, s.outer - r)};
  }
  int64_t tiles = (s.inner + kTile - 1) / kTile;
  int64_t o = t / tiles, i = (t % tiles) * kTile;
  return {o * s.inner + i, o * s.channels * s.inner + i, std::min(kTile, s.inner - i)};
}

template <class Body>
void for_each_block(const NormShape& s, Body body) {
  parallel_for(block_count(s), 1, [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) body(t, block_at(s, t));
  });
}

template <class T>
struct Forward {
  const T* x;  // (O, C, I)
  const T* w;  // (C)
  const T* b;  // (C)
  T eps;
  T* y;     // (O, C, I)
  T* mean;  // (O, I)
  T* rstd;  // (O, I)
};

template <class T>
void forward_rows(const Forward<T>& f, int64_t C, const Block& blk) {
  for (int64_t r = 0; r < blk.count; ++r) {
    const T* x = f.x + blk.offset + r * C;
    T* y = f.y + blk.offset + r * C;
    T mu = lane_sum<T>(C, [&](int64_t c) { return x[c]; }) / T(C);
    T var = lane_sum<T>(C, [&](int64_t c) { T d = x[c] - mu; return d * d; }) / T(C);
    T rs = T(1) / std::sqrt(var + f.eps);
    for (int64_t c = 0; c < C; ++c) y[c] = (x[c] - mu) * rs * f.w[c] + f.b[c];
    f.mean[blk.position + r] = mu;
    f.rstd[blk.position + r] = rs;
  }
}

template <class T>
void forward_tile(const Forward<T>& f, int64_t C, int64_t I, const Block& blk) {
  const int64_t n = blk.count;
  T mu[kTile] = {}, rs[kTile] = {};
  for (int64_t c = 0; c < C; ++c) {
    const T* x = f.x + blk.offset + c * I;
    for (int64_t i = 0; i < n; ++i) mu[i] += x[i];
  }
  for (int64_t i = 0; i < n; ++i) mu[i] /= T(C);
  for (int64_t c = 0; c < C; ++c) {
    const T* x = f.x + blk.offset + c * I;
    for (int64_t i = 0; i < n; ++i) rs[i] += (x[i] - mu[i]) * (x[i] - mu[i]);
  }
  for (int64_t i = 0; i < n; ++i) rs[i] = T(1) / std::sqrt(rs[i] / T(C) + f.eps);
  for (int64_t c = 0; c < C; ++c) {
    const T* x = f.x + blk.offset + c * I;
    T* y = f.y + blk.offset + c * I;
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mu[i]) * rs[i] * f.w[c] + f.b[c];
  }
  for (int64_t i = 0; i < n; ++i) {
    f.mean[blk.position + i] = mu[i];
    f.rstd[blk.position + i] = rs[i];
  }
}

template <class T>
struct Backward {
  const T* dy;    // (O, C, I)
  const T* x;     // (O, C, I)
  const T* w;     // (C)
  const T* mean;  // (O, I)
  const T* rstd;  // (O, I)
  T* dx;          // (O, C, I)
  T* partial;     // (blocks, 2C): per block [Σ dy·x̂ | Σ dy], or null when no weight gradient
};

template <class T>
void backward_rows(const Backward<T>& k, int64_t C, int64_t t, const Block& blk) {
  T* dw = k.partial ? k.partial + t * 2 * C : nullptr;
  if (dw) std::fill(dw, dw + 2 * C, T(0));
  for (int64_t r = 0; r < blk.count; ++r) {
    const T* dy = k.dy + blk.offset + r * C;
    const T* x = k.x + blk.offset + r * C;
    T* dx = k.dx + blk.offset + r * C;
    T mu = k.mean[blk.position + r], rs = k.rstd[blk.position + r];
    T g_mean = lane_sum<T>(C, [&](int64_t c) { return dy[c] * k.w[c]; }) / T(C);
    T gx_mean = lane_sum<T>(C, [&](int64_t c) { return dy[c] * k.w[c] * (x[c] - mu) * rs; }) / T(C);
    for (int64_t c = 0; c < C; ++c) {
      T xhat = (x[c] - mu) * rs;
      dx[c] = rs * (dy[c] * k.w[c] - g_mean - xhat * gx_mean);
    }
    if (dw) {
      for (int64_t c = 0; c < C; ++c) {
        dw[c] += dy[c] * (x[c] - mu) * rs;
        dw[C + c] += dy[c];
      }
    }
  }
}

template <class T>
void backward_tile(const Backward<T>& k, int64_t C, int64_t I, int64_t t, const Block& blk) {
  const int64_t n = blk.count;
  T mu[kTile], rs[kTile], g_mean[kTile] = {}, gx_mean[kTile] = {};
  for (int64_t i = 0; i < n; ++i) {
    mu[i] = k.mean[blk.position + i];
    rs[i] = k.rstd[blk.position + i];
  }
  for (int64_t c = 0; c < C; ++c) {
    const T* dy = k.dy + blk.offset + c * I;
    const T* x = k.x + blk.offset + c * I;
    for (int64_t i = 0; i < n; ++i) {
      T g = dy[i] * k.w[c];
      g_mean[i] += g;
      gx_mean[i] += g * (x[i] - mu[i]) * rs[i];
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    g_mean[i] /= T(C);
    gx_mean[i] /= T(C);
  }
  T* dw = k.partial ? k.partial + t * 2 * C : nullptr;
  for (int64_t c = 0; c < C; ++c) {
    const T* dy = k.dy + blk.offset + c * I;
    const T* x = k.x + blk.offset + c * I;
    T* dx = k.dx + blk.offset + c * I;
    T dw_sum = 0, db_sum = 0;
    for (int64_t i = 0; i < n; ++i) {
      T xhat = (x[i] - mu[i]) * rs[i];
      dx[i] = rs[i] * (dy[i] * k.w[c] - g_mean[i] - xhat * gx_mean[i]);
      dw_sum += dy[i] * xhat;
      db_sum += dy[i];
    }
    if (dw) {
      dw[c] = dw_sum;
      dw[C + c] = db_sum;
    }
  }
}

int64_t axis_of(const Attrs& attrs) { return attrs.number_or("axis", -1) == 1 ? 1 : -1; }

}  // namespace

void layer_norm(const OpCall& call) {
  NormShape s = norm_shape(call.in(0), axis_of(call.attrs));
  double eps = call.attrs.number_or("eps", 1e-5);
  for_float_types(call.name, call.in(0).dtype(), [&](auto zero) {
    using T = decltype(zero);
    Forward<T> f{call.in(0).data<T>(), call.in(1).data<T>(), call.in(2).data<T>(), T(eps),
                 call.out(0).data<T>(), call.out(1).data<T>(), call.out(2).data<T>()};
    for_each_block(s, [&](int64_t, const Block& blk) {
      if (s.inner == 1) forward_rows(f, s.channels, blk);
      else forward_tile(f, s.channels, s.inner, blk);
    });
  });
}

void layer_norm_backward(const OpCall& call) {
  NormShape s = norm_shape(call.in(1), axis_of(call.attrs));
  bool need_weight = call.outputs.size() == 3;
  const int64_t C = s.channels, blocks = block_count(s);
  for_float_types(call.name, call.in(1).dtype(), [&](auto zero) {
    using T = decltype(zero);
    std::vector<T> partial(need_weight ? static_cast<size_t>(blocks * 2 * C) : 0);
    Backward<T> k{call.in(0).data<T>(), call.in(1).data<T>(), call.in(2).data<T>(), call.in(3).data<T>(),
                  call.in(4).data<T>(), call.out(0).data<T>(), need_weight ? partial.data() : nullptr};
    for_each_block(s, [&](int64_t t, const Block& blk) {
      if (s.inner == 1) backward_rows(k, C, t, blk);
      else backward_tile(k, C, s.inner, t, blk);
    });
    if (!need_weight) return;
    T* dw = call.out(1).data<T>();
    T* db = call.out(2).data<T>();
    parallel_for(2 * C, 16, [&](int64_t lo, int64_t hi) {
      for (int64_t j = lo; j < hi; ++j) {
        double acc = 0;
        for (int64_t t = 0; t < blocks; ++t) acc += static_cast<double>(partial[t * 2 * C + j]);
        (j < C ? dw[j] : db[j - C]) = static_cast<T>(acc);
      }
    });
  });
}

}  // namespace samcobot::cpu
