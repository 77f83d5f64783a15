// CUDA GEMM op kernels (twins of native/cpu/gemm.cc; shape rules in native/ops/gemm_shape.h):
//   gemm:            out(..., M, N) = alpha * op(A) op(B) [+ bias(N)]
//   gemm_accumulate: C = alpha * op(A) op(B) + beta * C, in place, C optionally summed over the batch
//
// Every product is one cuBLAS strided-batched call. Our tensors are row-major and cuBLAS is
// column-major, so we ask for C^T = op(B)^T op(A)^T: the row-major buffers read column-major are
// exactly the transposes, so only the operand order and the M/N swap change. f32 computes in true
// f32 (CUBLAS_COMPUTE_32F: no TF32 unless SAM_COBOT_TF32=1); bf16 and f16 inputs accumulate in f32.
// The bias is written into C first by a small kernel and the product added with beta = 1, which
// costs one extra write of C (a few percent of a SAM-sized product).
//
// A rank-2 C summed over the batch (the weight gradient of a batched product) is one product when
// A is transposed and B is not: sum_b A_b^T B_b = [A_1; ...; A_n]^T [B_1; ...; B_n], a single GEMM
// with K' = batch * K over the stacked (contiguous) batches. Other layouts add one product per
// batch element with beta = 1.
#include <climits>

#include "../ops/gemm_shape.h"
#include "dtype.cuh"
#include "gemm.h"
#include "runtime.h"

namespace samcobot::cuda {
namespace {

constexpr int kThreads = 256;

struct BlasTypes {
  cudaDataType_t data;
  cublasComputeType_t compute;
};

BlasTypes blas_types(const std::string& op, DType dtype) {
  switch (dtype) {
    case DType::F32: return {CUDA_R_32F, allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F};
    case DType::BF16: return {CUDA_R_16BF, CUBLAS_COMPUTE_32F};
    case DType::F16: return {CUDA_R_16F, CUBLAS_COMPUTE_32F};
    default: fail("ERR_DTYPE", op, "f32, bf16 or f16 on CUDA", "A", dtype_name(dtype));
  }
}

int blas_int(const std::string& op, const char* name, int64_t v) {
  if (v > INT_MAX) fail("ERR_UNSUPPORTED", op, "at most 2^31-1 on CUDA", name, std::to_string(v));
  return static_cast<int>(v);
}

// C_b = alpha op(A_b) op(B_b) + beta C_b for b < g.batch, as C^T = op(B)^T op(A)^T column-major.
void product(const std::string& op, const GemmShape& g, DType dtype, const void* A, const void* B, void* C, float alpha, float beta) {
  BlasTypes t = blas_types(op, dtype);
  CUBLAS_CHECK(cublasGemmStridedBatchedEx(cublas(), g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                          blas_int(op, "N", g.N), blas_int(op, "M", g.M), blas_int(op, "K", g.K), &alpha, B, t.data,
                                          blas_int(op, "ldb", g.ldb), g.stride_b, A, t.data, blas_int(op, "lda", g.lda), g.stride_a, &beta, C,
                                          t.data, blas_int(op, "ldc", g.ldc), g.stride_c, blas_int(op, "the batch", g.batch), t.compute,
                                          CUBLAS_GEMM_DEFAULT));
}

// Every row of C (rows, N) set to the bias (N).
template <class T>
__global__ void bias_rows_kernel(T* C, const T* bias, int64_t n, int64_t N) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) C[i] = bias[i % N];
}

// C = beta * C for an empty inner dimension (beta == 0 clears C, NaN included, as BLAS does).
template <class T>
__global__ void scale_kernel(T* C, int64_t n, float beta) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    C[i] = from_float<T>(beta == 0.0f ? 0.0f : beta * to_float(C[i]));
}

const char* element(const void* base, int64_t index, DType dtype) {
  return static_cast<const char*>(base) + index * static_cast<int64_t>(dtype_size(dtype));
}

}  // namespace

void gemm(const OpCall& call) {
  GemmShape g = gemm_shape(call.name, call.in(0), call.in(1), call.attrs);
  const Tensor& out = call.out(0);
  int64_t n = out.numel();
  if (n == 0) return;
  DType dtype = call.in(0).dtype();
  bool has_bias = call.inputs.size() == 3;
  if (has_bias) {
    for_float_types(call.name, dtype, [&](auto zero) {
      using T = decltype(zero);
      bias_rows_kernel<<<grid_for(n, kThreads), kThreads, 0, stream()>>>(out.data<T>(), call.in(2).data<T>(), n, g.N);
      CUDA_CHECK_LAUNCH();
    });
  } else if (g.K == 0) {
    CUDA_CHECK(cudaMemsetAsync(out.raw(), 0, out.bytes(), stream()));
  }
  if (g.K == 0) return;
  product(call.name, g, dtype, call.in(0).raw(), call.in(1).raw(), out.raw(), static_cast<float>(call.attrs.number_or("alpha", 1)),
          has_bias ? 1.0f : 0.0f);
}

void gemm_accumulate(const OpCall& call) {
  GemmShape g = gemm_shape(call.name, call.in(0), call.in(1), call.attrs);
  const Tensor& C = call.in(2);
  if (C.numel() == 0) return;
  DType dtype = call.in(0).dtype();
  float alpha = static_cast<float>(call.attrs.number_or("alpha", 1)), beta = static_cast<float>(call.attrs.number_or("beta", 1));
  if (g.K == 0) {
    for_float_types(call.name, dtype, [&](auto zero) {
      using T = decltype(zero);
      scale_kernel<<<grid_for(C.numel(), kThreads), kThreads, 0, stream()>>>(C.data<T>(), C.numel(), beta);
      CUDA_CHECK_LAUNCH();
    });
    return;
  }
  const void* A = call.in(0).raw();
  const void* B = call.in(1).raw();
  bool reduced = g.batch > 1 && C.rank() == 2 && C.shape() != g.out_shape;
  if (!reduced) {
    product(call.name, g, dtype, A, B, C.raw(), alpha, beta);
    return;
  }
  GemmShape one = g;
  one.batch = 1;
  one.stride_a = one.stride_b = one.stride_c = 0;
  if (g.trans_a && !g.trans_b && !g.b_shared) {
    one.K = g.batch * g.K;
    product(call.name, one, dtype, A, B, C.raw(), alpha, beta);
    return;
  }
  for (int64_t b = 0; b < g.batch; ++b)
    product(call.name, one, dtype, element(A, b * g.stride_a, dtype), element(B, b * g.stride_b, dtype), C.raw(), alpha, b == 0 ? beta : 1.0f);
}

}  // namespace samcobot::cuda
