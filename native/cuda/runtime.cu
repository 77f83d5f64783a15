// The CUDA backend's runtime: the one stream, the cuBLAS and cuBLASLt handles bound to it, a
// scratch workspace, and the hooks (native/core/device.h) through which the core allocates,
// copies and synchronises without depending on CUDA. The hooks are filled at static-initialisation
// time, so linking this file is what makes `backends().cuda.built` true.
//
// Nothing here touches the driver until it is asked to: loading the addon on a machine without a
// GPU (or without a driver) must work, and `available()` turns each way of failing into a reason a
// user can act on (no driver, driver too old, no device, no kernel image for this GPU).
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "../core/device.h"
#include "runtime.h"

#ifndef SAM_COBOT_CUDA_ARCHS
#define SAM_COBOT_CUDA_ARCHS "unknown"
#endif

namespace samcobot::cuda {
namespace {

// Handles live for the whole process: destroying them from static destructors can run after the
// CUDA runtime has shut down, which crashes at exit.
struct Runtime {
  std::once_flag stream_once, blas_once;
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  cublasLtHandle_t blas_lt = nullptr;
  std::mutex workspace_mutex;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
};

Runtime& runtime() {
  static Runtime* r = new Runtime;
  return *r;
}

std::string error_text(cudaError_t status) {
  return std::string(cudaGetErrorName(status)) + " (" + cudaGetErrorString(status) + ")";
}

std::string version_text(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }

std::string gib(size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f GiB", double(bytes) / double(1ull << 30));
  return text;
}

// Writes one value, so the probe sees that a kernel of this build really runs on this GPU.
__global__ void probe_kernel(int* flag) { *flag = 42; }

bool probe(std::string* reason) {
  int driver = 0;
  cudaDriverGetVersion(&driver);
  if (driver == 0) {
    *reason = "no NVIDIA driver was found (libcuda.so is not installed or not on the loader's path); install the NVIDIA driver to use the GPU";
    return false;
  }
  if (driver / 1000 < CUDART_VERSION / 1000) {
    *reason = "the NVIDIA driver supports CUDA " + version_text(driver) + " but this addon was built with CUDA " + version_text(CUDART_VERSION) +
              "; update the driver, or rebuild with a CUDA toolkit the driver supports (`npm run build:native`)";
    return false;
  }
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status == cudaErrorNoDevice || (status == cudaSuccess && count == 0)) {
    cudaGetLastError();
    *reason = "the NVIDIA driver (CUDA " + version_text(driver) + ") reports no CUDA device (check CUDA_VISIBLE_DEVICES and nvidia-smi)";
    return false;
  }
  if (status != cudaSuccess) {
    cudaGetLastError();
    *reason = "the CUDA driver could not start: " + error_text(status) + (status == cudaErrorInsufficientDriver ? "; update the NVIDIA driver" : "");
    return false;
  }
  cudaDeviceProp prop;
  if ((status = cudaSetDevice(0)) != cudaSuccess || (status = cudaGetDeviceProperties(&prop, 0)) != cudaSuccess) {
    *reason = "GPU 0 could not be opened: " + error_text(status);
    return false;
  }
  std::string gpu = std::string(prop.name) + " (compute capability " + std::to_string(prop.major) + "." + std::to_string(prop.minor) + ")";
  int* flag = nullptr;
  if ((status = cudaMalloc(&flag, sizeof(int))) != cudaSuccess) {
    cudaGetLastError();
    *reason = "a 4-byte allocation on " + gpu + " failed: " + error_text(status);
    return false;
  }
  int seen = 0;
  probe_kernel<<<1, 1>>>(flag);
  status = cudaGetLastError();
  if (status == cudaSuccess) status = cudaMemcpy(&seen, flag, sizeof(int), cudaMemcpyDeviceToHost);
  cudaFree(flag);
  if (status == cudaErrorNoKernelImageForDevice || status == cudaErrorInvalidPtx || status == cudaErrorUnsupportedPtxVersion) {
    *reason = "this addon has no kernel image for " + gpu + ": it was built for CUDA architectures " SAM_COBOT_CUDA_ARCHS
              "; rebuild with `CUDAARCHS=" + std::to_string(prop.major * 10 + prop.minor) + " npm run build:native`";
    return false;
  }
  if (status != cudaSuccess || seen != 42) {
    *reason = "a test kernel on " + gpu + " failed: " + (status != cudaSuccess ? error_text(status) : "it did not write its result");
    return false;
  }
  try {
    cublas();
  } catch (const Error& e) {
    *reason = std::string("cuBLAS could not start on ") + gpu + ": " + e.what();
    return false;
  }
  return true;
}

void* device_malloc(size_t bytes) {
  void* p = nullptr;
  cudaError_t status = cudaMalloc(&p, bytes);
  if (status == cudaSuccess) return p;
  cudaGetLastError();  // an out-of-memory error is not sticky: clear it so later checks do not report it
  size_t free_bytes = 0, total_bytes = 0;
  cudaMemGetInfo(&free_bytes, &total_bytes);
  throw Error("ERR_OUT_OF_MEMORY", "Expected " + std::to_string(bytes) + " bytes (" + gib(bytes) + ") of GPU memory for a tensor but the allocation failed: " +
                                       error_text(status) + ", " + gib(free_bytes) + " free of " + gib(total_bytes));
}

// Freeing never throws: it runs from destructors and cache clean-up; a broken context is reported
// by the next synchronisation instead.
void device_free(void* p) {
  if (cudaFree(p) != cudaSuccess) cudaGetLastError();
}

void upload(void* dst, const void* src, size_t bytes) {
  // From pageable memory the call returns once `src` has been staged, so the caller may free it.
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream()));
}

