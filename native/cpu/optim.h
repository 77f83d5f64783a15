// CPU kernels of the optimizer ops (validation: native/ops/optim.cc; formulas:
// native/ops/optim_math.h). Names and argument order match native/cuda/optim.h.
#pragma once
#include "../core/op.h"

namespace samcobot::cpu {

void adam_step(const OpCall& call);
void sgd_step(const OpCall& call);
void global_norm(const OpCall& call);
void clip_scale(const OpCall& call);

}  // namespace samcobot::cpu
