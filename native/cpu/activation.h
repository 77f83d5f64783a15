// CPU kernels of the activation ops (validation: native/ops/activation.cc). Names and argument
// order match native/cuda/activation.h.
#pragma once
#include "../core/op.h"

namespace samcobot::cpu {

void gelu(const OpCall& call);
void gelu_backward(const OpCall& call);
void relu(const OpCall& call);
void relu_backward(const OpCall& call);
void sin_cos(const OpCall& call);
void sin_cos_backward(const OpCall& call);

}  // namespace samcobot::cpu
