// Index plans of the layout family, shared by the validation code and both backends' kernels
// (plain structs of fixed-size arrays, so a kernel can take them by value).
//
// A permutation is first simplified: size-1 dims are dropped and input dims that stay adjacent and
// in order in the output are merged. SAM's qkv permute (B, N, 3, heads, D) -> (3, B, heads, N, D)
// then keeps D innermost (a copy of contiguous rows), and (B, heads, H, W, D) -> (B, H, W, heads, D)
// becomes (B, heads, H·W, D) -> (B, H·W, heads, D). A permutation that moves the innermost dim is a
// batch of 2-D transposes, which the kernels run in tiles.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "../core/random.h"  // SAM_COBOT_HD
#include "broadcast.h"       // kMaxRank

namespace samcobot {

struct PermutePlan {
  int rank = 0;                       // after simplification; 0 or 1 means a plain copy
  int64_t out_dims[kMaxRank] = {};
  int64_t in_strides[kMaxRank] = {};  // input stride (elements) of each output dim
  int64_t out_strides[kMaxRank] = {};

  bool plain_copy() const { return rank <= 1; }
  // The input's innermost dim stays the output's innermost: rows of out_dims[rank-1] copy as is.
  bool inner_kept() const { return rank >= 1 && in_strides[rank - 1] == 1; }
  // The output position of the input's innermost dim (the transpose partner of the last one).
  int input_inner_position() const {
    for (int d = 0; d < rank; ++d)
      if (in_strides[d] == 1) return d;
    return rank - 1;
  }
};

// `dims` must already be a valid permutation of 0..shape.size()-1.
inline PermutePlan plan_permute(const std::vector<int64_t>& shape, const std::vector<int64_t>& dims) {
  int rank = static_cast<int>(shape.size());
  // Input dims of size 1 carry no data: renumber the rest.
  std::vector<int> renumber(rank, -1);
  std::vector<int64_t> sizes;
  for (int d = 0; d < rank; ++d)
    if (shape[d] != 1) { renumber[d] = static_cast<int>(sizes.size()); sizes.push_back(shape[d]); }
  std::vector<int> order;  // output order of the kept input dims
  for (int64_t d : dims)
    if (renumber[d] >= 0) order.push_back(renumber[d]);
  // Runs of consecutive input dims in output order merge into one dim.
  std::vector<std::pair<int, int>> runs;  // [first, last] input dims, in output order
  for (int d : order) {
    if (!runs.empty() && runs.back().second + 1 == d) runs.back().second = d;
    else runs.push_back({d, d});
  }
  PermutePlan plan;
  plan.rank = static_cast<int>(runs.size());
  std::vector<int64_t> in_stride_of(sizes.size() + 1, 1);  // stride of each kept input dim
  for (int d = static_cast<int>(sizes.size()) - 1; d >= 0; --d) in_stride_of[d] = in_stride_of[d + 1] * sizes[d];
  for (int r = 0; r < plan.rank; ++r) {
    int64_t size = 1;
    for (int d = runs[r].first; d <= runs[r].second; ++d) size *= sizes[d];
    plan.out_dims[r] = size;
    plan.in_strides[r] = in_stride_of[runs[r].second + 1];
  }
  int64_t stride = 1;
  for (int r = plan.rank - 1; r >= 0; --r) {
    plan.out_strides[r] = stride;
    stride *= plan.out_dims[r];
  }
  return plan;
}

// A tensor seen as (outer, size along axis, inner): how split, concat and slice see it.
struct AxisView {
  int64_t outer = 1, size = 0, inner = 1;
};

inline AxisView axis_view(const std::vector<int64_t>& shape, int axis) {
  AxisView v;
  for (int d = 0; d < axis; ++d) v.outer *= shape[d];
  v.size = shape[axis];
  for (size_t d = axis + 1; d < shape.size(); ++d) v.inner *= shape[d];
  return v;
}

// One output coordinate of a linear resize (PyTorch interpolate, align_corners=False, no
// antialias; sam-architecture.md section 5): out[o] = (1 - lambda) in[i0] + lambda in[i1].
template <class S>
struct LinearTap {
  int64_t i0, i1;
  S lambda;
};

// A product rounded once: CUDA would otherwise fuse it into the subtraction after it (FMA), and the
// two backends would disagree on the last bit of the source coordinate.
SAM_COBOT_HD inline float product_rounded(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
SAM_COBOT_HD inline double product_rounded(double a, double b) {
#ifdef __CUDA_ARCH__
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

// Computed in S, the type PyTorch uses for the coordinate (float for f32, double for f64).
template <class S>
SAM_COBOT_HD inline LinearTap<S> linear_tap(int64_t o, int64_t in, int64_t out) {
  S scale = static_cast<S>(in) / static_cast<S>(out);
  S s = product_rounded(scale, static_cast<S>(o) + S(0.5)) - S(0.5);
  if (s < S(0)) s = S(0);
  int64_t i0 = static_cast<int64_t>(s);  // floor, as s >= 0
  return {i0, i0 < in - 1 ? i0 + 1 : i0, s - static_cast<S>(i0)};
}

// The weight input index i has in output o's interpolation (zero when o does not read i).
template <class S>
SAM_COBOT_HD inline S linear_weight(const LinearTap<S>& tap, int64_t i) {
  return (tap.i0 == i ? S(1) - tap.lambda : S(0)) + (tap.i1 == i ? tap.lambda : S(0));
}

// The first output that may read input index i: outputs read i only when their i0 is i - 1 or i,
// i.e. s >= i - 1; one output step below that bound absorbs rounding. i0 never decreases with o,
// so a scan from here stops at the first output with i0 > i.
SAM_COBOT_HD inline int64_t first_reader(int64_t i, int64_t in, int64_t out) {
  double o = (static_cast<double>(i) - 0.5) * static_cast<double>(out) / static_cast<double>(in) - 1.5;
  return o <= 0 ? 0 : static_cast<int64_t>(o);
}

}  // namespace samcobot
