// Layout and resampling on CUDA (twins of native/cpu/layout.cc). Letters: B batch, C channels,
// H W grid, ws window size, P planes (B·C).
//
// All of it is memory-bound, so the kernels are about coalescing:
// - permute with the innermost dim kept (SAM's qkv split into heads, the heads merge): each output
//   row is one contiguous input row; threads copy rows in 16-byte units where the row size allows,
//   so a warp moves whole 512-byte segments on both sides.
// - permute that moves the innermost dim: 32x32 tiles staged in shared memory (padded by one column
//   against bank conflicts), read along the input's rows and written along the output's.
// - split, concat and slice are pitched row copies: cudaMemcpy2DAsync on the stream.
// - windows: one thread per 16-byte unit of a window's channels (contiguous on both sides).
// - bilinear forward: one thread per output; backward: one thread per input element gathers from
//   the outputs that read it (a short contiguous range per axis), in a fixed order: deterministic,
//   no atomics. Coordinates come from linear_tap (native/ops/layout_plan.h), rounded as on the CPU,
//   and the interpolation uses unfused products so f32 forwards match the CPU bit for bit.
// Index arithmetic is 32-bit when the tensor is small enough (64-bit division is several times
// slower on the GPU).
#include <algorithm>
#include <cstdint>

#include "../ops/layout_plan.h"
#include "dtype.cuh"
#include "layout.h"
#include "runtime.h"

namespace samcobot::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kTile = 32;
constexpr int kTileRows = 8;

// Runs body(I{}) with the narrowest index type that covers n elements with a grid-stride loop.
template <class Body>
void for_index_type(int64_t n, Body&& body) {
  if (n < (int64_t(1) << 30)) body(int32_t{});
  else body(int64_t{});
}

// Runs body(U{}) with the widest unit (up to 16 bytes) that divides `bytes` and the pointers.
template <class Body>
void for_unit(int64_t bytes, const void* a, const void* b, Body&& body) {
  uint64_t align = uint64_t(bytes) | reinterpret_cast<uintptr_t>(a) | reinterpret_cast<uintptr_t>(b) | 16;
  switch (align & (~align + 1)) {  // lowest set bit
    case 1: body(uint8_t{}); break;
    case 2: body(uint16_t{}); break;
    case 4: body(uint32_t{}); break;
    case 8: body(uint2{}); break;
    default: body(uint4{}); break;
  }
}

template <class Body>
void for_element_size(size_t bytes, Body&& body) {
  switch (bytes) {
    case 1: body(uint8_t{}); break;
    case 2: body(uint16_t{}); break;
    default: body(uint32_t{}); break;
  }
}

// The permute plan in the kernel's index type.
template <class I>
struct DevicePlan {
  int rank;
  I out_dims[kMaxRank], in_strides[kMaxRank], out_strides[kMaxRank];
};

template <class I>
DevicePlan<I> device_plan(const PermutePlan& p) {
  DevicePlan<I> d{};
  d.rank = p.rank;
  for (int i = 0; i < p.rank; ++i) {
    d.out_dims[i] = static_cast<I>(p.out_dims[i]);
    d.in_strides[i] = static_cast<I>(p.in_strides[i]);
    d.out_strides[i] = static_cast<I>(p.out_strides[i]);
  }
  return d;
}

// Offsets of outer index `index` over the plan's dims except skip_a and skip_b.
template <class I>
__device__ inline void outer_offsets(const DevicePlan<I>& p, int skip_a, int skip_b, I index, I* in, I* out) {
  I a = 0, b = 0;
  for (int d = p.rank - 1; d >= 0; --d) {
    if (d == skip_a || d == skip_b) continue;
    I coord = index % p.out_dims[d];
    index /= p.out_dims[d];
    a += coord * p.in_strides[d];
    b += coord * p.out_strides[d];
  }
  *in = a;
  *out = b;
}

// Innermost dim kept: output unit u is unit k of row r; the row starts at the input element the
// plan gives, which is a whole number of units as every row is.
template <class U, class I>
__global__ void permute_rows_kernel(const U* x, U* y, DevicePlan<I> p, I units, I units_per_row, I elements_per_unit) {
  for (I u = blockIdx.x * I(blockDim.x) + threadIdx.x; u < units; u += I(gridDim.x) * blockDim.x) {
    I row = u / units_per_row, in, out;
    outer_offsets(p, p.rank - 1, p.rank, row, &in, &out);
    y[u] = x[in / elements_per_unit + (u - row * units_per_row)];
  }
}

