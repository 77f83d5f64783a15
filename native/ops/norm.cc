// Validation and registration of the LayerNorm ops (kernels: native/cpu/norm.cc, native/cuda/norm.cu).
//   layer_norm          [x, weight (C), bias (C)]           {eps, axis} -> [y, mean, rstd]
//   layer_norm_backward [dy, x, weight, mean, rstd]         {axis, needWeight} -> [dx, dweight, dbias] | [dx]
// mean and rstd have x's shape without the normalised axis; they are f32 when x is bf16 or f16.
#include "../core/op.h"
#include "../cpu/norm.h"
#include "norm_shape.h"
#ifdef SAM_COBOT_WITH_CUDA
#include "../cuda/norm.h"
#endif

namespace samcobot {
namespace {

DType stats_dtype(DType x) { return x == DType::BF16 || x == DType::F16 ? DType::F32 : x; }

int64_t checked_axis(const std::string& op, const Tensor& x, const Attrs& attrs) {
  double axis = attrs.number_or("axis", -1);
  if (axis != -1 && axis != 1) fail("ERR_ARGUMENT", op, "-1 (the last axis) or 1 (channels of NCHW)", "attribute 'axis'", to_text(axis));
  if (axis == 1) expect_rank(op, "x (axis 1 normalises the C of (B, C, H, W))", x, 4);
  else expect_rank_at_least(op, "x", x, 1);
  return static_cast<int64_t>(axis);
}

// Checks x, weight (and bias when given) and returns the normalised axis.
int64_t check_x_and_weight(const std::string& op, const Tensor& x, const Tensor& weight, const Attrs& attrs) {
  expect_float(op, "x", x);
  int64_t axis = checked_axis(op, x, attrs);
  int64_t c = x.dim(axis == 1 ? 1 : -1);
  if (c < 1) fail("ERR_SHAPE", op, "at least one channel along the normalised axis", "x", shape_string(x.shape()));
  expect_same_dtype(op, "weight", weight, x);
  expect_shape(op, "weight", weight, {c});
  return axis;
}

std::vector<TensorSpec> validate_layer_norm(const std::vector<Tensor>& in, const Attrs& attrs) {
  const std::string op = "layer_norm";
  expect_inputs(op, in, 3, 3);
  int64_t axis = check_x_and_weight(op, in[0], in[1], attrs);
  expect_same_dtype(op, "bias", in[2], in[0]);
  expect_shape(op, "bias", in[2], in[1].shape());
  double eps = attrs.number_or("eps", 1e-5);
  if (!(eps >= 0) || eps > 1) fail("ERR_ARGUMENT", op, "a number in [0, 1]", "attribute 'eps'", to_text(eps));
  Shape stats = norm_stats_shape(in[0], axis);
  DType sd = stats_dtype(in[0].dtype());
  return {{in[0].shape(), in[0].dtype()}, {stats, sd}, {stats, sd}};
}

std::vector<TensorSpec> validate_layer_norm_backward(const std::vector<Tensor>& in, const Attrs& attrs) {
  const std::string op = "layer_norm_backward";
  expect_inputs(op, in, 5, 5);
  const Tensor &dy = in[0], &x = in[1], &weight = in[2];
  int64_t axis = check_x_and_weight(op, x, weight, attrs);
  expect_same_dtype(op, "dy", dy, x);
  expect_shape(op, "dy", dy, x.shape());
  Shape stats = norm_stats_shape(x, axis);
  DType sd = stats_dtype(x.dtype());
  for (int i : {3, 4}) {
    const char* name = i == 3 ? "mean" : "rstd";
    if (in[i].dtype() != sd) fail("ERR_DTYPE", op, std::string("dtype ") + dtype_name(sd), name, dtype_name(in[i].dtype()));
    expect_shape(op, name, in[i], stats);
  }
  std::vector<TensorSpec> out = {{x.shape(), x.dtype()}};
  if (attrs.flag("needWeight")) {
    out.push_back({weight.shape(), weight.dtype()});
    out.push_back({weight.shape(), weight.dtype()});
  }
  return out;
}

}  // namespace

SAM_COBOT_OP({"layer_norm", validate_layer_norm, cpu::layer_norm, CUDA_KERNEL(layer_norm)});
SAM_COBOT_OP({"layer_norm_backward", validate_layer_norm_backward, cpu::layer_norm_backward, CUDA_KERNEL(layer_norm_backward)});

}  // namespace samcobot
