// Straightforward GEMM loops for f64, the reference precision of the op checks (f32 takes the packed
// path in gemm_packed.cc). Rows of C are split across the thread pool.
#include "../core/thread_pool.h"
#include "gemm.h"

#include <algorithm>
#include <vector>

namespace samcobot::cpu {

void dgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda, const double* B, int64_t ldb,
           double beta, double* C, int64_t ldc) {
  parallel_for(M, 4, [&](int64_t lo, int64_t hi) {
    std::vector<double> row(static_cast<size_t>(N));
    for (int64_t i = lo; i < hi; ++i) {
      std::fill(row.begin(), row.end(), 0.0);
      for (int64_t k = 0; k < K; ++k) {
        double a = ta ? A[k * lda + i] : A[i * lda + k];
        if (tb) {
          for (int64_t j = 0; j < N; ++j) row[j] += a * B[j * ldb + k];
        } else {
          const double* b = B + k * ldb;
          for (int64_t j = 0; j < N; ++j) row[j] += a * b[j];
        }
      }
      double* c = C + i * ldc;
      for (int64_t j = 0; j < N; ++j) c[j] = alpha * row[j] + (beta == 0.0 ? 0.0 : beta * c[j]);
    }
  });
}

}  // namespace samcobot::cpu
