// Conversions between JS values and core types, each validating what it reads.
#pragma once
#include <napi.h>

#include "../core/op.h"

namespace samcobot {

Shape shape_from_js(const Napi::Value& value, const std::string& name);
DType dtype_from_js(const Napi::Value& value, const std::string& name);
Device device_from_js(const Napi::Value& value, const std::string& name);
Attrs attrs_from_js(const Napi::Value& value);
Napi::Array shape_to_js(Napi::Env env, const Shape& shape);
// Throws the JS SamCobotError-shaped exception (message plus `code`) for a core Error.
[[noreturn]] void throw_js(Napi::Env env, const Error& e);

}  // namespace samcobot
