// CUDA GEMM op kernels, the twins of native/cpu/gemm.h (same names, same semantics; shape rules in
// native/ops/gemm_shape.h). Declared in plain C++ so the op files can register them.
#pragma once
#include "../core/op.h"

namespace samcobot::cuda {

void gemm(const OpCall& call);
void gemm_accumulate(const OpCall& call);

}  // namespace samcobot::cuda
