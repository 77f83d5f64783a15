// Convolutions on the CPU: conv2d and conv_transpose2d, forward and backward, as im2col + GEMM.
// Letters as in native/ops/conv_shape.h: the image side (B, Ci, H, W), the map side (B, Co, Ho, Wo),
// the kernel (Co, Ci, kh, kw) viewed as a (Co, K) matrix, K = Ci·kh·kw, P = Ho·Wo.
//
// Three primitives do all the work, per image of the batch:
//   correlate:  map (Co, P)   = W (Co, K) · im2col(image) (K, P)            [+ bias]
//   scatter:    image         = col2im(Wᵀ (K, Co) · map (Co, P))            [+ bias]
//   weight:     dW (Co, K)    = Σ_b map_b (Co, P) · im2col(image_b)ᵀ (P, K)
// conv2d is correlate; its input gradient is scatter, its weight gradient is weight. conv_transpose2d
// is scatter (its x is the map side), its input gradient is correlate, its weight gradient is weight
// with the roles of x and dy exchanged. Bias gradients are channel sums of dy.
// Why this scheme: the GEMMs carry all the FLOPs (cpu::sgemm/dgemm, parallel inside), and im2col /
// col2im are cheap rearrangements next to them. A 1x1 stride-1 kernel skips im2col (the image is
// its own column matrix); stride == kernel without padding (SAM's patch embedding and its 2x2
// stride-2 convs) needs no special path: im2col and col2im then copy each element once.
// Deterministic: col2im gathers (every image element sums its taps in a fixed order), the weight
// gradient accumulates the batch in order through the GEMM's beta, channel sums run in a fixed order.
#include "conv.h"

#include <algorithm>

#include "../core/thread_pool.h"
#include "../ops/conv_shape.h"
#include "dispatch.h"
#include "gemm.h"

namespace samcobot::cpu {
namespace {

void gemm_rows(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
               float* C, int64_t ldc) {
  sgemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
}
void gemm_rows(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const double* A, int64_t lda, const double* B, int64_t ldb, double beta,
               double* C, int64_t ldc) {
  dgemm(ta, tb, M, N, K, 1.0, A, lda, B, ldb, beta, C, ldc);
}

template <class T>
Tensor scratch(int64_t elements) {
  return Tensor::empty({elements}, sizeof(T) == 4 ? DType::F32 : DType::F64, Device::Cpu);
}

// The (K, P) im2col matrix of one image (Ci, H, W), one row per kernel tap (c, i, j). Along a row
// the columns whose tap falls inside the image form one range [ow_lo, ow_hi) per output row.
template <class T>
void im2col(const ConvGeometry& g, const T* image, T* col) {
  const int64_t P = g.out_pixels();
  parallel_for(g.patch(), 4, [&](int64_t lo, int64_t hi) {
    for (int64_t k = lo; k < hi; ++k) {
      const int64_t j = k % g.kw, i = (k / g.kw) % g.kh, c = k / (g.kw * g.kh);
      const int64_t ow_lo = std::min(g.out_w, (std::max<int64_t>(0, g.pw - j) + g.sw - 1) / g.sw);
      const int64_t last = g.in_w - 1 + g.pw - j;
      const int64_t ow_hi = std::max(ow_lo, last < 0 ? 0 : std::min(g.out_w, last / g.sw + 1));
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        T* row = col + k * P + oh * g.out_w;
        const int64_t ih = oh * g.sh - g.ph + i;
        if (ih < 0 || ih >= g.in_h) {
          std::fill(row, row + g.out_w, T(0));
          continue;
        }
        const T* src = image + (c * g.in_h + ih) * g.in_w + j - g.pw;
        std::fill(row, row + ow_lo, T(0));
        for (int64_t ow = ow_lo; ow < ow_hi; ++ow) row[ow] = src[ow * g.sw];
        std::fill(row + ow_hi, row + g.out_w, T(0));
      }
    }
  });
}

// image (Ci, H, W) = col2im(col (K, P)) [+ bias (Ci)].
template <class T>
void col2im(const ConvGeometry& g, const T* col, const T* bias, T* image) {
  parallel_for(g.in_channels * g.in_h, 4, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const int64_t c = r / g.in_h, ih = r % g.in_h;
      const T b = bias ? bias[c] : T(0);
      T* row = image + r * g.in_w;
      for (int64_t iw = 0; iw < g.in_w; ++iw) row[iw] = b + col2im_value(g, col, c, ih, iw);
    }
  });
}

// Every row of out (rows, n) set to bias[row].
template <class T>
void fill_rows(const T* bias, int64_t rows, int64_t n, T* out) {
  parallel_for(rows, 4, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) std::fill(out + r * n, out + (r + 1) * n, bias[r]);
  });
}

// map (B, Co, Ho, Wo) = correlate(image (B, Ci, H, W), weight (Co, K)) [+ bias (Co)].
template <class T>
void correlate(const ConvGeometry& g, const T* image, const T* weight, const T* bias, T* map) {
  const int64_t K = g.patch(), P = g.out_pixels();
  Tensor col = g.pointwise() ? Tensor() : scratch<T>(K * P);
  for (int64_t b = 0; b < g.batch; ++b) {
    const T* image_b = image + b * g.in_channels * g.in_pixels();
    T* map_b = map + b * g.out_channels * P;
    if (!g.pointwise()) im2col(g, image_b, col.data<T>());
    if (bias) fill_rows(bias, g.out_channels, P, map_b);
    gemm_rows(false, false, g.out_channels, P, K, weight, K, g.pointwise() ? image_b : col.data<T>(), P, bias ? T(1) : T(0), map_b, P);
  }
}

