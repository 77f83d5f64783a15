// The portable f32 GELU kernels: gelu_vector.h on 2 double lanes, the 16-byte vectors every target
// has (SSE2, NEON), built without special flags. The fallback where neither AVX2+FMA nor AVX-512 is
// available (and what SAM_COBOT_CPU=portable selects, to test it).
#include "gelu_kernels.h"
#include "gelu_vector.h"

namespace samcobot::cpu {
namespace {

const GeluKernels kernels = {"portable", GeluVector<2>::forward, GeluVector<2>::backward};

}  // namespace

const GeluKernels* gelu_kernels_portable() { return &kernels; }

}  // namespace samcobot::cpu