// Innermost dim moved: block (blockIdx.x) is one 32x32 tile of the (M, N) -> (N, M) transpose of
// every outer index blockIdx.y, blockIdx.y + gridDim.y, ...
template <class U, class I>
__global__ void permute_tiles_kernel(const U* x, U* y, DevicePlan<I> p, int pos, I outer, I tiles_n) {
  __shared__ U tile[kTile][kTile + 1];
  int last = p.rank - 1;
  I M = p.out_dims[last], N = p.out_dims[pos], sa = p.in_strides[last], so = p.out_strides[pos];
  I i0 = I(blockIdx.x / tiles_n) * kTile, j0 = I(blockIdx.x % tiles_n) * kTile;
  for (I o = blockIdx.y; o < outer; o += gridDim.y) {
    I in_base, out_base;
    outer_offsets(p, last, pos, o, &in_base, &out_base);
    for (int k = threadIdx.y; k < kTile; k += kTileRows) {
      I i = i0 + k, j = j0 + threadIdx.x;
      if (i < M && j < N) tile[k][threadIdx.x] = x[in_base + i * sa + j];
    }
    __syncthreads();
    for (int k = threadIdx.y; k < kTile; k += kTileRows) {
      I j = j0 + k, i = i0 + threadIdx.x;
      if (i < M && j < N) y[out_base + j * so + i] = tile[threadIdx.x][k];
    }
    __syncthreads();
  }
}

// `rows` rows of `row_bytes` between pitched buffers; one plain copy when both are packed.
void copy_rows(const void* src, int64_t src_pitch, void* dst, int64_t dst_pitch, int64_t rows, int64_t row_bytes) {
  if (rows == 0 || row_bytes == 0) return;
  if (rows == 1 || (src_pitch == row_bytes && dst_pitch == row_bytes))
    CUDA_CHECK(cudaMemcpyAsync(dst, src, size_t(rows * row_bytes), cudaMemcpyDeviceToDevice, stream()));
  else
    CUDA_CHECK(cudaMemcpy2DAsync(dst, size_t(dst_pitch), src, size_t(src_pitch), size_t(row_bytes), size_t(rows), cudaMemcpyDeviceToDevice, stream()));
}

