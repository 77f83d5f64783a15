// CPU kernels of the layout family: permute, split, concat, slice (and its backward), window
// partition and un-partition, and the linear resizes (bilinear on (..., H, W), linear along the
// rows of a table). Names match native/cuda/layout.h.
#pragma once
#include "../core/op.h"

namespace samcobot::cpu {

void permute(const OpCall& call);
void split(const OpCall& call);
void concat(const OpCall& call);
void slice(const OpCall& call);
void slice_backward(const OpCall& call);
void window_partition(const OpCall& call);
void window_unpartition(const OpCall& call);
// Also the kernels of linear_resize_rows(_backward): a (L, D) table is one plane of L x D whose
// width does not change.
void bilinear_resize(const OpCall& call);
void bilinear_resize_backward(const OpCall& call);

}  // namespace samcobot::cpu
