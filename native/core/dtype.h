// Element types a tensor can hold. f64 exists on the CPU only: it is the reference precision the
// op checks (finite differences, float64 references) compute in.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace samcobot {

enum class DType : int32_t { F32 = 0, F64 = 1, BF16 = 2, F16 = 3, I32 = 4, U8 = 5 };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::BF16: return 2;
    case DType::F16: return 2;
    case DType::I32: return 4;
    case DType::U8: return 1;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F64: return "f64";
    case DType::BF16: return "bf16";
    case DType::F16: return "f16";
    case DType::I32: return "i32";
    case DType::U8: return "u8";
  }
  return "?";
}

// Returns false when the name is unknown.
inline bool dtype_from_name(const std::string& name, DType* out) {
  static const DType all[] = {DType::F32, DType::F64, DType::BF16, DType::F16, DType::I32, DType::U8};
  for (DType t : all) {
    if (name == dtype_name(t)) { *out = t; return true; }
  }
  return false;
}

inline bool dtype_is_float(DType t) { return t == DType::F32 || t == DType::F64 || t == DType::BF16 || t == DType::F16; }

// bf16 and f16 conversions shared by both backends' host code (round to nearest even).
inline uint16_t float_to_bf16(float f) {
  uint32_t u;
  __builtin_memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
inline float bf16_to_float(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}
uint16_t float_to_f16(float f);
float f16_to_float(uint16_t h);

}  // namespace samcobot
