// The CUDA backend's shared state and checks, for the kernel files of native/cuda/. Only .cu files
// include this header; op files (compiled by the host compiler) include the plain family headers
// (elementwise.h, gemm.h, ...) that declare `void samcobot::cuda::<op>(const OpCall&)`.
#pragma once
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "../core/error.h"

namespace samcobot::cuda {

// The one stream every op runs on (design section 3), and the handles bound to it.
cudaStream_t stream();
cublasHandle_t cublas();
cublasLtHandle_t cublas_lt();
// A scratch buffer for cuBLASLt and kernels that need temporary space; grows, never shrinks.
void* workspace(size_t bytes);
// Whether f32 GEMMs may use TF32 tensor cores (off by default: SAM_COBOT_TF32=1 enables).
bool allow_tf32();

[[noreturn]] void throw_cuda(cudaError_t status, const char* expr, const char* file, int line);
[[noreturn]] void throw_cublas(cublasStatus_t status, const char* expr, const char* file, int line);

// Grid size for n elements at `threads` per block, capped so huge tensors use grid-stride loops.
inline unsigned grid_for(int64_t n, int threads) {
  int64_t blocks = (n + threads - 1) / threads;
  if (blocks > 65535 * 8) blocks = 65535 * 8;
  return static_cast<unsigned>(blocks < 1 ? 1 : blocks);
}

}  // namespace samcobot::cuda

#define CUDA_CHECK(expr)                                                                    \
  do {                                                                                      \
    cudaError_t sam_cobot_status = (expr);                                                  \
    if (sam_cobot_status != cudaSuccess) ::samcobot::cuda::throw_cuda(sam_cobot_status, #expr, __FILE__, __LINE__); \
  } while (0)
#define CUBLAS_CHECK(expr)                                                                  \
  do {                                                                                      \
    cublasStatus_t sam_cobot_status = (expr);                                               \
    if (sam_cobot_status != CUBLAS_STATUS_SUCCESS) ::samcobot::cuda::throw_cublas(sam_cobot_status, #expr, __FILE__, __LINE__); \
  } while (0)
// After a kernel launch: reports a bad launch configuration at once (execution errors surface at the next read).
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())
