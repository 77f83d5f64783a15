// The portable f32 softmax exponentials: exp_vector.h on 2 double lanes, the 16-byte vectors every
// target has (SSE2, NEON), built without special flags. The fallback where neither AVX2+FMA nor
// AVX-512 is available (and what SAM_COBOT_CPU=portable selects, to test it).
#include "exp_kernels.h"
#include "exp_vector.h"

namespace samcobot::cpu {
namespace {

const ExpKernels kernels = {"portable", ExpVector<2>::exp_shifted};

}  // namespace

const ExpKernels* exp_kernels_portable() { return &kernels; }

}  // namespace samcobot::cpu
