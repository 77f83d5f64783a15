// CPU kernels of the elementwise family: fill, random fill, copy, cast, broadcasting binary ops,
// scale, in-place accumulate, and the sum reduction. Names match native/cuda/elementwise.cuh.
#pragma once
#include "../core/op.h"

namespace samcobot::cpu {

void fill(const OpCall& call);
void random_fill(const OpCall& call);
void copy(const OpCall& call);
void cast(const OpCall& call);
void binary(const OpCall& call);
void scale(const OpCall& call);
void accumulate(const OpCall& call);
void sum(const OpCall& call);

}  // namespace samcobot::cpu
