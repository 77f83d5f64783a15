// The AVX-512 f32 GELU kernels: gelu_vector.h on 8 double lanes (one zmm per vector). Built with the
// AVX-512 flags (native/sources.json key "cpu_avx512"); chosen at run time only where cpu_level()
// reports AVX-512.
#include "gelu_kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include "gelu_vector.h"

namespace samcobot::cpu {
namespace {

const GeluKernels kernels = {"avx512", GeluVector<8>::forward, GeluVector<8>::backward};

}  // namespace

const GeluKernels* gelu_kernels_avx512() { return &kernels; }

}  // namespace samcobot::cpu

#else

const samcobot::cpu::GeluKernels* samcobot::cpu::gelu_kernels_avx512() { return nullptr; }

#endif
