// Devices and the hooks through which the core reaches the CUDA backend without depending on it:
// the CUDA runtime file fills CudaHooks when the backend is built; otherwise they stay null and
// every CUDA request fails with ERR_NO_CUDA and the reason.
#pragma once
#include <cstddef>
#include <string>

namespace samcobot {

enum class Device : int { Cpu = 0, Cuda = 1 };

inline const char* device_name(Device d) { return d == Device::Cpu ? "cpu" : "cuda"; }

struct CudaHooks {
  bool built = false;
  // Probes the driver once; on failure writes why into *reason.
  bool (*available)(std::string* reason) = nullptr;
  void* (*malloc)(size_t bytes) = nullptr;  // throws Error on failure
  void (*free)(void* ptr) = nullptr;
  void (*upload)(void* dst, const void* src, size_t bytes) = nullptr;    // ordered on the stream
  void (*download)(void* dst, const void* src, size_t bytes) = nullptr;  // waits for the stream
  void (*memset)(void* dst, int byte, size_t bytes) = nullptr;           // ordered on the stream
  void (*synchronize)() = nullptr;                                       // throws on a kernel error
  std::string (*describe)() = nullptr;
};

CudaHooks& cuda_hooks();

// Throws ERR_NO_CUDA with the reason when CUDA was not built or no GPU answers.
void require_cuda();
bool cuda_available(std::string* reason);

}  // namespace samcobot
