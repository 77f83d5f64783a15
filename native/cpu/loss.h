// CPU kernels of the loss ops (validation and shapes: native/ops/loss.cc; formulas:
// native/ops/loss_math.h). Names and argument order match native/cuda/loss.h.
#pragma once
#include "../core/op.h"

namespace samcobot::cpu {

void mask_loss(const OpCall& call);
void mse_loss(const OpCall& call);

}  // namespace samcobot::cpu
