// The addon's entry: registers the JS-facing functions. Work lives in the core and the op files.
#include <napi.h>

#include <cstring>
#include <future>

#include "../core/cpu_features.h"
#include "../core/queue.h"
#include "../core/thread_pool.h"
#include "convert.h"
#include "queue_promise.h"
#include "tensor_binding.h"

namespace samcobot {
namespace {

Napi::Value Empty(const Napi::CallbackInfo& info) {
  try {
    Tensor t = Tensor::empty(shape_from_js(info[0], "shape"), dtype_from_js(info[1], "dtype"), device_from_js(info[2], "device"));
    return TensorHandle::Wrap(info.Env(), t);
  } catch (const Error& e) { throw_js(info.Env(), e); }
}

// fromBytes(view, shape, dtype, device): copies the bytes now, so the caller may reuse its array.
Napi::Value FromBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    if (!info[0].IsTypedArray() && !info[0].IsArrayBuffer() && !info[0].IsDataView())
      fail("ERR_ARGUMENT", "fromArray", "a typed array", "data", info[0].ToString().Utf8Value());
    const uint8_t* src;
    size_t length;
    if (info[0].IsArrayBuffer()) {
      Napi::ArrayBuffer b = info[0].As<Napi::ArrayBuffer>();
      src = static_cast<const uint8_t*>(b.Data());
      length = b.ByteLength();
    } else {
      Napi::TypedArray view = info[0].As<Napi::TypedArray>();
      src = static_cast<const uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset();
      length = view.ByteLength();
    }
    Tensor t = Tensor::empty(shape_from_js(info[1], "shape"), dtype_from_js(info[2], "dtype"), device_from_js(info[3], "device"));
    if (length != t.bytes())
      fail("ERR_SHAPE", "fromArray", std::to_string(t.bytes()) + " bytes (" + std::to_string(t.numel()) + " " + dtype_name(t.dtype()) +
           " elements of shape " + shape_string(t.shape()) + ")", "data", std::to_string(length) + " bytes");
    if (t.device() == Device::Cpu) {
      // A fresh storage is referenced by nothing queued, so it may be written right here.
      if (length) std::memcpy(t.raw(), src, length);
    } else {
      auto staging = std::make_shared<std::vector<uint8_t>>(src, src + length);
      device_queue(Device::Cuda).push([t, staging] {
        if (!staging->empty()) cuda_hooks().upload(t.raw(), staging->data(), staging->size());
      });
    }
    return TensorHandle::Wrap(env, t);
  } catch (const Error& e) { throw_js(env, e); }
}

// op(name, inputs, attrs, device): validates now, runs on the device queue, returns the outputs.
Napi::Value Op(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    if (!info[0].IsString()) fail("ERR_ARGUMENT", "", "an op name", "op", info[0].ToString().Utf8Value());
    std::string name = info[0].As<Napi::String>().Utf8Value();
    if (!info[1].IsArray()) fail("ERR_ARGUMENT", name, "an array of tensors", "inputs", info[1].ToString().Utf8Value());
    Napi::Array array = info[1].As<Napi::Array>();
    std::vector<Tensor> inputs;
    for (uint32_t i = 0; i < array.Length(); ++i) inputs.push_back(TensorHandle::FromJs(array.Get(i), name + " input " + std::to_string(i)));
    Device device = info[3].IsUndefined() ? Device::Cpu : device_from_js(info[3], "device");
    std::vector<Tensor> outputs = run_op(name, inputs, attrs_from_js(info[2]), device);
    Napi::Array result = Napi::Array::New(env, outputs.size());
    for (size_t i = 0; i < outputs.size(); ++i) result.Set(static_cast<uint32_t>(i), TensorHandle::Wrap(env, outputs[i]));
    return result;
  } catch (const Error& e) { throw_js(env, e); }
}

