// CUDA kernels of the elementwise family (twins of native/cpu/elementwise.cc): fill, random fill,
// copy, cast, broadcasting binary ops, scale, in-place accumulate, and the sum reduction.
//
// Storage types are f32, bf16 and f16 (i32 and u8 too for fill and cast); bf16/f16 values are
// widened to f32 for arithmetic and rounded to nearest even on the way out. Each kernel is a
// grid-stride loop, memory-bound by design. Products and sums that the CPU computes without fused
// multiply-add use the __fmul_rn/__fadd_rn intrinsics here, so the compiler cannot contract them and
// f32 results match the CPU's bit for bit.
//
// The sum is deterministic (no atomics): when the reduced axes include the innermost one, a warp
// or a block owns each output and reduces its strided partial sums in a fixed tree; otherwise one
// thread owns each output (coalesced across neighbouring outputs), and long reductions are split
// into a fixed number of chunks whose partial sums a second kernel adds in order. Partial sums are
// doubles, as on the CPU.
#include <cstring>

#include "../core/random.h"
#include "../ops/broadcast.h"
#include "dtype.cuh"
#include "elementwise.h"
#include "runtime.h"

namespace samcobot::cuda {
namespace {

constexpr int kThreads = 256;

template <class Bits>
__global__ void fill_kernel(Bits* out, int64_t n, Bits pattern) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) out[i] = pattern;
}

template <class Bits>
void launch_fill(void* out, int64_t n, Bits pattern) {
  fill_kernel<<<grid_for(n, kThreads), kThreads, 0, stream()>>>(static_cast<Bits*>(out), n, pattern);
  CUDA_CHECK_LAUNCH();
}

// x = offset + factor * (normal or uniform draw), in double as on the CPU (random.h).
template <class T>
__global__ void random_kernel(T* out, int64_t n, uint64_t seed, bool normal, double offset, double factor) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    double draw = normal ? normal01(seed, uint64_t(i)) : uniform01(seed, uint64_t(i), 0);
    out[i] = from_float<T>(static_cast<float>(__dadd_rn(offset, __dmul_rn(factor, draw))));
  }
}

template <class From, class To>
__global__ void cast_kernel(const From* in, To* out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) out[i] = convert<To>(in[i]);
}

template <class T>
__global__ void binary_kernel(const T* a, const T* b, T* out, int64_t n, BroadcastPlan plan, BinaryKind kind) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t ia, ib;
    plan.offsets(i, &ia, &ib);
    out[i] = from_float<T>(apply_binary(kind, to_float(a[ia]), to_float(b[ib])));
  }
}

// y = alpha * x + beta (scale, into a new tensor) or y = y + alpha * x (accumulate, in place).
template <class T, bool kAccumulate>
__global__ void axpb_kernel(const T* x, T* y, int64_t n, float alpha, float beta) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    float product = __fmul_rn(alpha, to_float(x[i]));
    y[i] = from_float<T>(__fadd_rn(kAccumulate ? to_float(y[i]) : product, kAccumulate ? product : beta));
  }
}

__device__ inline int64_t reduced_offset(const ReducePlan& plan, int64_t r) {
  return plan.reduced_rank == 1 ? r * plan.reduced_strides[0] : plan.reduced_offset(r);
}

__device__ inline double warp_sum(double v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;
}

// The innermost axis is reduced: kLanes threads (a warp or the whole block) per output, reading
// neighbouring elements, then a fixed reduction tree.
template <class T, int kLanes>
__global__ void sum_inner_kernel(const T* x, T* y, ReducePlan plan) {
  constexpr int kGroups = kThreads / kLanes;
  __shared__ double warp_totals[kThreads / 32];
  int lane = threadIdx.x % kLanes;
  for (int64_t o = int64_t(blockIdx.x) * kGroups + threadIdx.x / kLanes; o < plan.outer; o += int64_t(gridDim.x) * kGroups) {
    const T* row = x + plan.input_offset(o);
    double acc = 0;
    for (int64_t r = lane; r < plan.inner; r += kLanes) acc += static_cast<double>(to_float(row[reduced_offset(plan, r)]));
    acc = warp_sum(acc);
    if constexpr (kLanes == 32) {
      if (lane == 0) y[o] = from_float<T>(static_cast<float>(acc));
    } else {
      if (threadIdx.x % 32 == 0) warp_totals[threadIdx.x / 32] = acc;
      __syncthreads();
      if (threadIdx.x == 0) {
        double total = 0;
        for (int w = 0; w < kThreads / 32; ++w) total += warp_totals[w];
        y[o] = from_float<T>(static_cast<float>(total));
      }
      __syncthreads();
    }
  }
}

