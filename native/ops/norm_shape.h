// The layout rule of the LayerNorm ops, shared by validation and both backends' kernels.
// x is viewed as (O, C, I): O outer positions, C normalised channels, I inner positions.
//   axis -1: x (..., C)       -> O = numel / C, I = 1   (NHWC tokens, decoder tokens)
//   axis  1: x (B, C, H, W)   -> O = B, I = H * W       (LayerNorm2d over NCHW maps)
// Element (o, c, i) sits at (o * C + c) * I + i; the statistics of position (o, i) at o * I + i.
#pragma once
#include "../core/op.h"
#include "../core/random.h"  // SAM_COBOT_HD

namespace samcobot {

struct NormShape {
  int64_t outer = 0;     // O
  int64_t channels = 0;  // C
  int64_t inner = 0;     // I
  SAM_COBOT_HD int64_t positions() const { return outer * inner; }
};

inline NormShape norm_shape(const Tensor& x, int64_t axis) {
  NormShape s;
  s.channels = x.dim(axis == 1 ? 1 : -1);
  s.outer = axis == 1 ? x.dim(0) : (s.channels == 0 ? 0 : x.numel() / s.channels);
  s.inner = axis == 1 ? x.dim(2) * x.dim(3) : 1;
  return s;
}

// The statistics' shape: x's shape without the normalised axis.
inline Shape norm_stats_shape(const Tensor& x, int64_t axis) {
  Shape s = x.shape();
  s.erase(s.begin() + (axis == 1 ? 1 : s.size() - 1));
  return s;
}

}  // namespace samcobot
