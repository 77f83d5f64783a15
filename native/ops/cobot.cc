// Validation and registration of the COBOT ops (kernels: native/cpu/cobot.cc, native/cuda/cobot.cu;
// formulas: cobot_math.h; method: cobot-method.md §3, §4, §10.3-10.5). V bottleneck width, T heads,
// N token rows, B = V/4.
//   cobot_prepare             [C (V, T), P (T, T), gamma (T, V), heads]  {coefficients, relation, head}
//                             -> [kappa (T, V), Q (T, V, V)]
//       heads: (T, 4, B, B) for 'quaternion' (R, I, J, K), (T, V, V) for 'linear', one element for 'none'
//   cobot_prepare_backward    [C, P, dKappa (T, V), dQ (T, V, V)]  {as the forward}
//                             -> [dC (V, T), dP (T, T), dGamma (T, V), dHeads (heads' shape, (1) for 'none')]
//   cobot_bottleneck          [A (N, V), kappa (T, V), Q (T, V, V)]  {head: t, relu} -> [out (N, V)]
//   cobot_bottleneck_backward [dOut (N, V), A, kappa, Q, out (N, V), dKappa (T, V), dQ (T, V, V)]  {head, relu}
//                             -> [dA (N, V)], and adds into row t of dKappa and dQ (inputs 5 and 6)
//   dropout                   [x]  {p in [0, 1), seed} -> [y]
//   dropout_backward          [dy] {p, seed}           -> [dx] (the forward's mask)
// The float inputs of one op share a dtype: f32 or f64 on the CPU; f32 on CUDA (and bf16, f16 for dropout).
#include "../core/op.h"
#include "../cpu/cobot.h"
#include "cobot_math.h"
#ifdef SAM_COBOT_WITH_CUDA
#include "../cuda/cobot.h"
#endif

