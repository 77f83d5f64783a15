// Convolutions on CUDA, the twins of native/cpu/conv.cc: the same three primitives (correlate,
// scatter, weight; see there and native/ops/conv_shape.h for the letters), here as an im2col or
// col2im kernel around one cuBLAS GEMM per image. f32 storage and arithmetic (true f32 GEMMs unless
// SAM_COBOT_TF32=1 allows TF32).
//
// Why im2col + cuBLAS rather than an implicit GEMM: every SAM convolution is either a GEMM in
// disguise (1x1, and the non-overlapping 16x16/16 and 2x2/2 kernels, whose im2col is a permutation)
// or the neck's single 3x3 conv; cuBLAS runs those products near the f32 peak, and the column
// buffer (K x P floats, 38 MB for the 3x3 neck conv) is a small cost next to them.
// col2im gathers (conv_shape.h: col2im_value), so it needs no atomics and is deterministic; the
// weight gradient adds the batch in order through the GEMM's beta; bias gradients are per-channel
// block reductions in a fixed tree.
#include <climits>

#include "../ops/conv_shape.h"
#include "conv.h"
#include "runtime.h"

namespace samcobot::cuda {
namespace {

constexpr int kThreads = 256;

int blas_int(const std::string& op, const char* name, int64_t v) {
  if (v > INT_MAX) fail("ERR_UNSUPPORTED", op, "at most 2^31-1 on CUDA", name, std::to_string(v));
  return static_cast<int>(v);
}

// Row-major C (M, N) = op(A) op(B) + beta C, as column-major Cᵀ = op(B)ᵀ op(A)ᵀ.
void gemm_rows(const std::string& op, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
               int64_t ldb, float beta, float* C, int64_t ldc) {
  const float alpha = 1.0f;
  CUBLAS_CHECK(cublasGemmEx(cublas(), tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, blas_int(op, "N", N), blas_int(op, "M", M),
                            blas_int(op, "K", K), &alpha, B, CUDA_R_32F, blas_int(op, "ldb", ldb), A, CUDA_R_32F, blas_int(op, "lda", lda), &beta, C,
                            CUDA_R_32F, blas_int(op, "ldc", ldc), allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F,
                            CUBLAS_GEMM_DEFAULT));
}

// col (K, P) of one image (Ci, H, W): one thread per column-matrix element, writes coalesced.
__global__ void im2col_kernel(ConvGeometry g, const float* image, float* col) {
  const int64_t P = g.out_pixels(), n = g.patch() * P;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t k = e / P, p = e % P;
    const int64_t j = k % g.kw, i = (k / g.kw) % g.kh, c = k / (g.kw * g.kh);
    const int64_t ih = (p / g.out_w) * g.sh - g.ph + i, iw = (p % g.out_w) * g.sw - g.pw + j;
    col[e] = ih >= 0 && ih < g.in_h && iw >= 0 && iw < g.in_w ? image[(c * g.in_h + ih) * g.in_w + iw] : 0.0f;
  }
}

// image (Ci, H, W) = col2im(col (K, P)) [+ bias (Ci)]: one thread per image element.
__global__ void col2im_kernel(ConvGeometry g, const float* col, const float* bias, float* image) {
  const int64_t n = g.in_channels * g.in_pixels();
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = e / g.in_pixels(), ih = (e / g.in_w) % g.in_h, iw = e % g.in_w;
    image[e] = (bias ? bias[c] : 0.0f) + col2im_value(g, col, c, ih, iw);
  }
}

// Every row r of out (rows, n) set to bias[r].
__global__ void fill_rows_kernel(const float* bias, int64_t rows, int64_t n, float* out) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < rows * n; e += int64_t(gridDim.x) * blockDim.x) out[e] = bias[e / n];
}

// sums[c] = Σ_b Σ_i t[b, c, i] for t (B, C, N): block c, strided partial sums, then a fixed tree.
__global__ void channel_sums_kernel(const float* t, int64_t B, int64_t C, int64_t N, float* sums) {
  __shared__ double partial[kThreads];
  const int64_t c = blockIdx.x;
  double acc = 0;
  for (int64_t e = threadIdx.x; e < B * N; e += kThreads) acc += t[((e / N) * C + c) * N + e % N];
  partial[threadIdx.x] = acc;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) sums[c] = static_cast<float>(partial[0]);
}

void launch_im2col(const ConvGeometry& g, const float* image, float* col) {
  im2col_kernel<<<grid_for(g.patch() * g.out_pixels(), kThreads), kThreads, 0, stream()>>>(g, image, col);
  CUDA_CHECK_LAUNCH();
}

void launch_fill_rows(const float* bias, int64_t rows, int64_t n, float* out) {
  fill_rows_kernel<<<grid_for(rows * n, kThreads), kThreads, 0, stream()>>>(bias, rows, n, out);
  CUDA_CHECK_LAUNCH();
}

Tensor column_buffer(const ConvGeometry& g) {
  return g.pointwise() ? Tensor() : Tensor::empty({g.patch() * g.out_pixels()}, DType::F32, Device::Cuda);
}

