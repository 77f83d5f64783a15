// CPU kernels of the COBOT family (validation and shapes: native/ops/cobot.cc; formulas:
// native/ops/cobot_math.h). Names and argument order match native/cuda/cobot.h.
#pragma once
#include "../core/op.h"

namespace samcobot::cpu {

void cobot_prepare(const OpCall& call);
void cobot_prepare_backward(const OpCall& call);
void cobot_bottleneck(const OpCall& call);
void cobot_bottleneck_backward(const OpCall& call);
// dropout and dropout_backward: the same mask on x or on dy.
void dropout(const OpCall& call);

}  // namespace samcobot::cpu
