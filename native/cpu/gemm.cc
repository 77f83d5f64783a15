// CPU GEMM op kernels: batching, bias and accumulation around sgemm/dgemm.
#include "gemm.h"

#include "../core/thread_pool.h"
#include "../ops/gemm_shape.h"
#include "dispatch.h"

namespace samcobot::cpu {
namespace {

template <class T>
void gemm_raw(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B, int64_t ldb, T beta, T* C,
              int64_t ldc) {
  if constexpr (sizeof(T) == 4) sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else dgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace

void gemm(const OpCall& call) {
  GemmShape g = gemm_shape(call.name, call.in(0), call.in(1), call.attrs);
  double alpha = call.attrs.number_or("alpha", 1);
  for_float_types(call.name, call.in(0).dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* A = call.in(0).data<T>();
    const T* B = call.in(1).data<T>();
    T* C = call.out(0).data<T>();
    bool has_bias = call.inputs.size() == 3;
    for (int64_t b = 0; b < g.batch; ++b) {
      T* Cb = C + b * g.stride_c;
      if (has_bias) {
        const T* bias = call.in(2).data<T>();
        parallel_for(g.M, 64, [&](int64_t lo, int64_t hi) {
          for (int64_t i = lo; i < hi; ++i)
            for (int64_t j = 0; j < g.N; ++j) Cb[i * g.ldc + j] = bias[j];
        });
      }
      gemm_raw<T>(g.trans_a, g.trans_b, g.M, g.N, g.K, T(alpha), A + b * g.stride_a, g.lda, B + b * g.stride_b, g.ldb, has_bias ? T(1) : T(0), Cb,
                  g.ldc);
    }
  });
}

void gemm_accumulate(const OpCall& call) {
  GemmShape g = gemm_shape(call.name, call.in(0), call.in(1), call.attrs);
  double alpha = call.attrs.number_or("alpha", 1), beta = call.attrs.number_or("beta", 1);
  bool reduced = g.batch > 1 && call.in(2).rank() == 2 && call.in(2).shape() != g.out_shape;
  for_float_types(call.name, call.in(0).dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* A = call.in(0).data<T>();
    const T* B = call.in(1).data<T>();
    T* C = call.in(2).data<T>();
    for (int64_t b = 0; b < g.batch; ++b) {
      T this_beta = reduced && b > 0 ? T(1) : T(beta);
      gemm_raw<T>(g.trans_a, g.trans_b, g.M, g.N, g.K, T(alpha), A + b * g.stride_a, g.lda, B + b * g.stride_b, g.ldb, this_beta,
                  C + (reduced ? 0 : b * g.stride_c), g.ldc);
    }
  });
}

}  // namespace samcobot::cpu
