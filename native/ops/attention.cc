// Validation and registration of the attention ops (shape rules in attention_shape.h; kernels in
// native/cpu/attention.cc and native/cuda/attention.cu).
#include <algorithm>
#include <cmath>

#include "../core/op.h"
#include "../cpu/attention.h"
#include "attention_shape.h"
#ifdef SAM_COBOT_WITH_CUDA
#include "../cuda/attention.h"
#endif

namespace samcobot {
namespace {

constexpr int64_t kMaxGrid = int64_t(1) << 30;

void expect_table(const std::string& op, const std::string& name, const Tensor& table, int64_t grid, const std::string& grid_name,
                  const Tensor& q) {
  expect_rank(op, name, table, 2);
  expect_same_dtype(op, name, table, q);
  if (table.dim(0) != 2 * grid - 1 || table.dim(1) != q.dim(2))
    fail("ERR_SHAPE", op, "shape " + shape_string({2 * grid - 1, q.dim(2)}) + " (2*" + grid_name + " - 1 rows of the head width)", name,
         shape_string(table.shape()));
}

}  // namespace

AttentionShape attention_shape(const std::string& op, const std::vector<Tensor>& in, const Attrs& attrs, bool backward) {
  const size_t first = backward ? 1 : 0;  // attention_backward's inputs start with dout
  expect_inputs(op, in, first + (backward ? 5 : 3), first + (backward ? 7 : 5));
  const size_t tables_at = first + (backward ? 5 : 3);
  if (in.size() == tables_at + 1) fail("ERR_ARGUMENT", op, "both rel_pos_h and rel_pos_w, or neither", "the inputs", "only rel_pos_h");
  const Tensor& q = in[first];
  const Tensor& k = in[first + 1];
  const Tensor& v = in[first + 2];
  expect_rank(op, "q", q, 3);
  expect_rank(op, "k", k, 3);
  expect_rank(op, "v", v, 3);
  expect_float(op, "q", q);
  expect_same_dtype(op, "k", k, q);
  expect_same_dtype(op, "v", v, q);
  if (q.device() == Device::Cuda) expect_dtype(op, "q (the CUDA kernels are f32 for now)", q, DType::F32);

  AttentionShape s;
  s.BH = q.dim(0);
  s.N = q.dim(1);
  s.D = q.dim(2);
  s.M = k.dim(1);
  s.Dv = v.dim(2);
  if (s.D < 1) fail("ERR_SHAPE", op, "a head width of at least 1", "q", shape_string(q.shape()));
  if (s.M < 1) fail("ERR_SHAPE", op, "at least one key", "k", shape_string(k.shape()));
  if (q.device() == Device::Cuda && std::max(s.D, s.Dv) > kCudaMaxHeadWidth)
    fail("ERR_SHAPE", op, "head widths of at most " + std::to_string(kCudaMaxHeadWidth) + " on CUDA", "D and Dv",
         std::to_string(s.D) + " and " + std::to_string(s.Dv));
  expect_shape(op, "k", k, {s.BH, s.M, s.D});
  if (v.dim(0) != s.BH || v.dim(1) != s.M)
    fail("ERR_SHAPE", op, "shape " + shape_string({s.BH, s.M}) + " + (Dv) (one value per key)", "v", shape_string(v.shape()));

  s.scale = attrs.has("scale") ? attrs.number(op, "scale") : 1.0 / std::sqrt(double(s.D));
  s.rel = in.size() > tables_at;
  if (s.rel) {
    s.gh = attrs.integer(op, "gridH", 1, kMaxGrid);
    s.gw = attrs.integer(op, "gridW", 1, kMaxGrid);
    if (s.N != s.gh * s.gw || s.M != s.N)
      fail("ERR_SHAPE", op, std::to_string(s.gh * s.gw) + " queries and keys (gridH * gridW = " + std::to_string(s.gh) + " * " + std::to_string(s.gw) + ")",
           "q and k", shape_string(q.shape()) + " and " + shape_string(k.shape()));
    expect_table(op, "rel_pos_h", in[tables_at], s.gh, "gridH", q);
    expect_table(op, "rel_pos_w", in[tables_at + 1], s.gw, "gridW", q);
  } else if (attrs.has("gridH") || attrs.has("gridW")) {
    fail("ERR_ARGUMENT", op, "gridH and gridW only together with rel_pos_h and rel_pos_w", "the attributes", "a grid without tables");
  }

  if (backward) {
    expect_same_dtype(op, "dout", in[0], q);
    expect_shape(op, "dout", in[0], {s.BH, s.N, s.Dv});
    expect_same_dtype(op, "out", in[4], q);
    expect_shape(op, "out", in[4], {s.BH, s.N, s.Dv});
    expect_same_dtype(op, "lse", in[5], q);
    expect_shape(op, "lse", in[5], {s.BH, s.N});
    s.need_rel_grad = s.rel && attrs.number_or("needRelPos", 1) != 0;
  }
  return s;
}

namespace {

std::vector<TensorSpec> validate_attention(const std::vector<Tensor>& in, const Attrs& attrs) {
  AttentionShape s = attention_shape("attention", in, attrs, false);
  DType t = in[0].dtype();
  return {{{s.BH, s.N, s.Dv}, t}, {{s.BH, s.N}, t}};
}

std::vector<TensorSpec> validate_attention_backward(const std::vector<Tensor>& in, const Attrs& attrs) {
  AttentionShape s = attention_shape("attention_backward", in, attrs, true);
  DType t = in[0].dtype();
  std::vector<TensorSpec> out = {{{s.BH, s.N, s.D}, t}, {{s.BH, s.M, s.D}, t}, {{s.BH, s.M, s.Dv}, t}};
  if (s.need_rel_grad) {
    out.push_back({{2 * s.gh - 1, s.D}, t});
    out.push_back({{2 * s.gw - 1, s.D}, t});
  }
  return out;
}

}  // namespace

SAM_COBOT_OP({"attention", validate_attention, cpu::attention, CUDA_KERNEL(attention)});
SAM_COBOT_OP({"attention_backward", validate_attention_backward, cpu::attention_backward, CUDA_KERNEL(attention_backward)});

}  // namespace samcobot
