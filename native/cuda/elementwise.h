// CUDA kernels of the elementwise family, the twins of native/cpu/elementwise.h (same names, same
// semantics). Declared in plain C++ so the op files, compiled by the host compiler, can register them.
#pragma once
#include "../core/op.h"

namespace samcobot::cuda {

void fill(const OpCall& call);
void random_fill(const OpCall& call);
void copy(const OpCall& call);
void cast(const OpCall& call);
void binary(const OpCall& call);
void scale(const OpCall& call);
void accumulate(const OpCall& call);
void sum(const OpCall& call);

}  // namespace samcobot::cuda