int normalized_axis(const OpCall& call, int rank) {
  int64_t axis = call.attrs.integer(call.name, "axis", -rank, rank - 1);
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

// Window n = (b·nh + i)·nw + j holds x[b, i·ws + r, j·ws + c] at (r, c). One thread per unit of
// the windows tensor; partition (kToWindows) writes zeros over the padding, un-partition skips it.
template <class U, class I, bool kToWindows>
__global__ void window_kernel(U* x, U* windows, I H, I W, I units_c, I ws, I nh, I nw, I total) {
  for (I t = blockIdx.x * I(blockDim.x) + threadIdx.x; t < total; t += I(gridDim.x) * blockDim.x) {
    I k = t % units_c, rest = t / units_c;
    I c = rest % ws;
    rest /= ws;
    I r = rest % ws, n = rest / ws;
    I j = n % nw, i = (n / nw) % nh, b = n / (nw * nh);
    I h = i * ws + r, w = j * ws + c;
    bool inside = h < H && w < W;
    I image = ((b * H + h) * W + w) * units_c + k;
    if (kToWindows) windows[t] = inside ? x[image] : U{};
    else if (inside) x[image] = windows[t];
  }
}

void window_copy(const Tensor& x, const Tensor& windows, int64_t ws, bool to_windows) {
  int64_t H = x.dim(1), W = x.dim(2), C_bytes = x.dim(3) * int64_t(dtype_size(x.dtype()));
  int64_t nh = (H + ws - 1) / ws, nw = (W + ws - 1) / ws;
  if (windows.numel() == 0) return;
  for_unit(C_bytes, x.raw(), windows.raw(), [&](auto unit) {
    using U = decltype(unit);
    int64_t units_c = C_bytes / int64_t(sizeof(U)), total = int64_t(windows.bytes()) / int64_t(sizeof(U));
    for_index_type(std::max<int64_t>(total, x.numel()), [&](auto index) {
      using I = decltype(index);
      auto kernel = to_windows ? window_kernel<U, I, true> : window_kernel<U, I, false>;
      kernel<<<grid_for(total, kThreads), kThreads, 0, stream()>>>(static_cast<U*>(x.raw()), static_cast<U*>(windows.raw()), I(H), I(W),
                                                                  I(units_c), I(ws), I(nh), I(nw), I(total));
      CUDA_CHECK_LAUNCH();
    });
  });
}

struct ResizeShape {
  int64_t planes;
  int hin, win, hout, wout;
};

ResizeShape resize_shape(const Tensor& in, const Tensor& out) {
  int64_t hin = in.dim(-2), win = in.dim(-1);
  return {in.numel() / (hin * win), int(hin), int(win), int(out.dim(-2)), int(out.dim(-1))};
}

// (1 - lambda) a + lambda b with each product rounded, as the CPU computes it.
__device__ inline float lerp_rn(float a, float b, float lambda) {
  return __fadd_rn(__fmul_rn(1.0f - lambda, a), __fmul_rn(lambda, b));
}

template <class T, class I>
__global__ void resize_forward_kernel(const T* x, T* y, ResizeShape s, I total) {
  for (I t = blockIdx.x * I(blockDim.x) + threadIdx.x; t < total; t += I(gridDim.x) * blockDim.x) {
    I ox = t % s.wout, rest = t / s.wout;
    I oy = rest % s.hout, p = rest / s.hout;
    LinearTap<float> v = linear_tap<float>(oy, s.hin, s.hout), u = linear_tap<float>(ox, s.win, s.wout);
    const T* row0 = x + (p * s.hin + I(v.i0)) * s.win;
    const T* row1 = x + (p * s.hin + I(v.i1)) * s.win;
    float top = lerp_rn(to_float(row0[u.i0]), to_float(row0[u.i1]), u.lambda);
    float bottom = lerp_rn(to_float(row1[u.i0]), to_float(row1[u.i1]), u.lambda);
    y[t] = from_float<T>(lerp_rn(top, bottom, v.lambda));
  }
}

// dx[p, iy, ix] = sum over oy reading iy, ox reading ix of w(oy, iy) w(ox, ix) dy[p, oy, ox].
template <class T, class I>
__global__ void resize_backward_kernel(const T* dy, T* dx, ResizeShape s, I total) {
  for (I t = blockIdx.x * I(blockDim.x) + threadIdx.x; t < total; t += I(gridDim.x) * blockDim.x) {
    I ix = t % s.win, rest = t / s.win;
    I iy = rest % s.hin, p = rest / s.hin;
    int ox_first = int(first_reader(ix, s.win, s.wout));
    float acc = 0.0f;
    for (int oy = int(first_reader(iy, s.hin, s.hout)); oy < s.hout; ++oy) {
      LinearTap<float> v = linear_tap<float>(oy, s.hin, s.hout);
      if (v.i0 > iy) break;
      float wy = linear_weight(v, int64_t(iy));
      if (wy == 0.0f) continue;
      const T* g = dy + (p * s.hout + oy) * I(s.wout);
      float row = 0.0f;
      for (int ox = ox_first; ox < s.wout; ++ox) {
        LinearTap<float> u = linear_tap<float>(ox, s.win, s.wout);
        if (u.i0 > ix) break;
        row = __fadd_rn(row, __fmul_rn(linear_weight(u, int64_t(ix)), to_float(g[ox])));
      }
      acc = __fadd_rn(acc, __fmul_rn(wy, row));
    }
    dx[t] = from_float<T>(acc);
  }
}

template <bool kBackward>
void launch_resize(const OpCall& call) {
  const Tensor& out = call.out(0);
  ResizeShape s = kBackward ? resize_shape(out, call.in(0)) : resize_shape(call.in(0), out);
  int64_t total = out.numel();
  if (total == 0) return;
  for_float_types(call.name, out.dtype(), [&](auto zero) {
    using T = decltype(zero);
    for_index_type(std::max<int64_t>(total, call.in(0).numel()), [&](auto index) {
      using I = decltype(index);
      auto kernel = kBackward ? resize_backward_kernel<T, I> : resize_forward_kernel<T, I>;
      kernel<<<grid_for(total, kThreads), kThreads, 0, stream()>>>(call.in(0).data<T>(), out.data<T>(), s, I(total));
      CUDA_CHECK_LAUNCH();
    });
  });
}

}  // namespace

