#include "convert.h"

#include <cmath>

namespace samcobot {

Shape shape_from_js(const Napi::Value& value, const std::string& name) {
  if (!value.IsArray()) fail("ERR_SHAPE", "", "an array of non-negative integers", name, "a " + std::string(value.IsNull() ? "null" : "non-array value"));
  Napi::Array array = value.As<Napi::Array>();
  if (array.Length() > 16) fail("ERR_SHAPE", "", "at most 16 dimensions", name, std::to_string(array.Length()) + " dimensions");
  Shape shape;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value v = array.Get(i);
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!v.IsNumber() || d < 0 || d != std::floor(d) || d > 9.0e15)
      fail("ERR_SHAPE", "", "non-negative integer dimensions", name, "element " + std::to_string(i) + " = " + v.ToString().Utf8Value());
    shape.push_back(static_cast<int64_t>(d));
  }
  return shape;
}

DType dtype_from_js(const Napi::Value& value, const std::string& name) {
  DType t;
  std::string s = value.IsString() ? value.As<Napi::String>().Utf8Value() : "";
  if (!value.IsString() || !dtype_from_name(s, &t)) fail("ERR_DTYPE", "", "one of f32, f64, bf16, f16, i32, u8", name, value.ToString().Utf8Value());
  return t;
}

Device device_from_js(const Napi::Value& value, const std::string& name) {
  std::string s = value.IsString() ? value.As<Napi::String>().Utf8Value() : "";
  if (s == "cpu") return Device::Cpu;
  if (s == "cuda") return Device::Cuda;
  fail("ERR_ARGUMENT", "", "'cpu' or 'cuda'", name, value.ToString().Utf8Value());
}

Attrs attrs_from_js(const Napi::Value& value) {
  Attrs attrs;
  if (value.IsUndefined() || value.IsNull()) return attrs;
  if (!value.IsObject()) fail("ERR_ARGUMENT", "", "an object of attributes", "attrs", value.ToString().Utf8Value());
  Napi::Object object = value.As<Napi::Object>();
  Napi::Array keys = object.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    std::string key = keys.Get(i).ToString().Utf8Value();
    Napi::Value v = object.Get(key);
    if (v.IsUndefined()) continue;
    if (v.IsNumber()) attrs.numbers[key] = v.As<Napi::Number>().DoubleValue();
    else if (v.IsBoolean()) attrs.numbers[key] = v.As<Napi::Boolean>().Value() ? 1 : 0;
    else if (v.IsString()) attrs.strings[key] = v.As<Napi::String>().Utf8Value();
    else if (v.IsArray()) {
      Napi::Array a = v.As<Napi::Array>();
      std::vector<double> list;
      for (uint32_t j = 0; j < a.Length(); ++j) {
        Napi::Value e = a.Get(j);
        if (!e.IsNumber()) fail("ERR_ARGUMENT", "", "numbers", "attribute '" + key + "'", e.ToString().Utf8Value());
        list.push_back(e.As<Napi::Number>().DoubleValue());
      }
      attrs.lists[key] = std::move(list);
    } else {
      fail("ERR_ARGUMENT", "", "a number, boolean, string or number array", "attribute '" + key + "'", v.ToString().Utf8Value());
    }
  }
  return attrs;
}

Napi::Array shape_to_js(Napi::Env env, const Shape& shape) {
  Napi::Array a = Napi::Array::New(env, shape.size());
  for (size_t i = 0; i < shape.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(shape[i])));
  return a;
}

void throw_js(Napi::Env env, const Error& e) {
  Napi::Error error = Napi::Error::New(env, e.what());
  error.Set("code", Napi::String::New(env, e.code()));
  throw error;
}

}  // namespace samcobot
