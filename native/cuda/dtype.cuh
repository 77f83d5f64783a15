// Storage types on the CUDA backend and the conversions between them, shared by the kernel files:
// f32, bf16 and f16 for float data (halves are widened to f32 for arithmetic and rounded to nearest
// even on the way out), i32 and u8 for labels and masks. The dispatchers run a generic host lambda
// with a value of the tensor's C++ type, as native/cpu/dispatch.h does for the CPU.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <string>
#include <type_traits>

#include "../core/error.h"
#include "../core/dtype.h"
#include "../ops/cast_value.h"

namespace samcobot::cuda {

template <class T>
constexpr bool is_half_v = std::is_same_v<T, __nv_bfloat16> || std::is_same_v<T, __half>;

__device__ inline float to_float(float x) { return x; }
__device__ inline float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ inline float to_float(__half x) { return __half2float(x); }

template <class T>
__device__ inline T from_float(float x) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) return __float2bfloat16_rn(x);
  else if constexpr (std::is_same_v<T, __half>) return __float2half_rn(x);
  else return x;
}

// Any storage type to any other: halves pass through f32, the rest follow cast_value, the rule the
// CPU's cast uses (round to nearest into floats; truncate and saturate into integers).
template <class To, class From>
__device__ inline To convert(From x) {
  if constexpr (is_half_v<From>) return convert<To>(to_float(x));
  else if constexpr (is_half_v<To>) return from_float<To>(static_cast<float>(x));
  else return cast_value<To>(x);
}

template <class Body>
void for_float_types(const std::string& op, DType dtype, Body&& body) {
  switch (dtype) {
    case DType::F32: body(float{}); break;
    case DType::BF16: body(__nv_bfloat16{}); break;
    case DType::F16: body(__half{}); break;
    default: fail("ERR_DTYPE", op, "f32, bf16 or f16 on CUDA", "dtype", dtype_name(dtype));
  }
}

template <class Body>
void for_storage_types(const std::string& op, DType dtype, Body&& body) {
  switch (dtype) {
    case DType::I32: body(int32_t{}); break;
    case DType::U8: body(uint8_t{}); break;
    default: for_float_types(op, dtype, body);
  }
}

}  // namespace samcobot::cuda