// image (B, Ci, H, W) = scatter(map (B, Co, Ho, Wo), weight (Co, K)) [+ bias (Ci)].
template <class T>
void scatter(const ConvGeometry& g, const T* map, const T* weight, const T* bias, T* image) {
  const int64_t K = g.patch(), P = g.out_pixels();
  Tensor col = g.pointwise() ? Tensor() : scratch<T>(K * P);
  for (int64_t b = 0; b < g.batch; ++b) {
    const T* map_b = map + b * g.out_channels * P;
    T* image_b = image + b * g.in_channels * g.in_pixels();
    if (g.pointwise()) {
      if (bias) fill_rows(bias, g.in_channels, P, image_b);
      gemm_rows(true, false, K, P, g.out_channels, weight, K, map_b, P, bias ? T(1) : T(0), image_b, P);
    } else {
      gemm_rows(true, false, K, P, g.out_channels, weight, K, map_b, P, T(0), col.data<T>(), P);
      col2im(g, col.data<const T>(), bias, image_b);
    }
  }
}

// weight_grad (Co, K) = Σ_b map_b (Co, P) · im2col(image_b)ᵀ, summed over the batch in order.
template <class T>
void weight_gradient(const ConvGeometry& g, const T* image, const T* map, T* weight_grad) {
  const int64_t K = g.patch(), P = g.out_pixels();
  if (g.batch == 0) std::fill(weight_grad, weight_grad + g.out_channels * K, T(0));
  Tensor col = g.pointwise() ? Tensor() : scratch<T>(K * P);
  for (int64_t b = 0; b < g.batch; ++b) {
    const T* image_b = image + b * g.in_channels * g.in_pixels();
    if (!g.pointwise()) im2col(g, image_b, col.data<T>());
    gemm_rows(false, true, g.out_channels, K, P, map + b * g.out_channels * P, P, g.pointwise() ? image_b : col.data<T>(), P,
              b ? T(1) : T(0), weight_grad, K);
  }
}

// sums (C) = Σ_b Σ_n t[b, c, n] for t (B, C, N), each channel in a fixed order.
template <class T>
void channel_sums(const T* t, int64_t B, int64_t C, int64_t N, T* sums) {
  parallel_for(C, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) {
      double acc = 0;
      for (int64_t b = 0; b < B; ++b) {
        const T* row = t + (b * C + c) * N;
        for (int64_t n = 0; n < N; ++n) acc += static_cast<double>(row[n]);
      }
      sums[c] = static_cast<T>(acc);
    }
  });
}

template <class T>
const T* optional_input(const OpCall& call, size_t i) {
  return call.inputs.size() > i ? call.in(i).data<T>() : nullptr;
}

}  // namespace

void conv2d(const OpCall& call) {
  ConvGeometry g = conv2d_geometry(call.name, call.in(0), call.in(1), call.attrs);
  for_float_types(call.name, call.in(0).dtype(), [&](auto zero) {
    using T = decltype(zero);
    correlate(g, call.in(0).data<T>(), call.in(1).data<T>(), optional_input<T>(call, 2), call.out(0).data<T>());
  });
}

void conv_transpose2d(const OpCall& call) {
  ConvGeometry g = conv_transpose2d_geometry(call.name, call.in(0), call.in(1), call.attrs);
  for_float_types(call.name, call.in(0).dtype(), [&](auto zero) {
    using T = decltype(zero);
    scatter(g, call.in(0).data<T>(), call.in(1).data<T>(), optional_input<T>(call, 2), call.out(0).data<T>());
  });
}

// inputs [dy (map side), x (image side), w]
void conv2d_backward(const OpCall& call) {
  ConvGeometry g = conv2d_geometry(call.name, call.in(1), call.in(2), call.attrs);
  ConvGrads grads = conv_grads(call.attrs);
  for_float_types(call.name, call.in(1).dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T *dy = call.in(0).data<T>(), *x = call.in(1).data<T>(), *w = call.in(2).data<T>();
    size_t o = 0;
    if (grads.input) scatter<T>(g, dy, w, nullptr, call.out(o++).data<T>());
    if (grads.weight) weight_gradient(g, x, dy, call.out(o++).data<T>());
    if (grads.bias) channel_sums(dy, g.batch, g.out_channels, g.out_pixels(), call.out(o++).data<T>());
  });
}

// inputs [dy (image side), x (map side), w]
void conv_transpose2d_backward(const OpCall& call) {
  ConvGeometry g = conv_transpose2d_geometry(call.name, call.in(1), call.in(2), call.attrs);
  ConvGrads grads = conv_grads(call.attrs);
  for_float_types(call.name, call.in(1).dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T *dy = call.in(0).data<T>(), *x = call.in(1).data<T>(), *w = call.in(2).data<T>();
    size_t o = 0;
    if (grads.input) correlate<T>(g, dy, w, nullptr, call.out(o++).data<T>());
    if (grads.weight) weight_gradient(g, dy, x, call.out(o++).data<T>());
    if (grads.bias) channel_sums(dy, g.batch, g.in_channels, g.in_pixels(), call.out(o++).data<T>());
  });
}

}  // namespace samcobot::cpu