namespace samcobot {
namespace {

// in[0] is a float tensor, f32 on CUDA, and every other input has its dtype.
void expect_one_dtype(const std::string& op, const std::vector<Tensor>& in, const std::vector<std::string>& names) {
  expect_float(op, names[0], in[0]);
  if (in[0].device() == Device::Cuda) expect_dtype(op, names[0] + " (the CUDA kernels are f32)", in[0], DType::F32);
  for (size_t i = 1; i < in.size(); ++i) expect_same_dtype(op, names[i], in[i], in[0]);
}

struct PrepareSizes {
  int64_t V = 0, T = 0;
};

// Checks C (V, T) and P (T, T), and that the quaternion head can split V into four chunks.
PrepareSizes check_c_and_p(const std::string& op, const std::vector<Tensor>& in, const CobotPrepareMode& mode) {
  const Tensor &c = in[0], &p = in[1];
  expect_rank(op, "C (V, T)", c, 2);
  PrepareSizes s{c.dim(0), c.dim(1)};
  if (s.V < 1 || s.T < 1) fail("ERR_SHAPE", op, "at least one row and one column", "C (V, T)", shape_string(c.shape()));
  if (mode.head == CobotHead::Quaternion && s.V % 4 != 0)
    fail("ERR_SHAPE", op, "a bottleneck width V divisible by 4 for the quaternion head", "C (V, T)", shape_string(c.shape()));
  expect_shape(op, "P (T, T)", p, {s.T, s.T});
  return s;
}

Shape heads_shape(const CobotPrepareMode& mode, const PrepareSizes& s) {
  if (mode.head == CobotHead::Quaternion) return {s.T, 4, s.V / 4, s.V / 4};
  if (mode.head == CobotHead::Linear) return {s.T, s.V, s.V};
  return {1};
}

std::vector<TensorSpec> validate_prepare(const std::vector<Tensor>& in, const Attrs& attrs) {
  const std::string op = "cobot_prepare";
  expect_inputs(op, in, 4, 4);
  CobotPrepareMode mode = cobot_prepare_mode(op, attrs);
  expect_one_dtype(op, in, {"C", "P", "gamma", "heads"});
  PrepareSizes s = check_c_and_p(op, in, mode);
  expect_shape(op, "gamma (T, V)", in[2], {s.T, s.V});
  if (mode.head == CobotHead::None) {
    if (in[3].numel() != 1) fail("ERR_SHAPE", op, "a one-element tensor for head 'none'", "heads", shape_string(in[3].shape()));
  } else {
    expect_shape(op, mode.head == CobotHead::Quaternion ? "heads (T, 4, V/4, V/4)" : "heads (T, V, V)", in[3], heads_shape(mode, s));
  }
  DType dt = in[0].dtype();
  return {{{s.T, s.V}, dt}, {{s.T, s.V, s.V}, dt}};
}

std::vector<TensorSpec> validate_prepare_backward(const std::vector<Tensor>& in, const Attrs& attrs) {
  const std::string op = "cobot_prepare_backward";
  expect_inputs(op, in, 4, 4);
  CobotPrepareMode mode = cobot_prepare_mode(op, attrs);
  expect_one_dtype(op, in, {"C", "P", "dKappa", "dQ"});
  PrepareSizes s = check_c_and_p(op, in, mode);
  expect_shape(op, "dKappa (T, V)", in[2], {s.T, s.V});
  expect_shape(op, "dQ (T, V, V)", in[3], {s.T, s.V, s.V});
  DType dt = in[0].dtype();
  return {{{s.V, s.T}, dt}, {{s.T, s.T}, dt}, {{s.T, s.V}, dt}, {heads_shape(mode, s), dt}};
}

// Checks A (N, V), kappa (T, V), Q (T, V, V) and the attributes {head, relu}.
void check_bottleneck(const std::string& op, const Tensor& a, const Tensor& kappa, const Tensor& q, const Attrs& attrs) {
  expect_rank(op, "A (N, V)", a, 2);
  int64_t V = a.dim(1);
  if (V < 1 || V > kCobotMaxWidth)
    fail("ERR_SHAPE", op, "a bottleneck width V in [1, " + std::to_string(kCobotMaxWidth) + "]", "A (N, V)", shape_string(a.shape()));
  expect_rank(op, "kappa (T, V)", kappa, 2);
  int64_t T = kappa.dim(0);
  expect_shape(op, "kappa (T, V)", kappa, {T, V});
  expect_shape(op, "Q (T, V, V)", q, {T, V, V});
  attrs.integer(op, "head", 0, T - 1);
  attrs.finite_or(op, "relu", 0);
}

std::vector<TensorSpec> validate_bottleneck(const std::vector<Tensor>& in, const Attrs& attrs) {
  const std::string op = "cobot_bottleneck";
  expect_inputs(op, in, 3, 3);
  expect_one_dtype(op, in, {"A", "kappa", "Q"});
  check_bottleneck(op, in[0], in[1], in[2], attrs);
  return {{in[0].shape(), in[0].dtype()}};
}

std::vector<TensorSpec> validate_bottleneck_backward(const std::vector<Tensor>& in, const Attrs& attrs) {
  const std::string op = "cobot_bottleneck_backward";
  expect_inputs(op, in, 7, 7);
  expect_one_dtype(op, in, {"dOut", "A", "kappa", "Q", "out", "dKappa", "dQ"});
  const Tensor& a = in[1];
  check_bottleneck(op, a, in[2], in[3], attrs);
  expect_shape(op, "dOut (N, V)", in[0], a.shape());
  expect_shape(op, "out (N, V)", in[4], a.shape());
  expect_shape(op, "dKappa (T, V)", in[5], in[2].shape());
  expect_shape(op, "dQ (T, V, V)", in[6], in[3].shape());
  return {{a.shape(), a.dtype()}};
}

std::vector<TensorSpec> validate_dropout(const std::string& op, const std::string& name, const std::vector<Tensor>& in, const Attrs& attrs) {
  expect_inputs(op, in, 1, 1);
  expect_float(op, name, in[0]);
  double p = attrs.number(op, "p");
  if (!(p >= 0 && p < 1)) fail("ERR_ARGUMENT", op, "a probability in [0, 1)", "attribute 'p'", to_text(p));
  attrs.integer(op, "seed", 0, int64_t(1) << 53);
  return {{in[0].shape(), in[0].dtype()}};
}

}  // namespace

SAM_COBOT_OP({"cobot_prepare", validate_prepare, cpu::cobot_prepare, CUDA_KERNEL(cobot_prepare)});
SAM_COBOT_OP({"cobot_prepare_backward", validate_prepare_backward, cpu::cobot_prepare_backward, CUDA_KERNEL(cobot_prepare_backward)});
SAM_COBOT_OP({"cobot_bottleneck", validate_bottleneck, cpu::cobot_bottleneck, CUDA_KERNEL(cobot_bottleneck)});
SAM_COBOT_OP({"cobot_bottleneck_backward", validate_bottleneck_backward, cpu::cobot_bottleneck_backward,
              CUDA_KERNEL(cobot_bottleneck_backward), {5, 6}});
SAM_COBOT_OP({"dropout", [](const std::vector<Tensor>& in, const Attrs& attrs) { return validate_dropout("dropout", "x", in, attrs); },
              cpu::dropout, CUDA_KERNEL(dropout)});
SAM_COBOT_OP({"dropout_backward",
              [](const std::vector<Tensor>& in, const Attrs& attrs) { return validate_dropout("dropout_backward", "dy", in, attrs); },
              cpu::dropout, CUDA_KERNEL(dropout)});

}  // namespace samcobot
