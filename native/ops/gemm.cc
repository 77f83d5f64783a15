// Validation and registration of the GEMM ops (shape rules in gemm_shape.h).
#include "../core/op.h"
#include "../cpu/gemm.h"
#include "gemm_shape.h"
#ifdef SAM_COBOT_WITH_CUDA
#include "../cuda/gemm.h"
#endif

namespace samcobot {

GemmShape gemm_shape(const std::string& op, const Tensor& a, const Tensor& b, const Attrs& attrs) {
  GemmShape g;
  g.trans_a = attrs.flag("transA");
  g.trans_b = attrs.flag("transB");
  expect_rank_at_least(op, "A", a, 2);
  expect_rank_at_least(op, "B", b, 2);
  expect_float(op, "A", a);
  expect_same_dtype(op, "B", b, a);
  int64_t a_rows = a.dim(-2), a_cols = a.dim(-1);
  int64_t b_rows = b.dim(-2), b_cols = b.dim(-1);
  int64_t a_batch = a.numel() / (a_rows * a_cols == 0 ? 1 : a_rows * a_cols);
  if (a_rows * a_cols == 0) a_batch = shape_numel(Shape(a.shape().begin(), a.shape().end() - 2));
  g.b_shared = b.rank() == 2;
  if (g.b_shared && !g.trans_a) {
    // Fold every leading dim of A into M: x(..., K) @ W.
    g.M = a.numel() / (a_cols == 0 ? 1 : a_cols);
    if (a_cols == 0) g.M = shape_numel(Shape(a.shape().begin(), a.shape().end() - 1));
    g.K = a_cols;
    g.batch = 1;
  } else {
    g.M = g.trans_a ? a_cols : a_rows;
    g.K = g.trans_a ? a_rows : a_cols;
    g.batch = a_batch;
    if (!g.b_shared) {
      Shape a_lead(a.shape().begin(), a.shape().end() - 2), b_lead(b.shape().begin(), b.shape().end() - 2);
      if (a_lead != b_lead) fail("ERR_SHAPE", op, "B's batch dims equal to A's " + shape_string(a_lead), "B", shape_string(b.shape()));
    }
  }
  int64_t k_of_b = g.trans_b ? b_cols : b_rows;
  g.N = g.trans_b ? b_rows : b_cols;
  if (k_of_b != g.K)
    fail("ERR_SHAPE", op, "B with " + std::to_string(g.K) + " along its inner dimension (A is " + shape_string(a.shape()) +
         (g.trans_a ? ", transposed" : "") + ")", "B" + std::string(g.trans_b ? " (transposed)" : ""), shape_string(b.shape()));
  g.lda = a_cols;
  g.ldb = b_cols;
  g.ldc = g.N;
  g.stride_a = g.batch > 1 ? a_rows * a_cols : 0;
  g.stride_b = g.b_shared ? 0 : b_rows * b_cols;
  g.stride_c = g.batch > 1 ? g.M * g.N : 0;
  if (g.b_shared && !g.trans_a) {
    g.out_shape = Shape(a.shape().begin(), a.shape().end() - 1);
  } else {
    g.out_shape = Shape(a.shape().begin(), a.shape().end() - 2);
    g.out_shape.push_back(g.M);
  }
  g.out_shape.push_back(g.N);
  return g;
}

namespace {

std::vector<TensorSpec> validate_gemm(const std::vector<Tensor>& in, const Attrs& attrs) {
  expect_inputs("gemm", in, 2, 3);
  GemmShape g = gemm_shape("gemm", in[0], in[1], attrs);
  attrs.finite_or("gemm", "alpha", 1);
  if (in.size() == 3) {
    expect_same_dtype("gemm", "bias", in[2], in[0]);
    expect_shape("gemm", "bias", in[2], {g.N});
  }
  return {{g.out_shape, in[0].dtype()}};
}

std::vector<TensorSpec> validate_gemm_accumulate(const std::vector<Tensor>& in, const Attrs& attrs) {
  expect_inputs("gemm_accumulate", in, 3, 3);
  GemmShape g = gemm_shape("gemm_accumulate", in[0], in[1], attrs);
  expect_same_dtype("gemm_accumulate", "C", in[2], in[0]);
  attrs.finite_or("gemm_accumulate", "alpha", 1);
  attrs.finite_or("gemm_accumulate", "beta", 1);
  Shape reduced = {g.M, g.N};
  if (in[2].shape() != g.out_shape && !(g.batch > 1 && in[2].shape() == reduced))
    fail("ERR_SHAPE", "gemm_accumulate", "C of shape " + shape_string(g.out_shape) + (g.batch > 1 ? " or " + shape_string(reduced) : ""), "C",
         shape_string(in[2].shape()));
  return {};
}

}  // namespace

SAM_COBOT_OP({"gemm", validate_gemm, cpu::gemm, CUDA_KERNEL(gemm)});
SAM_COBOT_OP({"gemm_accumulate", validate_gemm_accumulate, cpu::gemm_accumulate, CUDA_KERNEL(gemm_accumulate), {2}});

}  // namespace samcobot
