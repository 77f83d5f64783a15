// A Promise that settles after everything queued on a device so far has run: the bridge from the
// device queue back to the JS thread (reads, synchronize).
#pragma once
#include <napi.h>

#include <functional>
#include <memory>

#include "../core/device.h"

namespace samcobot {

// `work` runs on the device's worker after all earlier ops; `make_value` then builds the resolved
// value on the JS thread. A kernel error raised since the last read rejects the Promise instead.
Napi::Promise promise_after_queue(Napi::Env env, Device device, std::function<void()> work,
                                  std::function<Napi::Value(Napi::Env)> make_value);

}  // namespace samcobot
