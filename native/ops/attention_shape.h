// The shape rules of the attention ops (sam-architecture.md 2.3 and 4.2), shared by validation and
// both backends.
//   attention:          [q (BH, N, D), k (BH, M, D), v (BH, M, Dv)] (+ [rel_pos_h (2gh-1, D), rel_pos_w (2gw-1, D)])
//                       -> [out (BH, N, Dv), lse (BH, N)]
//   attention_backward: [dout, q, k, v, out, lse] (+ [rel_pos_h, rel_pos_w])
//                       -> [dq, dk, dv] (+ [drel_pos_h, drel_pos_w] when the tables are given and needRelPos)
// With the tables, N == M == gh * gw and token t sits at grid row t / gw, column t % gw.
#pragma once
#include "../core/op.h"

namespace samcobot {

// The CUDA kernels keep a thread's share of one output row in registers: D and Dv up to this.
constexpr int64_t kCudaMaxHeadWidth = 128;

struct AttentionShape {
  int64_t BH = 0;   // batch * heads, flattened; the tables are shared by all of them
  int64_t N = 0;    // queries
  int64_t M = 0;    // keys
  int64_t D = 0;    // q and k width
  int64_t Dv = 0;   // v width
  double scale = 1;  // multiplies q.k only; the relative terms use the unscaled q
  bool rel = false;  // relative-position tables given
  int64_t gh = 0, gw = 0;    // the token grid when rel
  bool need_rel_grad = false;  // attention_backward: return the table gradients
  // Columns of the relative-logit rows: rel[t, r] for the gh grid rows, then rel[t, gh + c] for the gw columns.
  int64_t rel_width() const { return rel ? gh + gw : 0; }
};

// Validates the inputs of `attention` (backward == false) or `attention_backward` and returns the shape.
AttentionShape attention_shape(const std::string& op, const std::vector<Tensor>& inputs, const Attrs& attrs, bool backward);

}  // namespace samcobot
