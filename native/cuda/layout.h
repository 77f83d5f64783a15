// CUDA kernels of the layout family, the twins of native/cpu/layout.h (same names, same
// semantics). Declared in plain C++ so the op files, compiled by the host compiler, can register them.
#pragma once
#include "../core/op.h"

namespace samcobot::cuda {

void permute(const OpCall& call);
void split(const OpCall& call);
void concat(const OpCall& call);
void slice(const OpCall& call);
void slice_backward(const OpCall& call);
void window_partition(const OpCall& call);
void window_unpartition(const OpCall& call);
// Also the kernels of linear_resize_rows(_backward), as on the CPU.
void bilinear_resize(const OpCall& call);
void bilinear_resize_backward(const OpCall& call);

}  // namespace samcobot::cuda
