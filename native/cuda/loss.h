// CUDA kernels of the loss ops, the twins of native/cpu/loss.h (same names, same semantics).
// Declared in plain C++ so the op files, compiled by the host compiler, can register them.
#pragma once
#include "../core/op.h"

namespace samcobot::cuda {

void mask_loss(const OpCall& call);
void mse_loss(const OpCall& call);

}  // namespace samcobot::cuda
