// CUDA kernels of the LayerNorm ops, the twins of native/cpu/norm.h (same names and semantics).
// Declared in plain C++ so the op files can register them.
#pragma once
#include "../core/op.h"

namespace samcobot::cuda {

void layer_norm(const OpCall& call);
void layer_norm_backward(const OpCall& call);

}  // namespace samcobot::cuda
