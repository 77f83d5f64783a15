#include "broadcast.h"

#include "../core/error.h"

namespace samcobot {

BinaryKind binary_kind(const std::string& op) {
  if (op == "add") return BinaryKind::Add;
  if (op == "sub") return BinaryKind::Sub;
  if (op == "mul") return BinaryKind::Mul;
  return BinaryKind::Div;
}

std::vector<int64_t> broadcast_shape(const std::string& op, const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  size_t rank = a.size() > b.size() ? a.size() : b.size();
  if (rank > size_t(kMaxRank)) fail("ERR_SHAPE", op, "at most 8 dimensions", "the inputs", std::to_string(rank));
  std::vector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      fail("ERR_SHAPE", op, "shapes that broadcast against " + shape_string(a), "input 1", shape_string(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

BroadcastPlan plan_broadcast(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  std::vector<int64_t> out = broadcast_shape("broadcast", a, b);
  BroadcastPlan plan;
  plan.rank = static_cast<int>(out.size());
  plan.same = (a == out && b == out);
  auto strides = [&](const std::vector<int64_t>& s, int64_t* dst) {
    int64_t stride = 1;
    for (int d = plan.rank - 1; d >= 0; --d) {
      int src = d - (plan.rank - static_cast<int>(s.size()));
      int64_t dim = src < 0 ? 1 : s[src];
      dst[d] = dim == 1 ? 0 : stride;
      stride *= dim;
    }
  };
  for (int d = 0; d < plan.rank; ++d) plan.out_dims[d] = out[d];
  strides(a, plan.a_strides);
  strides(b, plan.b_strides);
  return plan;
}

static std::vector<bool> reduced_mask(const std::vector<int64_t>& shape, const std::vector<int64_t>& axes) {
  std::vector<bool> mask(shape.size(), false);
  for (int64_t axis : axes) {
    int64_t a = axis < 0 ? axis + static_cast<int64_t>(shape.size()) : axis;
    if (a < 0 || a >= static_cast<int64_t>(shape.size()) || mask[a])
      fail("ERR_ARGUMENT", "sum", "distinct axes in [-" + std::to_string(shape.size()) + ", " + std::to_string(shape.size()) + ")", "axes", std::to_string(axis));
    mask[a] = true;
  }
  return mask;
}

ReducePlan plan_reduce(const std::vector<int64_t>& shape, const std::vector<int64_t>& axes) {
  if (shape.size() > size_t(kMaxRank)) fail("ERR_SHAPE", "sum", "at most 8 dimensions", "the input", shape_string(shape));
  std::vector<bool> mask = reduced_mask(shape, axes);
  ReducePlan plan;
  int64_t stride = 1;
  std::vector<int64_t> strides(shape.size());
  for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
    strides[d] = stride;
    stride *= shape[d];
  }
  for (size_t d = 0; d < shape.size(); ++d) {
    if (mask[d]) {
      plan.reduced_dims[plan.reduced_rank] = shape[d];
      plan.reduced_strides[plan.reduced_rank++] = strides[d];
      plan.inner *= shape[d];
    } else {
      plan.kept_dims[plan.kept_rank] = shape[d];
      plan.kept_strides[plan.kept_rank++] = strides[d];
      plan.outer *= shape[d];
    }
  }
  return plan;
}

std::vector<int64_t> reduced_shape(const std::vector<int64_t>& shape, const std::vector<int64_t>& axes, bool keep_dims) {
  std::vector<bool> mask = reduced_mask(shape, axes);
  std::vector<int64_t> out;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (!mask[d]) out.push_back(shape[d]);
    else if (keep_dims) out.push_back(1);
  }
  return out;
}

}  // namespace samcobot
