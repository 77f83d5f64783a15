// CPU kernels of the convolution ops (validation and geometry: native/ops/conv.cc, conv_shape.h).
// Names and argument order match native/cuda/conv.h.
#pragma once
#include "../core/op.h"

namespace samcobot::cpu {

void conv2d(const OpCall& call);
void conv2d_backward(const OpCall& call);
void conv_transpose2d(const OpCall& call);
void conv_transpose2d_backward(const OpCall& call);

}  // namespace samcobot::cpu
