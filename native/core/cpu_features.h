// Which SIMD level the CPU offers, read once at run time, so one binary picks the best GEMM
// micro-kernel on any x86-64 machine (and the portable one elsewhere).
#pragma once

namespace samcobot {

enum class CpuLevel { Portable = 0, Avx2Fma = 1, Avx512 = 2 };

CpuLevel cpu_level();
// The micro-kernel the CPU GEMM uses here ("avx512", "avx2+fma" or "portable").
const char* cpu_gemm_kernel_name();

}  // namespace samcobot
