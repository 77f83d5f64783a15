// Runs a templated CPU kernel body for the tensor's float type (f32 or f64). f64 is the reference
// precision used by the op checks; every CPU kernel is written once as a template over both.
#pragma once
#include "../core/op.h"

namespace samcobot::cpu {

template <class Body>
void for_float_types(const std::string& op, DType dtype, Body&& body) {
  if (dtype == DType::F32) body(float{});
  else if (dtype == DType::F64) body(double{});
  else fail("ERR_DTYPE", op, "f32 or f64 on the CPU", "dtype", dtype_name(dtype));
}

}  // namespace samcobot::cpu
