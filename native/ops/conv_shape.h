// The geometry of the convolution ops, shared by validation and both backends' kernels.
//
// Everything is stated in the conv2d orientation: an "image" side `in` (B, Ci, H, W) is correlated
// with a kernel (Co, Ci, kh, kw) at stride s with symmetric zero padding p, giving the "map" side
// `out` (B, Co, Ho, Wo), Ho = ⌊(H + 2ph − kh) / sh⌋ + 1. The im2col matrix of one image is
// (K, P) = (Ci·kh·kw, Ho·Wo); row k = (c·kh + i)·kw + j, column p = oh·Wo + ow holds
// in[c, oh·sh − ph + i, ow·sw − pw + j] (0 outside the image).
//
// conv_transpose2d is the same geometry read backwards: its input x (B, Cin, Hx, Wx) is the map side
// (Co = Cin, Ho = Hx), its output the image side (Ci = Cout, H = (Hx − 1)·sh − 2ph + kh), and its
// weight, stored (Cin, Cout, kh, kw) = (Co, Ci, kh, kw), is the conv kernel as it lies in memory.
#pragma once
#include "../core/op.h"
#include "../core/random.h"  // SAM_COBOT_HD

namespace samcobot {

struct ConvGeometry {
  int64_t batch = 0;                                  // B
  int64_t in_channels = 0, in_h = 0, in_w = 0;        // Ci, H, W   (image side)
  int64_t out_channels = 0, out_h = 0, out_w = 0;     // Co, Ho, Wo (map side)
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0;

  SAM_COBOT_HD int64_t patch() const { return in_channels * kh * kw; }  // K
  SAM_COBOT_HD int64_t out_pixels() const { return out_h * out_w; }     // P
  SAM_COBOT_HD int64_t in_pixels() const { return in_h * in_w; }
  // A 1x1 kernel at stride 1 without padding: the image itself is its im2col matrix.
  SAM_COBOT_HD bool pointwise() const { return kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0; }
};

// Which gradients a backward op computes (attrs needInput, needWeight: default true; needBias:
// default false). Outputs come in the order [dx, dw, db], requested ones only.
struct ConvGrads {
  bool input = true, weight = true, bias = false;
};
ConvGrads conv_grads(const Attrs& attrs);

// Validate x and w (and read stride/padding) for each op; the kernels call them again to re-derive.
ConvGeometry conv2d_geometry(const std::string& op, const Tensor& x, const Tensor& w, const Attrs& attrs);
ConvGeometry conv_transpose2d_geometry(const std::string& op, const Tensor& x, const Tensor& w, const Attrs& attrs);

// The image-side gradient at (c, ih, iw) from the gradient of the im2col matrix `col` (K, P): the
// sum over every (i, j, oh, ow) with oh·sh − ph + i = ih and ow·sw − pw + j = iw. Only the kernel
// taps i ≡ (ih + ph) mod sh can land there, so the loops step by the stride. A gather (not a
// scatter): every element is written once, without atomics, in a fixed order.
template <class T>
SAM_COBOT_HD inline T col2im_value(const ConvGeometry& g, const T* col, int64_t c, int64_t ih, int64_t iw) {
  T acc = T(0);
  const int64_t P = g.out_pixels();
  const int64_t y = ih + g.ph, x = iw + g.pw;
  for (int64_t i = y % g.sh; i < g.kh && i <= y; i += g.sh) {
    int64_t oh = (y - i) / g.sh;
    if (oh >= g.out_h) continue;
    for (int64_t j = x % g.sw; j < g.kw && j <= x; j += g.sw) {
      int64_t ow = (x - j) / g.sw;
      if (ow >= g.out_w) continue;
      acc += col[((c * g.kh + i) * g.kw + j) * P + oh * g.out_w + ow];
    }
  }
  return acc;
}

}  // namespace samcobot
