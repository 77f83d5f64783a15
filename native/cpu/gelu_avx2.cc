// The AVX2+FMA f32 GELU kernels: gelu_vector.h on 4 double lanes (one ymm per vector). Built with
// -mavx2 -mfma (native/sources.json key "cpu_avx2"); chosen at run time where cpu_level() reports
// AVX2 and FMA but not AVX-512.
#include "gelu_kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include "gelu_vector.h"

namespace samcobot::cpu {
namespace {

const GeluKernels kernels = {"avx2+fma", GeluVector<4>::forward, GeluVector<4>::backward};

}  // namespace

const GeluKernels* gelu_kernels_avx2() { return &kernels; }

}  // namespace samcobot::cpu

#else

const samcobot::cpu::GeluKernels* samcobot::cpu::gelu_kernels_avx2() { return nullptr; }

#endif
