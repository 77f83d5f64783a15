// Validation and registration of the activation ops (kernels: native/cpu/activation.cc,
// native/cuda/activation.cu).
//   gelu [x] -> [y];   gelu_backward [dy, x] -> [dx]          exact erf form
//   relu [x] -> [y];   relu_backward [dy, y] -> [dx]          gradient 0 where y <= 0
//   sin_cos [x (..., F)] -> [y (..., 2F) = sin x | cos x];   sin_cos_backward [dy (..., 2F), x] -> [dx]
#include "../core/op.h"
#include "../cpu/activation.h"
#ifdef SAM_COBOT_WITH_CUDA
#include "../cuda/activation.h"
#endif

namespace samcobot {
namespace {

std::vector<TensorSpec> validate_unary(const std::string& op, const std::vector<Tensor>& in) {
  expect_inputs(op, in, 1, 1);
  expect_float(op, "x", in[0]);
  return {{in[0].shape(), in[0].dtype()}};
}

// [dy, saved] with dy shaped like `saved`; the gradient has saved's shape.
std::vector<TensorSpec> validate_backward(const std::string& op, const std::string& saved_name, const std::vector<Tensor>& in) {
  expect_inputs(op, in, 2, 2);
  expect_float(op, saved_name, in[1]);
  expect_same_dtype(op, "dy", in[0], in[1]);
  expect_shape(op, "dy", in[0], in[1].shape());
  return {{in[1].shape(), in[1].dtype()}};
}

Shape doubled_last(Shape s) {
  s.back() *= 2;
  return s;
}

std::vector<TensorSpec> validate_sin_cos(const std::vector<Tensor>& in, const Attrs&) {
  expect_inputs("sin_cos", in, 1, 1);
  expect_float("sin_cos", "x", in[0]);
  expect_rank_at_least("sin_cos", "x", in[0], 1);
  return {{doubled_last(in[0].shape()), in[0].dtype()}};
}

std::vector<TensorSpec> validate_sin_cos_backward(const std::vector<Tensor>& in, const Attrs&) {
  const std::string op = "sin_cos_backward";
  expect_inputs(op, in, 2, 2);
  expect_float(op, "x", in[1]);
  expect_rank_at_least(op, "x", in[1], 1);
  expect_same_dtype(op, "dy", in[0], in[1]);
  expect_shape(op, "dy", in[0], doubled_last(in[1].shape()));
  return {{in[1].shape(), in[1].dtype()}};
}

}  // namespace

SAM_COBOT_OP({"gelu", [](const std::vector<Tensor>& in, const Attrs&) { return validate_unary("gelu", in); }, cpu::gelu, CUDA_KERNEL(gelu)});
SAM_COBOT_OP({"gelu_backward", [](const std::vector<Tensor>& in, const Attrs&) { return validate_backward("gelu_backward", "x", in); },
              cpu::gelu_backward, CUDA_KERNEL(gelu_backward)});
SAM_COBOT_OP({"relu", [](const std::vector<Tensor>& in, const Attrs&) { return validate_unary("relu", in); }, cpu::relu, CUDA_KERNEL(relu)});
SAM_COBOT_OP({"relu_backward", [](const std::vector<Tensor>& in, const Attrs&) { return validate_backward("relu_backward", "y", in); },
              cpu::relu_backward, CUDA_KERNEL(relu_backward)});
SAM_COBOT_OP({"sin_cos", validate_sin_cos, cpu::sin_cos, CUDA_KERNEL(sin_cos)});
SAM_COBOT_OP({"sin_cos_backward", validate_sin_cos_backward, cpu::sin_cos_backward, CUDA_KERNEL(sin_cos_backward)});

}  // namespace samcobot
