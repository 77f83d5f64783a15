// CUDA kernels of the COBOT family, the twins of native/cpu/cobot.h (same names, same semantics).
// Declared in plain C++ so the op files, compiled by the host compiler, can register them.
#pragma once
#include "../core/op.h"

namespace samcobot::cuda {

void cobot_prepare(const OpCall& call);
void cobot_prepare_backward(const OpCall& call);
void cobot_bottleneck(const OpCall& call);
void cobot_bottleneck_backward(const OpCall& call);
// dropout and dropout_backward: the same mask on x or on dy.
void dropout(const OpCall& call);

}  // namespace samcobot::cuda