void synchronize() {
  cudaError_t status = cudaStreamSynchronize(stream());
  if (status != cudaSuccess)
    throw Error("ERR_RUNTIME", "Expected queued CUDA work to finish but it failed with " + error_text(status) +
                                   (cudaGetLastError() != cudaSuccess ? " (the GPU context is now unusable; restart the process)" : ""));
}

void download(void* dst, const void* src, size_t bytes) {
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream()));
  synchronize();
}

void memset_async(void* dst, int byte, size_t bytes) { CUDA_CHECK(cudaMemsetAsync(dst, byte, bytes, stream())); }

std::string describe() {
  cudaDeviceProp prop;
  CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  int driver = 0, blas = 0;
  cudaDriverGetVersion(&driver);
  CUBLAS_CHECK(cublasGetVersion(cublas(), &blas));
  return std::string(prop.name) + ", compute capability " + std::to_string(prop.major) + "." + std::to_string(prop.minor) + ", " +
         std::to_string(prop.multiProcessorCount) + " SMs, " + gib(prop.totalGlobalMem) + ", driver CUDA " + version_text(driver) +
         ", runtime CUDA " + version_text(CUDART_VERSION) + ", cuBLAS " + std::to_string(blas / 10000) + "." + std::to_string(blas / 100 % 100) + "." +
         std::to_string(blas % 100) + ", built for sm " SAM_COBOT_CUDA_ARCHS ", TF32 " + (allow_tf32() ? "on" : "off");
}

[[maybe_unused]] const bool hooks_filled = [] {
  CudaHooks& h = cuda_hooks();
  h.built = true;
  h.available = probe;
  h.malloc = device_malloc;
  h.free = device_free;
  h.upload = upload;
  h.download = download;
  h.memset = memset_async;
  h.synchronize = synchronize;
  h.describe = describe;
  return true;
}();

}  // namespace

cudaStream_t stream() {
  Runtime& r = runtime();
  std::call_once(r.stream_once, [&] { CUDA_CHECK(cudaStreamCreateWithFlags(&r.stream, cudaStreamNonBlocking)); });
  return r.stream;
}

bool allow_tf32() {
  static const bool on = [] {
    const char* v = std::getenv("SAM_COBOT_TF32");
    return v != nullptr && std::string(v) == "1";
  }();
  return on;
}

cublasHandle_t cublas() {
  Runtime& r = runtime();
  std::call_once(r.blas_once, [&] {
    cudaStream_t s = stream();
    CUBLAS_CHECK(cublasCreate(&r.blas));
    CUBLAS_CHECK(cublasSetStream(r.blas, s));
    // Default math with an explicit compute type per call: f32 products stay true f32 unless TF32 is allowed.
    CUBLAS_CHECK(cublasSetMathMode(r.blas, allow_tf32() ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    CUBLAS_CHECK(cublasLtCreate(&r.blas_lt));
  });
  return r.blas;
}

cublasLtHandle_t cublas_lt() {
  cublas();
  return runtime().blas_lt;
}

void* workspace(size_t bytes) {
  Runtime& r = runtime();
  std::lock_guard<std::mutex> lock(r.workspace_mutex);
  if (bytes <= r.workspace_bytes) return r.workspace;
  // Kernels queued earlier may still read the old buffer: wait for them before giving it back.
  if (r.workspace) {
    CUDA_CHECK(cudaStreamSynchronize(stream()));
    CUDA_CHECK(cudaFree(r.workspace));
    r.workspace = nullptr;
    r.workspace_bytes = 0;
  }
  size_t grown = bytes + bytes / 4;
  r.workspace = device_malloc(grown);
  r.workspace_bytes = grown;
  return r.workspace;
}

void throw_cuda(cudaError_t status, const char* expr, const char* file, int line) {
  throw Error("ERR_RUNTIME", std::string("Expected CUDA success for ") + expr + " (" + file + ":" + std::to_string(line) + ") but received " +
                                 error_text(status));
}

void throw_cublas(cublasStatus_t status, const char* expr, const char* file, int line) {
  throw Error("ERR_RUNTIME", std::string("Expected cuBLAS success for ") + expr + " (" + file + ":" + std::to_string(line) + ") but received " +
                                 cublasGetStatusName(status) + " (" + cublasGetStatusString(status) + ")");
}

}  // namespace samcobot::cuda
