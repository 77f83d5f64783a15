// The value semantics of `cast`, shared by both backends so they agree bit for bit: a conversion to
// a float type rounds to nearest (static_cast); a conversion to an integer type truncates toward
// zero and saturates to the type's range, NaN giving 0 (a plain static_cast is undefined behaviour
// out of range, and differs between x86 and the GPU).
#pragma once
#include <cstdint>
#include <type_traits>

#include "../core/random.h"  // SAM_COBOT_HD

namespace samcobot {

template <class T>
struct IntegerRange;
template <>
struct IntegerRange<int32_t> {
  static constexpr double lo = -2147483648.0, hi = 2147483647.0;
};
template <>
struct IntegerRange<uint8_t> {
  static constexpr double lo = 0.0, hi = 255.0;
};

template <class To, class From>
SAM_COBOT_HD inline To cast_value(From x) {
  if constexpr (std::is_floating_point<To>::value) {
    return static_cast<To>(x);
  } else {
    // Every i32, u8, f32 and f64 value is exact as a double, so the range test is exact.
    double v = static_cast<double>(x);
    if (v != v) return To(0);
    if (v <= IntegerRange<To>::lo) return static_cast<To>(IntegerRange<To>::lo);
    if (v >= IntegerRange<To>::hi) return static_cast<To>(IntegerRange<To>::hi);
    return static_cast<To>(v);
  }
}

}  // namespace samcobot