void permute(const OpCall& call) {
  const Tensor& x = call.in(0);
  const Tensor& y = call.out(0);
  if (x.numel() == 0) return;
  PermutePlan plan = plan_permute(x.shape(), call.attrs.integers(call.name, "dims"));
  size_t esize = dtype_size(x.dtype());
  if (plan.plain_copy()) {
    copy_rows(x.raw(), 0, y.raw(), 0, 1, int64_t(x.bytes()));
    return;
  }
  for_index_type(x.numel(), [&](auto index) {
    using I = decltype(index);
    DevicePlan<I> p = device_plan<I>(plan);
    if (plan.inner_kept()) {
      int64_t row_bytes = plan.out_dims[plan.rank - 1] * int64_t(esize);
      for_unit(row_bytes, x.raw(), y.raw(), [&](auto unit) {
        using U = decltype(unit);
        int64_t units = int64_t(x.bytes() / sizeof(U));
        permute_rows_kernel<<<grid_for(units, kThreads), kThreads, 0, stream()>>>(
            static_cast<const U*>(x.raw()), static_cast<U*>(y.raw()), p, I(units), I(row_bytes / int64_t(sizeof(U))), I(sizeof(U) / esize));
        CUDA_CHECK_LAUNCH();
      });
      return;
    }
    int pos = plan.input_inner_position();
    int64_t M = plan.out_dims[plan.rank - 1], N = plan.out_dims[pos];
    int64_t tiles_n = (N + kTile - 1) / kTile, tiles = ((M + kTile - 1) / kTile) * tiles_n;
    int64_t outer = x.numel() / (M * N);
    dim3 grid(static_cast<unsigned>(tiles), static_cast<unsigned>(std::min<int64_t>(outer, 65535)));
    for_element_size(esize, [&](auto element) {
      using U = decltype(element);
      permute_tiles_kernel<<<grid, dim3(kTile, kTileRows), 0, stream()>>>(static_cast<const U*>(x.raw()), static_cast<U*>(y.raw()), p, pos,
                                                                           I(outer), I(tiles_n));
      CUDA_CHECK_LAUNCH();
    });
  });
}

void split(const OpCall& call) {
  const Tensor& x = call.in(0);
  int axis = normalized_axis(call, x.rank());
  AxisView v = axis_view(x.shape(), axis);
  int64_t esize = int64_t(dtype_size(x.dtype())), pitch = v.size * v.inner * esize, offset = 0;
  for (const Tensor& piece : call.outputs) {
    int64_t row_bytes = piece.dim(axis) * v.inner * esize;
    copy_rows(static_cast<const uint8_t*>(x.raw()) + offset, pitch, piece.raw(), row_bytes, v.outer, row_bytes);
    offset += row_bytes;
  }
}

void concat(const OpCall& call) {
  const Tensor& y = call.out(0);
  int axis = normalized_axis(call, y.rank());
  AxisView v = axis_view(y.shape(), axis);
  int64_t esize = int64_t(dtype_size(y.dtype())), pitch = v.size * v.inner * esize, offset = 0;
  for (const Tensor& piece : call.inputs) {
    int64_t row_bytes = piece.dim(axis) * v.inner * esize;
    copy_rows(piece.raw(), row_bytes, static_cast<uint8_t*>(y.raw()) + offset, pitch, v.outer, row_bytes);
    offset += row_bytes;
  }
}

void slice(const OpCall& call) {
  const Tensor& x = call.in(0);
  int axis = normalized_axis(call, x.rank());
  AxisView v = axis_view(x.shape(), axis);
  int64_t esize = int64_t(dtype_size(x.dtype()));
  int64_t start = call.attrs.integer(call.name, "start", 0, v.size);
  int64_t row_bytes = call.out(0).dim(axis) * v.inner * esize;
  copy_rows(static_cast<const uint8_t*>(x.raw()) + start * v.inner * esize, v.size * v.inner * esize, call.out(0).raw(), row_bytes, v.outer,
            row_bytes);
}

void slice_backward(const OpCall& call) {
  const Tensor& dy = call.in(0);
  const Tensor& dx = call.out(0);
  int axis = normalized_axis(call, dy.rank());
  AxisView v = axis_view(dx.shape(), axis);
  int64_t esize = int64_t(dtype_size(dy.dtype()));
  int64_t start = call.attrs.integer(call.name, "start", 0, v.size);
  int64_t row_bytes = dy.dim(axis) * v.inner * esize;
  if (dx.bytes() > 0) CUDA_CHECK(cudaMemsetAsync(dx.raw(), 0, dx.bytes(), stream()));
  copy_rows(dy.raw(), row_bytes, static_cast<uint8_t*>(dx.raw()) + start * v.inner * esize, v.size * v.inner * esize, v.outer, row_bytes);
}

void window_partition(const OpCall& call) {
  window_copy(call.in(0), call.out(0), call.attrs.integer(call.name, "window", 1, INT32_MAX), true);
}

void window_unpartition(const OpCall& call) {
  window_copy(call.out(0), call.in(0), call.attrs.integer(call.name, "window", 1, INT32_MAX), false);
}

void bilinear_resize(const OpCall& call) { launch_resize<false>(call); }

void bilinear_resize_backward(const OpCall& call) { launch_resize<true>(call); }

}  // namespace samcobot::cuda