// The innermost axis is kept: thread o sums chunk blockIdx.y of output o's inputs in order. With
// one chunk it writes y directly; otherwise partial[chunk][o], added up by sum_chunks_kernel.
template <class T>
__global__ void sum_outer_kernel(const T* x, T* y, double* partial, ReducePlan plan, int64_t chunk, int chunks) {
  int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (o >= plan.outer) return;
  const T* base = x + plan.input_offset(o);
  int64_t begin = blockIdx.y * chunk, end = begin + chunk < plan.inner ? begin + chunk : plan.inner;
  double acc = 0;
  for (int64_t r = begin; r < end; ++r) acc += static_cast<double>(to_float(base[reduced_offset(plan, r)]));
  if (chunks == 1) y[o] = from_float<T>(static_cast<float>(acc));
  else partial[blockIdx.y * plan.outer + o] = acc;
}

template <class T>
__global__ void sum_chunks_kernel(const double* partial, T* y, int64_t outer, int chunks) {
  for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < outer; o += int64_t(gridDim.x) * blockDim.x) {
    double total = 0;
    for (int c = 0; c < chunks; ++c) total += partial[c * outer + o];
    y[o] = from_float<T>(static_cast<float>(total));
  }
}

template <class T>
void launch_sum(const T* x, T* y, const ReducePlan& plan) {
  bool innermost_reduced = plan.reduced_rank > 0 && plan.reduced_strides[plan.reduced_rank - 1] == 1;
  if (innermost_reduced) {
    if (plan.inner >= 1024) sum_inner_kernel<T, kThreads><<<grid_for(plan.outer, 1), kThreads, 0, stream()>>>(x, y, plan);
    else sum_inner_kernel<T, 32><<<grid_for(plan.outer, kThreads / 32), kThreads, 0, stream()>>>(x, y, plan);
    CUDA_CHECK_LAUNCH();
    return;
  }
  // Enough threads to fill the GPU (about 2^18), each summing at least 32 inputs.
  constexpr int64_t kTargetThreads = int64_t(1) << 18, kMinChunk = 32, kMaxChunks = 4096;
  int64_t chunks = (kTargetThreads + plan.outer - 1) / plan.outer;
  int64_t most = (plan.inner + kMinChunk - 1) / kMinChunk;
  if (chunks > most) chunks = most;
  if (chunks > kMaxChunks) chunks = kMaxChunks;
  if (chunks < 1) chunks = 1;
  int64_t chunk = (plan.inner + chunks - 1) / chunks;
  if (chunk < 1) chunk = 1;
  chunks = (plan.inner + chunk - 1) / chunk;
  if (chunks < 1) chunks = 1;
  double* partial = chunks > 1 ? static_cast<double*>(workspace(size_t(chunks * plan.outer) * sizeof(double))) : nullptr;
  dim3 grid(static_cast<unsigned>((plan.outer + kThreads - 1) / kThreads), static_cast<unsigned>(chunks));
  sum_outer_kernel<<<grid, kThreads, 0, stream()>>>(x, y, partial, plan, chunk, static_cast<int>(chunks));
  CUDA_CHECK_LAUNCH();
  if (chunks > 1) {
    sum_chunks_kernel<<<grid_for(plan.outer, kThreads), kThreads, 0, stream()>>>(partial, y, plan.outer, static_cast<int>(chunks));
    CUDA_CHECK_LAUNCH();
  }
}

}  // namespace

void fill(const OpCall& call) {
  const Tensor& t = call.in(0);
  double v = call.attrs.number_or("value", 0);
  int64_t n = t.numel();
  if (n == 0) return;
  switch (t.dtype()) {
    case DType::F32: {
      float f = static_cast<float>(v);
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      launch_fill(t.raw(), n, bits);
      break;
    }
    case DType::BF16: launch_fill(t.raw(), n, float_to_bf16(static_cast<float>(v))); break;
    case DType::F16: launch_fill(t.raw(), n, float_to_f16(static_cast<float>(v))); break;
    case DType::I32: launch_fill(t.raw(), n, static_cast<uint32_t>(cast_value<int32_t>(v))); break;
    case DType::U8: launch_fill(t.raw(), n, cast_value<uint8_t>(v)); break;
    default: fail("ERR_DTYPE", "fill", "f32, bf16, f16, i32 or u8 on CUDA", "the tensor", dtype_name(t.dtype()));
  }
}

