#include "device.h"

#include <mutex>

#include "error.h"

namespace samcobot {

CudaHooks& cuda_hooks() {
  static CudaHooks hooks;
  return hooks;
}

bool cuda_available(std::string* reason) {
  CudaHooks& h = cuda_hooks();
  if (!h.built) {
    *reason = "the addon was built without the CUDA backend (no CUDA compiler or cuBLAS found at build time; "
              "install the CUDA toolkit and run `npm run build:native`)";
    return false;
  }
  static std::once_flag once;
  static bool ok = false;
  static std::string why;
  std::call_once(once, [&] { ok = h.available(&why); });
  *reason = why;
  return ok;
}

void require_cuda() {
  std::string reason;
  if (!cuda_available(&reason)) fail("ERR_NO_CUDA", "", "a working CUDA backend", "device 'cuda'", "none (" + reason + ")");
}

}  // namespace samcobot
