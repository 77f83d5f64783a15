// The elementwise family on the CPU: fill, seeded random fill, copy, cast, broadcasting binary ops,
// scale, accumulate and sum. Everything but sum is independent per element, split across the pool in
// fixed chunks.
//
// sum accumulates in f64 in an order fixed by the shapes, so its result never depends on the thread
// count. The two layouts the library reduces over are (rows, cols) views of the input: reducing the
// leading axes (a Linear bias gradient: sum(dy (4096, 3072), [0])) sums columns, reducing the
// trailing axes (a loss, a full sum) sums contiguous rows. Both split the reduced length into
// fixed blocks (at most kSumBlocks of them, each at least kSumMinBlock long) whose f64 partial sums
// are then added in block order; columns go in chunks of kSumColumns, each task adding its rows
// one after another into an L1-resident row of accumulators (walking one column at a time, as the
// general path does, strides through memory: 69 ms for that bias gradient). Other axis patterns
// take the general path, one output element per step.
#include "elementwise.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "../core/random.h"
#include "../core/thread_pool.h"
#include "../ops/broadcast.h"
#include "../ops/cast_value.h"
#include "dispatch.h"

namespace samcobot::cpu {
namespace {

constexpr int64_t kGrain = 1 << 14;
constexpr int64_t kSumBlocks = 64;      // most blocks a reduced length is split into
constexpr int64_t kSumMinBlock = 256;   // fewest rows (or elements of a row) in a block
constexpr int64_t kSumColumns = 256;    // columns per task of a leading-axes sum

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The block length that splits a reduced length n (a function of n alone).
int64_t sum_block(int64_t n) { return std::max(kSumMinBlock, ceil_div(n, kSumBlocks)); }

// y[o] = the sum over b of partial[o * blocks + b], in block order.
template <class T>
void add_blocks(const double* partial, int64_t blocks, T* y, int64_t n) {
  parallel_for(n, kGrain / blocks + 1, [&](int64_t lo, int64_t hi) {
    for (int64_t o = lo; o < hi; ++o) {
      double acc = 0;
      for (int64_t b = 0; b < blocks; ++b) acc += partial[o * blocks + b];
      y[o] = static_cast<T>(acc);
    }
  });
}

// y (cols) = the column sums of x (rows, cols).
template <class T>
void sum_columns(const T* x, int64_t rows, int64_t cols, T* y) {
  const int64_t block = sum_block(rows), blocks = std::max<int64_t>(1, ceil_div(rows, block)), chunks = ceil_div(cols, kSumColumns);
  std::vector<double> partial(blocks > 1 ? cols * blocks : 0);  // (cols, blocks)
  parallel_for(blocks * chunks, 1, [&](int64_t lo, int64_t hi) {
    double acc[kSumColumns];
    for (int64_t task = lo; task < hi; ++task) {
      const int64_t b = task / chunks, c0 = task % chunks * kSumColumns, width = std::min(kSumColumns, cols - c0);
      const int64_t r1 = std::min(rows, (b + 1) * block);
      std::fill(acc, acc + width, 0.0);
      for (int64_t r = b * block; r < r1; ++r) {
        const T* row = x + r * cols + c0;
        for (int64_t c = 0; c < width; ++c) acc[c] += static_cast<double>(row[c]);
      }
      for (int64_t c = 0; c < width; ++c) {
        if (blocks == 1) y[c0 + c] = static_cast<T>(acc[c]);
        else partial[(c0 + c) * blocks + b] = acc[c];
      }
    }
  });
  if (blocks > 1) add_blocks(partial.data(), blocks, y, cols);
}

// The f64 sum of x (n) in eight interleaved partial sums, which the compiler vectorises.
template <class T>
double sum_contiguous(const T* x, int64_t n) {
  constexpr int kLanes = 8;
  double part[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) part[l] += static_cast<double>(x[i + l]);
  double acc = 0;
  for (; i < n; ++i) acc += static_cast<double>(x[i]);
  for (int l = 0; l < kLanes; ++l) acc += part[l];
  return acc;
}

// y (rows) = the row sums of x (rows, cols).
template <class T>
void sum_rows(const T* x, int64_t rows, int64_t cols, T* y) {
  const int64_t block = sum_block(cols), blocks = std::max<int64_t>(1, ceil_div(cols, block));
  std::vector<double> partial(blocks > 1 ? rows * blocks : 0);  // (rows, blocks)
  parallel_for(rows * blocks, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, std::min(cols, block))), [&](int64_t lo, int64_t hi) {
    for (int64_t task = lo; task < hi; ++task) {
      const int64_t o = task / blocks, b = task % blocks, c0 = b * block;
      const double acc = sum_contiguous(x + o * cols + c0, std::min(block, cols - c0));
      if (blocks == 1) y[o] = static_cast<T>(acc);
      else partial[task] = acc;
    }
  });
  if (blocks > 1) add_blocks(partial.data(), blocks, y, rows);
}

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
    if (plan.kept_rank == 0 || plan.kept_strides[plan.kept_rank - 1] == plan.inner) return sum_rows(x, plan.outer, plan.inner, y);
    if (plan.reduced_strides[plan.reduced_rank - 1] == plan.outer) return sum_columns(x, plan.inner, plan.outer, y);
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
