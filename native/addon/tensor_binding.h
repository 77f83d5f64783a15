// The JS handle of a native tensor: an opaque object that keeps the storage alive until dispose()
// (or, as a safety net only, the garbage collector).
#pragma once
#include <napi.h>

#include "../core/tensor.h"

namespace samcobot {

class TensorHandle : public Napi::ObjectWrap<TensorHandle> {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, Tensor tensor);
  static Tensor FromJs(const Napi::Value& value, const std::string& name);
  explicit TensorHandle(const Napi::CallbackInfo& info);

 private:
  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value DType(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Reshape(const Napi::CallbackInfo& info);
  void Dispose(const Napi::CallbackInfo& info);
  const Tensor& live(const char* what) const;

  Tensor tensor_;
  static Napi::FunctionReference* constructor_;
};

}  // namespace samcobot