// transfer(tensor, device): a copy on another device, ordered after the source's producers and
// before anything later queued on the destination (the destination's worker waits for the bytes).
Napi::Value Transfer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    Tensor source = TensorHandle::FromJs(info[0], "tensor");
    Device to = device_from_js(info[1], "device");
    Tensor dest = Tensor::empty(source.shape(), source.dtype(), to);
    auto staging = std::make_shared<std::vector<uint8_t>>(source.bytes());
    auto ready = std::make_shared<std::promise<void>>();
    std::shared_future<void> arrived = ready->get_future().share();
    device_queue(source.device()).push([source, staging, ready] {
      try {
        if (!staging->empty()) {
          if (source.device() == Device::Cpu) std::memcpy(staging->data(), source.raw(), staging->size());
          else cuda_hooks().download(staging->data(), source.raw(), staging->size());
        }
        ready->set_value();
      } catch (...) {
        ready->set_exception(std::current_exception());
        throw;
      }
    });
    device_queue(to).push([dest, staging, arrived] {
      arrived.get();
      if (staging->empty()) return;
      if (dest.device() == Device::Cpu) std::memcpy(dest.raw(), staging->data(), staging->size());
      else cuda_hooks().upload(dest.raw(), staging->data(), staging->size());
    });
    return TensorHandle::Wrap(env, dest);
  } catch (const Error& e) { throw_js(env, e); }
}

Napi::Value Synchronize(const Napi::CallbackInfo& info) {
  try {
    Device device = device_from_js(info[0], "device");
    if (device == Device::Cuda) require_cuda();
    return promise_after_queue(info.Env(), device, [] {}, [](Napi::Env env) { return env.Undefined(); });
  } catch (const Error& e) { throw_js(info.Env(), e); }
}

Napi::Value Backends(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object cpu = Napi::Object::New(env);
  cpu.Set("built", true);
  cpu.Set("available", true);
  cpu.Set("reason", std::string("CPU backend, ") + std::to_string(thread_count()) + " threads, GEMM kernel " + cpu_gemm_kernel_name());
  Napi::Object cuda = Napi::Object::New(env);
  std::string reason;
  bool available = cuda_available(&reason);
  cuda.Set("built", cuda_hooks().built);
  cuda.Set("available", available);
  cuda.Set("reason", available && cuda_hooks().describe ? cuda_hooks().describe() : reason);
  Napi::Object out = Napi::Object::New(env);
  out.Set("cpu", cpu);
  out.Set("cuda", cuda);
  return out;
}

Napi::Value OpNames(const Napi::CallbackInfo& info) {
  std::vector<std::string> names = op_names();
  Napi::Array a = Napi::Array::New(info.Env(), names.size());
  for (size_t i = 0; i < names.size(); ++i) a.Set(static_cast<uint32_t>(i), names[i]);
  return a;
}

Napi::Value MemoryStats(const Napi::CallbackInfo& info) {
  try {
    Device device = device_from_js(info[0], "device");
    ArenaStats s = arena_stats(device);
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("bytesInUse", static_cast<double>(s.bytes_in_use));
    o.Set("bytesCached", static_cast<double>(s.bytes_cached));
    o.Set("peakBytesInUse", static_cast<double>(s.peak_bytes_in_use));
    o.Set("systemAllocations", static_cast<double>(s.system_allocations));
    return o;
  } catch (const Error& e) { throw_js(info.Env(), e); }
}

Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  try {
    Device device = device_from_js(info[0], "device");
    device_queue(device).drain();
    arena_empty_cache(device);
    return info.Env().Undefined();
  } catch (const Error& e) { throw_js(info.Env(), e); }
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeTensor", TensorHandle::Define(env));
  exports.Set("empty", Napi::Function::New(env, Empty));
  exports.Set("fromBytes", Napi::Function::New(env, FromBytes));
  exports.Set("op", Napi::Function::New(env, Op));
  exports.Set("transfer", Napi::Function::New(env, Transfer));
  exports.Set("synchronize", Napi::Function::New(env, Synchronize));
  exports.Set("backends", Napi::Function::New(env, Backends));
  exports.Set("opNames", Napi::Function::New(env, OpNames));
  exports.Set("memoryStats", Napi::Function::New(env, MemoryStats));
  exports.Set("emptyCache", Napi::Function::New(env, EmptyCache));
  return exports;
}

}  // namespace samcobot

static Napi::Object InitSamCobot(Napi::Env env, Napi::Object exports) { return samcobot::Init(env, exports); }

NODE_API_MODULE(sam_cobot, InitSamCobot)
