#include "tensor_binding.h"

#include <cstring>
#include <memory>

#include "convert.h"
#include "queue_promise.h"

namespace samcobot {

Napi::FunctionReference* TensorHandle::constructor_ = nullptr;

Napi::Function TensorHandle::Define(Napi::Env env) {
  Napi::Function f = DefineClass(env, "NativeTensor",
                                 {InstanceAccessor<&TensorHandle::Shape>("shape"),
                                  InstanceAccessor<&TensorHandle::DType>("dtype"),
                                  InstanceAccessor<&TensorHandle::Device>("device"),
                                  InstanceAccessor<&TensorHandle::Disposed>("disposed"),
                                  InstanceMethod<&TensorHandle::Read>("read"),
                                  InstanceMethod<&TensorHandle::Reshape>("reshape"),
                                  InstanceMethod<&TensorHandle::Dispose>("dispose")});
  constructor_ = new Napi::FunctionReference(Napi::Persistent(f));
  return f;
}

TensorHandle::TensorHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorHandle>(info) {}

Napi::Object TensorHandle::Wrap(Napi::Env env, Tensor tensor) {
  Napi::Object object = constructor_->New({});
  ObjectWrap<TensorHandle>::Unwrap(object)->tensor_ = std::move(tensor);
  return object;
}

Tensor TensorHandle::FromJs(const Napi::Value& value, const std::string& name) {
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(constructor_->Value()))
    fail("ERR_ARGUMENT", "", "a native tensor", name, value.IsObject() ? "another object" : value.ToString().Utf8Value());
  const Tensor& t = ObjectWrap<TensorHandle>::Unwrap(value.As<Napi::Object>())->tensor_;
  if (!t.defined()) fail("ERR_DISPOSED", "", "a live tensor", name, "a disposed tensor");
  return t;
}

const Tensor& TensorHandle::live(const char* what) const {
  if (!tensor_.defined()) fail("ERR_DISPOSED", "", "a live tensor", what, "a disposed tensor");
  return tensor_;
}

Napi::Value TensorHandle::Shape(const Napi::CallbackInfo& info) {
  try {
    return shape_to_js(info.Env(), live("tensor.shape").shape());
  } catch (const Error& e) { throw_js(info.Env(), e); }
}

Napi::Value TensorHandle::DType(const Napi::CallbackInfo& info) {
  try {
    return Napi::String::New(info.Env(), dtype_name(live("tensor.dtype").dtype()));
  } catch (const Error& e) { throw_js(info.Env(), e); }
}

Napi::Value TensorHandle::Device(const Napi::CallbackInfo& info) {
  try {
    return Napi::String::New(info.Env(), device_name(live("tensor.device").device()));
  } catch (const Error& e) { throw_js(info.Env(), e); }
}

Napi::Value TensorHandle::Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !tensor_.defined()); }

void TensorHandle::Dispose(const Napi::CallbackInfo&) { tensor_ = Tensor(); }

Napi::Value TensorHandle::Reshape(const Napi::CallbackInfo& info) {
  try {
    Tensor t = live("tensor.reshape").reshaped(shape_from_js(info[0], "the new shape"));
    return Wrap(info.Env(), t);
  } catch (const Error& e) { throw_js(info.Env(), e); }
}

// Resolves with an ArrayBuffer of the tensor's bytes once every op before the read has run.
Napi::Value TensorHandle::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Tensor t;
  try {
    t = live("tensor.read");
  } catch (const Error& e) { throw_js(env, e); }
  auto bytes = std::make_shared<std::vector<uint8_t>>();
  return promise_after_queue(
      env, t.device(),
      [t, bytes] {
        bytes->resize(t.bytes());
        if (t.bytes() == 0) return;
        if (t.device() == Device::Cpu) std::memcpy(bytes->data(), t.raw(), t.bytes());
        else cuda_hooks().download(bytes->data(), t.raw(), t.bytes());
      },
      [bytes](Napi::Env env) -> Napi::Value {
        Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, bytes->size());
        if (!bytes->empty()) std::memcpy(buffer.Data(), bytes->data(), bytes->size());
        return buffer;
      });
}

}  // namespace samcobot