void random_fill(const OpCall& call) {
  const Tensor& t = call.in(0);
  uint64_t seed = static_cast<uint64_t>(call.attrs.number_or("seed", 0));
  bool normal = call.attrs.string_or("distribution", "normal") == "normal";
  double mean = call.attrs.number_or("mean", 0), stddev = call.attrs.number_or("std", 1);
  double low = call.attrs.number_or("low", 0), high = call.attrs.number_or("high", 1);
  int64_t n = t.numel();
  if (n == 0) return;
  for_float_types("random_fill", t.dtype(), [&](auto zero) {
    using T = decltype(zero);
    random_kernel<<<grid_for(n, kThreads), kThreads, 0, stream()>>>(t.data<T>(), n, seed, normal, normal ? mean : low, normal ? stddev : high - low);
    CUDA_CHECK_LAUNCH();
  });
}

void copy(const OpCall& call) {
  if (call.in(0).bytes() == 0) return;
  CUDA_CHECK(cudaMemcpyAsync(call.out(0).raw(), call.in(0).raw(), call.in(0).bytes(), cudaMemcpyDeviceToDevice, stream()));
}

void cast(const OpCall& call) {
  const Tensor& in = call.in(0);
  const Tensor& out = call.out(0);
  int64_t n = in.numel();
  if (n == 0) return;
  for_storage_types("cast", in.dtype(), [&](auto from) {
    for_storage_types("cast", out.dtype(), [&](auto to) {
      using From = decltype(from);
      using To = decltype(to);
      cast_kernel<<<grid_for(n, kThreads), kThreads, 0, stream()>>>(in.data<From>(), out.data<To>(), n);
      CUDA_CHECK_LAUNCH();
    });
  });
}

void binary(const OpCall& call) {
  const Tensor& out = call.out(0);
  int64_t n = out.numel();
  if (n == 0) return;
  BroadcastPlan plan = plan_broadcast(call.in(0).shape(), call.in(1).shape());
  BinaryKind kind = binary_kind(call.name);
  for_float_types(call.name, out.dtype(), [&](auto zero) {
    using T = decltype(zero);
    binary_kernel<<<grid_for(n, kThreads), kThreads, 0, stream()>>>(call.in(0).data<T>(), call.in(1).data<T>(), out.data<T>(), n, plan, kind);
    CUDA_CHECK_LAUNCH();
  });
}

void scale(const OpCall& call) {
  int64_t n = call.in(0).numel();
  if (n == 0) return;
  float alpha = static_cast<float>(call.attrs.number_or("alpha", 1)), beta = static_cast<float>(call.attrs.number_or("beta", 0));
  for_float_types("scale", call.in(0).dtype(), [&](auto zero) {
    using T = decltype(zero);
    axpb_kernel<T, false><<<grid_for(n, kThreads), kThreads, 0, stream()>>>(call.in(0).data<T>(), call.out(0).data<T>(), n, alpha, beta);
    CUDA_CHECK_LAUNCH();
  });
}

void accumulate(const OpCall& call) {
  int64_t n = call.in(0).numel();
  if (n == 0) return;
  float alpha = static_cast<float>(call.attrs.number_or("alpha", 1));
  for_float_types("accumulate", call.in(0).dtype(), [&](auto zero) {
    using T = decltype(zero);
    axpb_kernel<T, true><<<grid_for(n, kThreads), kThreads, 0, stream()>>>(call.in(1).data<T>(), call.in(0).data<T>(), n, alpha, 0.0f);
    CUDA_CHECK_LAUNCH();
  });
}

void sum(const OpCall& call) {
  const Tensor& in = call.in(0);
  ReducePlan plan = plan_reduce(in.shape(), call.attrs.integers("sum", "axes"));
  if (plan.outer == 0) return;
  for_float_types("sum", in.dtype(), [&](auto zero) {
    using T = decltype(zero);
    launch_sum(in.data<T>(), call.out(0).data<T>(), plan);
  });
}

}  // namespace samcobot::cuda
