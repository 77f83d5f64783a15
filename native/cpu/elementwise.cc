#include "elementwise.h"

#include <cstring>

#include "../core/random.h"
#include "../core/thread_pool.h"
#include "../ops/broadcast.h"
#include "../ops/cast_value.h"
#include "dispatch.h"

namespace samcobot::cpu {
namespace {

constexpr int64_t kGrain = 1 << 14;

template <class T>
void store_value(T* out, int64_t n, T value) {
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) out[i] = value;
  });
}

template <class From, class To>
void convert(const From* in, To* out, int64_t n) {
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) out[i] = cast_value<To>(in[i]);
  });
}

template <class From>
void convert_from(const From* in, const Tensor& out, int64_t n) {
  switch (out.dtype()) {
    case DType::F32: convert(in, out.data<float>(), n); break;
    case DType::F64: convert(in, out.data<double>(), n); break;
    case DType::I32: convert(in, out.data<int32_t>(), n); break;
    case DType::U8: convert(in, out.data<uint8_t>(), n); break;
    default: fail("ERR_DTYPE", "cast", "f32, f64, i32 or u8 on the CPU", "the target dtype", dtype_name(out.dtype()));
  }
}

}  // namespace

void fill(const OpCall& call) {
  const Tensor& t = call.in(0);
  double v = call.attrs.number_or("value", 0);
  switch (t.dtype()) {
    case DType::F32: store_value(t.data<float>(), t.numel(), static_cast<float>(v)); break;
    case DType::F64: store_value(t.data<double>(), t.numel(), v); break;
    case DType::I32: store_value(t.data<int32_t>(), t.numel(), cast_value<int32_t>(v)); break;
    case DType::U8: store_value(t.data<uint8_t>(), t.numel(), cast_value<uint8_t>(v)); break;
    default: fail("ERR_DTYPE", "fill", "f32, f64, i32 or u8 on the CPU", "the tensor", dtype_name(t.dtype()));
  }
}

void random_fill(const OpCall& call) {
  const Tensor& t = call.in(0);
  uint64_t seed = static_cast<uint64_t>(call.attrs.number_or("seed", 0));
  bool normal = call.attrs.string_or("distribution", "normal") == "normal";
  double mean = call.attrs.number_or("mean", 0), stddev = call.attrs.number_or("std", 1);
  double lo_v = call.attrs.number_or("low", 0), hi_v = call.attrs.number_or("high", 1);
  for_float_types("random_fill", t.dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* out = t.data<T>();
    parallel_for(t.numel(), kGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        double x = normal ? mean + stddev * normal01(seed, uint64_t(i)) : lo_v + (hi_v - lo_v) * uniform01(seed, uint64_t(i), 0);
        out[i] = static_cast<T>(x);
      }
    });
  });
}

void copy(const OpCall& call) {
  const Tensor& in = call.in(0);
  const Tensor& out = call.out(0);
  const uint8_t* src = static_cast<const uint8_t*>(in.raw());
  uint8_t* dst = static_cast<uint8_t*>(out.raw());
  parallel_for(static_cast<int64_t>(in.bytes()), kGrain * 16, [&](int64_t lo, int64_t hi) { std::memcpy(dst + lo, src + lo, size_t(hi - lo)); });
}

void cast(const OpCall& call) {
  const Tensor& in = call.in(0);
  const Tensor& out = call.out(0);
  int64_t n = in.numel();
  switch (in.dtype()) {
    case DType::F32: convert_from(in.data<float>(), out, n); break;
    case DType::F64: convert_from(in.data<double>(), out, n); break;
    case DType::I32: convert_from(in.data<int32_t>(), out, n); break;
    case DType::U8: convert_from(in.data<uint8_t>(), out, n); break;
    default: fail("ERR_DTYPE", "cast", "f32, f64, i32 or u8 on the CPU", "the input", dtype_name(in.dtype()));
  }
}

void binary(const OpCall& call) {
  const Tensor& a = call.in(0);
  const Tensor& b = call.in(1);
  const Tensor& out = call.out(0);
  BinaryKind kind = binary_kind(call.name);
  BroadcastPlan plan = plan_broadcast(a.shape(), b.shape());
  for_float_types(call.name, out.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    parallel_for(out.numel(), kGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        int64_t ia, ib;
        plan.offsets(i, &ia, &ib);
        po[i] = apply_binary(kind, pa[ia], pb[ib]);
      }
    });
  });
}

void scale(const OpCall& call) {
  const Tensor& in = call.in(0);
  const Tensor& out = call.out(0);
  double alpha = call.attrs.number_or("alpha", 1), beta = call.attrs.number_or("beta", 0);
  for_float_types("scale", in.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* x = in.data<T>();
    T* y = out.data<T>();
    T a = static_cast<T>(alpha), b = static_cast<T>(beta);
    parallel_for(in.numel(), kGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) y[i] = a * x[i] + b;
    });
  });
}

void accumulate(const OpCall& call) {
  const Tensor& target = call.in(0);
  const Tensor& source = call.in(1);
  double alpha = call.attrs.number_or("alpha", 1);
  for_float_types("accumulate", target.dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* y = target.data<T>();
    const T* x = source.data<T>();
    T a = static_cast<T>(alpha);
    parallel_for(target.numel(), kGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) y[i] += a * x[i];
    });
  });
}

void sum(const OpCall& call) {
  const Tensor& in = call.in(0);
  const Tensor& out = call.out(0);
  ReducePlan plan = plan_reduce(in.shape(), call.attrs.integers("sum", "axes"));
  for_float_types("sum", in.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* x = in.data<T>();
    T* y = out.data<T>();
    // Each output element sums its inputs in a fixed order (f64 accumulator): deterministic.
    parallel_for(plan.outer, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t o = lo; o < hi; ++o) {
        double acc = 0;
        int64_t base = plan.input_offset(o);
        for (int64_t r = 0; r < plan.inner; ++r) acc += static_cast<double>(x[base + plan.reduced_offset(r)]);
        y[o] = static_cast<T>(acc);
      }
    });
  });
}

}  // namespace samcobot::cpu
