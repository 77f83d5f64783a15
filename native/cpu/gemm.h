// CPU GEMM: the op kernels, and the raw routine other CPU kernels (attention, convolution) call.
#pragma once
#include <cstdint>

#include "../core/op.h"

namespace samcobot::cpu {

void gemm(const OpCall& call);
void gemm_accumulate(const OpCall& call);

// C(M,N) = alpha * op(A) op(B) + beta * C, row-major, leading dimensions in elements.
// beta == 0 ignores C's previous contents (NaN included).
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
void dgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
           const double* B, int64_t ldb, double beta, double* C, int64_t ldc);

}  // namespace samcobot::cpu
