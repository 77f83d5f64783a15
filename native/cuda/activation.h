// CUDA kernels of the activation ops, the twins of native/cpu/activation.h (same names and
// semantics). Declared in plain C++ so the op files can register them.
#pragma once
#include "../core/op.h"

namespace samcobot::cuda {

void gelu(const OpCall& call);
void gelu_backward(const OpCall& call);
void relu(const OpCall& call);
void relu_backward(const OpCall& call);
void sin_cos(const OpCall& call);
void sin_cos_backward(const OpCall& call);

}  // namespace samcobot::cuda
