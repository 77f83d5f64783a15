// The Node-free CPU-vs-CUDA parity harness (native/tests/). Each op family adds a file
// native/tests/parity_<family>.cc that registers cases; parity_main.cc runs every case on both
// backends with outputs poisoned (NaN-filled) before the kernel runs, compares with a tolerance
// relative to the CPU output's largest magnitude, and times the CUDA kernel against its floors.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "../core/op.h"

namespace samcobot::parity {

struct Case {
  std::string label;            // shown in the table, e.g. "gemm 257x129x65 transB"
  std::string op;               // registered op name
  std::vector<Tensor> inputs;   // CPU tensors (the harness copies them to CUDA)
  Attrs attrs;
  double tolerance = 1e-5;      // max |cuda - cpu| / max(|cpu|, 1e-30) allowed, per output
  double flops = 0;             // for the timing floor (0: not timed against FLOPs)
  double bytes = 0;             // bytes the kernel must move at least (0: not timed against bandwidth)
  // f32 inputs are cast to this dtype on CUDA (bf16/f16 cases); the CPU then runs in f32 on the
  // same rounded values, so the difference is the CUDA kernel's own rounding.
  DType cuda_dtype = DType::F32;
};

struct Family {
  std::string name;
  std::function<std::vector<Case>()> make;
};

// Registers a family's case generator; called at static-initialisation time:
//   static const bool registered = parity::register_cases("gemm", make_gemm_cases);
bool register_cases(const std::string& family, std::function<std::vector<Case>()> make);
// Every registered family, in registration order (the runner's view).
const std::vector<Family>& families();

// A CPU f32 tensor of normal values (deterministic in seed), for building cases.
Tensor random_tensor(const Shape& shape, uint64_t seed, double scale = 1.0);

}  // namespace samcobot::parity
