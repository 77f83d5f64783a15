// CUDA kernels of the attention family (native/cuda/attention.cu): flash-style attention with SAM's
// decomposed relative-position bias, and its backward. Same names as native/cpu/attention.h.
#pragma once
#include "../core/op.h"

namespace samcobot::cuda {

void attention(const OpCall& call);
void attention_backward(const OpCall& call);

}  // namespace samcobot::cuda
