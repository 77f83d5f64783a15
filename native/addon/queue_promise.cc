#include "queue_promise.h"

#include "../core/queue.h"

namespace samcobot {

Napi::Promise promise_after_queue(Napi::Env env, Device device, std::function<void()> work,
                                  std::function<Napi::Value(Napi::Env)> make_value) {
  auto deferred = std::make_shared<Napi::Promise::Deferred>(env);
  auto tsfn = std::make_shared<Napi::ThreadSafeFunction>(
      Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "sam-cobot queue", 0, 1));
  device_queue(device).push_read(std::move(work), [tsfn, deferred, make_value](const QueuedError& error) {
    auto failure = std::make_shared<QueuedError>(error);
    tsfn->BlockingCall([deferred, make_value, failure](Napi::Env env, Napi::Function) {
      if (!failure->code.empty()) {
        Napi::Error e = Napi::Error::New(env, failure->message);
        e.Set("code", Napi::String::New(env, failure->code));
        deferred->Reject(e.Value());
        return;
      }
      try {
        deferred->Resolve(make_value(env));
      } catch (const Napi::Error& e) {
        deferred->Reject(e.Value());
      }
    });
    tsfn->Release();
  });
  return deferred->Promise();
}

}  // namespace samcobot
