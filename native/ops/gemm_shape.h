// The shape rules of the GEMM ops, shared by validation and both backends.
//   gemm:            out(..., M, N) = alpha * op(A) op(B) [+ bias(N)]
//   gemm_accumulate: C = alpha * op(A) op(B) + beta * C, C written in place
// op(X) is X or its transpose (attrs transA, transB). A is (..., M, K) or (..., K, M); B is (K, N)
// or (N, K) shared by every batch (then A's leading dims fold into M when A is not transposed), or
// batched like A. For gemm_accumulate, a rank-2 C with batched A and B sums over the batch (the
// weight gradient of a batched product).
#pragma once
#include "../core/op.h"

namespace samcobot {

struct GemmShape {
  int64_t batch = 1;    // number of independent products
  int64_t M = 0, N = 0, K = 0;
  bool trans_a = false, trans_b = false;
  bool b_shared = false;   // one B for every batch
  bool c_reduced = false;  // gemm_accumulate: one C summed over the batch
  int64_t lda = 0, ldb = 0, ldc = 0;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;  // elements between batches (0: shared)
  Shape out_shape;
};

GemmShape gemm_shape(const std::string& op, const Tensor& a, const Tensor& b, const Attrs& attrs);

}  // namespace samcobot
