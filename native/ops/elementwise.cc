// Validation and registration of the elementwise family (see native/cpu/elementwise.cc).
#include "../core/op.h"
#include "../cpu/elementwise.h"
#include "broadcast.h"
#ifdef SAM_COBOT_WITH_CUDA
#include "../cuda/elementwise.h"
#endif

namespace samcobot {
namespace {

std::vector<TensorSpec> validate_fill(const std::vector<Tensor>& in, const Attrs& attrs) {
  expect_inputs("fill", in, 1, 1);
  attrs.number_or("value", 0);
  return {};
}

std::vector<TensorSpec> validate_random_fill(const std::vector<Tensor>& in, const Attrs& attrs) {
  expect_inputs("random_fill", in, 1, 1);
  expect_float("random_fill", "the tensor", in[0]);
  std::string d = attrs.string_or("distribution", "normal");
  if (d != "normal" && d != "uniform") fail("ERR_ARGUMENT", "random_fill", "'normal' or 'uniform'", "distribution", d);
  attrs.integer_or("random_fill", "seed", 0, 0, int64_t(1) << 53);
  for (const char* key : {"mean", "std", "low", "high"}) attrs.finite_or("random_fill", key, 0);
  return {};
}

std::vector<TensorSpec> validate_copy(const std::vector<Tensor>& in, const Attrs&) {
  expect_inputs("copy", in, 1, 1);
  return {{in[0].shape(), in[0].dtype()}};
}

std::vector<TensorSpec> validate_cast(const std::vector<Tensor>& in, const Attrs& attrs) {
  expect_inputs("cast", in, 1, 1);
  DType to;
  std::string name = attrs.string("cast", "dtype");
  if (!dtype_from_name(name, &to)) fail("ERR_DTYPE", "cast", "one of f32, f64, bf16, f16, i32, u8", "dtype", name);
  return {{in[0].shape(), to}};
}

std::vector<TensorSpec> validate_binary(const std::string& op, const std::vector<Tensor>& in) {
  expect_inputs(op, in, 2, 2);
  expect_float(op, "input 0", in[0]);
  expect_same_dtype(op, "input 1", in[1], in[0]);
  return {{broadcast_shape(op, in[0].shape(), in[1].shape()), in[0].dtype()}};
}

std::vector<TensorSpec> validate_scale(const std::vector<Tensor>& in, const Attrs& attrs) {
  expect_inputs("scale", in, 1, 1);
  expect_float("scale", "input", in[0]);
  attrs.finite_or("scale", "alpha", 1);
  attrs.finite_or("scale", "beta", 0);
  return {{in[0].shape(), in[0].dtype()}};
}

std::vector<TensorSpec> validate_accumulate(const std::vector<Tensor>& in, const Attrs& attrs) {
  expect_inputs("accumulate", in, 2, 2);
  attrs.finite_or("accumulate", "alpha", 1);
  expect_float("accumulate", "the target", in[0]);
  expect_same_dtype("accumulate", "the source", in[1], in[0]);
  expect_shape("accumulate", "the source", in[1], in[0].shape());
  return {};
}

std::vector<TensorSpec> validate_sum(const std::vector<Tensor>& in, const Attrs& attrs) {
  expect_inputs("sum", in, 1, 1);
  expect_float("sum", "input", in[0]);
  return {{reduced_shape(in[0].shape(), attrs.integers("sum", "axes"), attrs.flag("keepDims")), in[0].dtype()}};
}

}  // namespace

SAM_COBOT_OP({"fill", validate_fill, cpu::fill, CUDA_KERNEL(fill), {0}});
SAM_COBOT_OP({"random_fill", validate_random_fill, cpu::random_fill, CUDA_KERNEL(random_fill), {0}});
SAM_COBOT_OP({"copy", validate_copy, cpu::copy, CUDA_KERNEL(copy)});
SAM_COBOT_OP({"cast", validate_cast, cpu::cast, CUDA_KERNEL(cast)});
SAM_COBOT_OP({"add", [](const std::vector<Tensor>& in, const Attrs&) { return validate_binary("add", in); }, cpu::binary, CUDA_KERNEL(binary)});
SAM_COBOT_OP({"sub", [](const std::vector<Tensor>& in, const Attrs&) { return validate_binary("sub", in); }, cpu::binary, CUDA_KERNEL(binary)});
SAM_COBOT_OP({"mul", [](const std::vector<Tensor>& in, const Attrs&) { return validate_binary("mul", in); }, cpu::binary, CUDA_KERNEL(binary)});
SAM_COBOT_OP({"div", [](const std::vector<Tensor>& in, const Attrs&) { return validate_binary("div", in); }, cpu::binary, CUDA_KERNEL(binary)});
SAM_COBOT_OP({"scale", validate_scale, cpu::scale, CUDA_KERNEL(scale)});
SAM_COBOT_OP({"accumulate", validate_accumulate, cpu::accumulate, CUDA_KERNEL(accumulate), {0}});
SAM_COBOT_OP({"sum", validate_sum, cpu::sum, CUDA_KERNEL(sum)});

}  // namespace samcobot
