// CUDA kernels of the optimizer ops, the twins of native/cpu/optim.h (same names, same semantics).
// Declared in plain C++ so the op files, compiled by the host compiler, can register them.
#pragma once
#include "../core/op.h"

namespace samcobot::cuda {

void adam_step(const OpCall& call);
void sgd_step(const OpCall& call);
void global_norm(const OpCall& call);
void clip_scale(const OpCall& call);

}  // namespace samcobot::cuda
