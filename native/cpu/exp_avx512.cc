// The AVX-512 f32 softmax exponentials: exp_vector.h on 8 double lanes (one zmm per vector). Built
// with the AVX-512 flags (native/sources.json key "cpu_avx512"); chosen at run time only where
// cpu_level() reports AVX-512.
#include "exp_kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include "exp_vector.h"

namespace samcobot::cpu {
namespace {

const ExpKernels kernels = {"avx512", ExpVector<8>::exp_shifted};

}  // namespace

const ExpKernels* exp_kernels_avx512() { return &kernels; }

}  // namespace samcobot::cpu

#else

const samcobot::cpu::ExpKernels* samcobot::cpu::exp_kernels_avx512() { return nullptr; }

#endif
