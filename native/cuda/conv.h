// CUDA kernels of the convolution ops, the twins of native/cpu/conv.h (same names and semantics,
// f32 only). Declared in plain C++ so the op files can register them.
#pragma once
#include "../core/op.h"

namespace samcobot::cuda {

void conv2d(const OpCall& call);
void conv2d_backward(const OpCall& call);
void conv_transpose2d(const OpCall& call);
void conv_transpose2d_backward(const OpCall& call);

}  // namespace samcobot::cuda
