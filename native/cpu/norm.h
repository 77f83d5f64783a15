// CPU kernels of the LayerNorm ops (validation and shapes: native/ops/norm.cc, norm_shape.h).
// Names and argument order match native/cuda/norm.h.
#pragma once
#include "../core/op.h"

namespace samcobot::cpu {

void layer_norm(const OpCall& call);
void layer_norm_backward(const OpCall& call);

}  // namespace samcobot::cpu
