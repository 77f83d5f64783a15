// The AVX2+FMA f32 softmax exponentials: exp_vector.h on 4 double lanes (one ymm per vector). Built
// with -mavx2 -mfma (native/sources.json key "cpu_avx2"); chosen at run time where cpu_level()
// reports AVX2 and FMA but not AVX-512.
#include "exp_kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include "exp_vector.h"

namespace samcobot::cpu {
namespace {

const ExpKernels kernels = {"avx2+fma", ExpVector<4>::exp_shifted};

}  // namespace

const ExpKernels* exp_kernels_avx2() { return &kernels; }

}  // namespace samcobot::cpu

#else

const samcobot::cpu::ExpKernels* samcobot::cpu::exp_kernels_avx2() { return nullptr; }

#endif
