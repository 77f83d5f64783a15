// CPU kernels of the attention family: flash-style attention with SAM's decomposed
// relative-position bias, and its backward. Names match native/cuda/attention.h.
#pragma once
#include "../core/op.h"

namespace samcobot::cpu {

void attention(const OpCall& call);
void attention_backward(const OpCall& call);

}  // namespace samcobot::cpu