// map (B, Co, Ho, Wo) = correlate(image (B, Ci, H, W), weight (Co, K)) [+ bias (Co)].
void correlate(const std::string& op, const ConvGeometry& g, const float* image, const float* weight, const float* bias, float* map) {
  const int64_t K = g.patch(), P = g.out_pixels();
  Tensor col = column_buffer(g);
  for (int64_t b = 0; b < g.batch; ++b) {
    const float* image_b = image + b * g.in_channels * g.in_pixels();
    float* map_b = map + b * g.out_channels * P;
    if (!g.pointwise()) launch_im2col(g, image_b, col.data<float>());
    if (bias) launch_fill_rows(bias, g.out_channels, P, map_b);
    gemm_rows(op, false, false, g.out_channels, P, K, weight, K, g.pointwise() ? image_b : col.data<float>(), P, bias ? 1.0f : 0.0f, map_b, P);
  }
}

// image (B, Ci, H, W) = scatter(map (B, Co, Ho, Wo), weight (Co, K)) [+ bias (Ci)].
void scatter(const std::string& op, const ConvGeometry& g, const float* map, const float* weight, const float* bias, float* image) {
  const int64_t K = g.patch(), P = g.out_pixels();
  Tensor col = column_buffer(g);
  for (int64_t b = 0; b < g.batch; ++b) {
    const float* map_b = map + b * g.out_channels * P;
    float* image_b = image + b * g.in_channels * g.in_pixels();
    if (g.pointwise()) {
      if (bias) launch_fill_rows(bias, g.in_channels, P, image_b);
      gemm_rows(op, true, false, K, P, g.out_channels, weight, K, map_b, P, bias ? 1.0f : 0.0f, image_b, P);
    } else {
      gemm_rows(op, true, false, K, P, g.out_channels, weight, K, map_b, P, 0.0f, col.data<float>(), P);
      col2im_kernel<<<grid_for(g.in_channels * g.in_pixels(), kThreads), kThreads, 0, stream()>>>(g, col.data<float>(), bias, image_b);
      CUDA_CHECK_LAUNCH();
    }
  }
}

// weight_grad (Co, K) = Σ_b map_b (Co, P) · im2col(image_b)ᵀ, the batch added in order.
void weight_gradient(const std::string& op, const ConvGeometry& g, const float* image, const float* map, float* weight_grad) {
  const int64_t K = g.patch(), P = g.out_pixels();
  if (g.batch == 0) CUDA_CHECK(cudaMemsetAsync(weight_grad, 0, size_t(g.out_channels * K) * sizeof(float), stream()));
  Tensor col = column_buffer(g);
  for (int64_t b = 0; b < g.batch; ++b) {
    const float* image_b = image + b * g.in_channels * g.in_pixels();
    if (!g.pointwise()) launch_im2col(g, image_b, col.data<float>());
    gemm_rows(op, false, true, g.out_channels, K, P, map + b * g.out_channels * P, P, g.pointwise() ? image_b : col.data<float>(), P,
              b ? 1.0f : 0.0f, weight_grad, K);
  }
}

void channel_sums(const float* t, int64_t B, int64_t C, int64_t N, float* sums) {
  channel_sums_kernel<<<static_cast<unsigned>(C), kThreads, 0, stream()>>>(t, B, C, N, sums);
  CUDA_CHECK_LAUNCH();
}

const float* optional_input(const OpCall& call, size_t i) { return call.inputs.size() > i ? call.in(i).data<float>() : nullptr; }

}  // namespace

void conv2d(const OpCall& call) {
  ConvGeometry g = conv2d_geometry(call.name, call.in(0), call.in(1), call.attrs);
  correlate(call.name, g, call.in(0).data<float>(), call.in(1).data<float>(), optional_input(call, 2), call.out(0).data<float>());
}

void conv_transpose2d(const OpCall& call) {
  ConvGeometry g = conv_transpose2d_geometry(call.name, call.in(0), call.in(1), call.attrs);
  scatter(call.name, g, call.in(0).data<float>(), call.in(1).data<float>(), optional_input(call, 2), call.out(0).data<float>());
}

// inputs [dy (map side), x (image side), w]
void conv2d_backward(const OpCall& call) {
  ConvGeometry g = conv2d_geometry(call.name, call.in(1), call.in(2), call.attrs);
  ConvGrads grads = conv_grads(call.attrs);
  const float *dy = call.in(0).data<float>(), *x = call.in(1).data<float>(), *w = call.in(2).data<float>();
  size_t o = 0;
  if (grads.input) scatter(call.name, g, dy, w, nullptr, call.out(o++).data<float>());
  if (grads.weight) weight_gradient(call.name, g, x, dy, call.out(o++).data<float>());
  if (grads.bias) channel_sums(dy, g.batch, g.out_channels, g.out_pixels(), call.out(o++).data<float>());
}

// inputs [dy (image side), x (map side), w]
void conv_transpose2d_backward(const OpCall& call) {
  ConvGeometry g = conv_transpose2d_geometry(call.name, call.in(1), call.in(2), call.attrs);
  ConvGrads grads = conv_grads(call.attrs);
  const float *dy = call.in(0).data<float>(), *x = call.in(1).data<float>(), *w = call.in(2).data<float>();
  size_t o = 0;
  if (grads.input) correlate(call.name, g, dy, w, nullptr, call.out(o++).data<float>());
  if (grads.weight) weight_gradient(call.name, g, dy, x, call.out(o++).data<float>());
  if (grads.bias) channel_sums(dy, g.batch, g.in_channels, g.in_pixels(), call.out(o++).data<float>());
}

}  // namespace samcobot::cuda
