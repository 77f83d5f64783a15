// Index plans for broadcasting binary ops and axis reductions, shared by the validation code and
// both backends' kernels (plain structs of fixed-size arrays, so they can be passed to a kernel).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "../core/random.h"  // SAM_COBOT_HD

namespace samcobot {

constexpr int kMaxRank = 8;

enum class BinaryKind : int { Add = 0, Sub = 1, Mul = 2, Div = 3 };

BinaryKind binary_kind(const std::string& op);

template <class T>
SAM_COBOT_HD inline T apply_binary(BinaryKind kind, T a, T b) {
  switch (kind) {
    case BinaryKind::Add: return a + b;
    case BinaryKind::Sub: return a - b;
    case BinaryKind::Mul: return a * b;
    default: return a / b;
  }
}

// NumPy broadcasting of two shapes to one output; offsets() maps an output index to each input's.
struct BroadcastPlan {
  int rank = 0;
  bool same = false;  // both inputs already have the output's shape
  int64_t out_dims[kMaxRank] = {};
  int64_t a_strides[kMaxRank] = {};  // 0 where a is broadcast
  int64_t b_strides[kMaxRank] = {};

  SAM_COBOT_HD void offsets(int64_t index, int64_t* ia, int64_t* ib) const {
    if (same) { *ia = index; *ib = index; return; }
    int64_t a = 0, b = 0;
    for (int d = rank - 1; d >= 0; --d) {
      int64_t coord = index % out_dims[d];
      index /= out_dims[d];
      a += coord * a_strides[d];
      b += coord * b_strides[d];
    }
    *ia = a;
    *ib = b;
  }
};

// Throws ERR_SHAPE when the shapes do not broadcast.
std::vector<int64_t> broadcast_shape(const std::string& op, const std::vector<int64_t>& a, const std::vector<int64_t>& b);
BroadcastPlan plan_broadcast(const std::vector<int64_t>& a, const std::vector<int64_t>& b);

// A reduction over some axes: output element o reads input_offset(o) + reduced_offset(r) for
// r in [0, inner).
struct ReducePlan {
  int kept_rank = 0, reduced_rank = 0;
  int64_t outer = 1, inner = 1;
  int64_t kept_dims[kMaxRank] = {}, kept_strides[kMaxRank] = {};
  int64_t reduced_dims[kMaxRank] = {}, reduced_strides[kMaxRank] = {};

  SAM_COBOT_HD int64_t input_offset(int64_t o) const {
    int64_t off = 0;
    for (int d = kept_rank - 1; d >= 0; --d) {
      off += (o % kept_dims[d]) * kept_strides[d];
      o /= kept_dims[d];
    }
    return off;
  }
  SAM_COBOT_HD int64_t reduced_offset(int64_t r) const {
    int64_t off = 0;
    for (int d = reduced_rank - 1; d >= 0; --d) {
      off += (r % reduced_dims[d]) * reduced_strides[d];
      r /= reduced_dims[d];
    }
    return off;
  }
};

// `axes` may be negative (from the end); throws ERR_ARGUMENT on a bad or repeated axis.
ReducePlan plan_reduce(const std::vector<int64_t>& shape, const std::vector<int64_t>& axes);
std::vector<int64_t> reduced_shape(const std::vector<int64_t>& shape, const std::vector<int64_t>& axes, bool keep_dims);

}  // namespace samcobot
