// Layout and resampling on the CPU. Letters: B batch, C channels, H W grid, ws window size,
// nW windows per image, P planes (B·C).
//
// The data-movement ops (permute, split, concat, slice, windows) copy bytes and so serve every
// dtype. Permute runs on the simplified plan of native/ops/layout_plan.h: a copy of contiguous rows
// when the innermost dim stays innermost, else a batch of 2-D transposes in 16x16 tiles staged in a
// local buffer (contiguous reads, contiguous writes; measured 1.5-4x faster than a strided loop
// over 32x32 tiles). Split, concat and slice are pitched row copies of a tensor seen as
// (outer, axis, inner).
//
// The resizes are PyTorch's linear interpolation with align_corners=False, separable in y and x
// (sam-architecture.md section 5). The forward interpolates each source row along x once per run
// of output rows that read it, then blends two such rows. The backward owns one input row per
// task: it sums the output rows that read it (a contiguous range, as the source index never
// decreases) and spreads that one row back over x into its own row only, in a fixed order, so it
// is deterministic without atomics.
#include "layout.h"

#include <algorithm>
#include <cstring>

#include "../core/thread_pool.h"
#include "../ops/layout_plan.h"
#include "dispatch.h"

namespace samcobot::cpu {
namespace {

constexpr int64_t kChunkBytes = 1 << 16;  // work per parallel task for plain copies
constexpr int kTile = 16;  // transpose tile side (a tile of f32 is one cache line per row)

// Runs body(U{}) with U an unsigned integer of the element's size: copies need only the bytes.
template <class Body>
void for_element_size(size_t bytes, Body&& body) {
  switch (bytes) {
    case 1: body(uint8_t{}); break;
    case 2: body(uint16_t{}); break;
    case 4: body(uint32_t{}); break;
    default: body(uint64_t{}); break;
  }
}

// Copies `rows` rows of `row_bytes` between buffers whose rows start `pitch` bytes apart; long
// rows are cut into pieces so even one row spreads over the pool.
void copy_rows(const uint8_t* src, int64_t src_pitch, uint8_t* dst, int64_t dst_pitch, int64_t rows, int64_t row_bytes) {
  if (rows == 0 || row_bytes == 0) return;
  int64_t pieces = (row_bytes + kChunkBytes - 1) / kChunkBytes;
  int64_t piece_bytes = (row_bytes + pieces - 1) / pieces;
  int64_t grain = std::max<int64_t>(1, kChunkBytes / piece_bytes);
  parallel_for(rows * pieces, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      int64_t row = t / pieces, begin = (t % pieces) * piece_bytes;
      int64_t n = std::min(piece_bytes, row_bytes - begin);
      std::memcpy(dst + row * dst_pitch + begin, src + row * src_pitch + begin, size_t(n));
    }
  });
}

void zero_bytes(uint8_t* dst, int64_t bytes) {
  parallel_for(bytes, kChunkBytes, [&](int64_t lo, int64_t hi) { std::memset(dst + lo, 0, size_t(hi - lo)); });
}

// The input and output offsets of outer index `index` over the plan's dims except `skip_a` and
// `skip_b` (pass rank for "none").
void outer_offsets(const PermutePlan& p, int skip_a, int skip_b, int64_t index, int64_t* in, int64_t* out) {
  int64_t a = 0, b = 0;
  for (int d = p.rank - 1; d >= 0; --d) {
    if (d == skip_a || d == skip_b) continue;
    int64_t coord = index % p.out_dims[d];
    index /= p.out_dims[d];
    a += coord * p.in_strides[d];
    b += coord * p.out_strides[d];
  }
  *in = a;
  *out = b;
}

// The innermost dim stays innermost: every output row of out_dims[last] elements is one
// contiguous input row.
void permute_rows(const uint8_t* x, uint8_t* y, const PermutePlan& p, size_t esize) {
  int last = p.rank - 1;
  int64_t row_bytes = p.out_dims[last] * int64_t(esize);
  int64_t rows = 1;
  for (int d = 0; d < last; ++d) rows *= p.out_dims[d];
  parallel_for(rows, std::max<int64_t>(1, kChunkBytes / row_bytes), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      int64_t in, out;
      outer_offsets(p, last, p.rank, r, &in, &out);
      std::memcpy(y + out * int64_t(esize), x + in * int64_t(esize), size_t(row_bytes));
    }
  });
}

// The innermost dim moves: for each outer index, a (M, N) -> (N, M) transpose where the output's
// innermost dim (M, input stride sa) meets the input's innermost (N, output stride so). A full
// tile goes through a fixed-size buffer: contiguous reads of its rows, contiguous writes of its
// columns, loops the compiler unrolls. Edge tiles copy element by element.
template <class U>
void permute_tiles(const U* x, U* y, const PermutePlan& p) {
  int last = p.rank - 1, pos = p.input_inner_position();
  int64_t M = p.out_dims[last], N = p.out_dims[pos];
  int64_t sa = p.in_strides[last], so = p.out_strides[pos];
  int64_t tiles_m = (M + kTile - 1) / kTile, tiles_n = (N + kTile - 1) / kTile;
  int64_t outer = 1;
  for (int d = 0; d < p.rank; ++d)
    if (d != last && d != pos) outer *= p.out_dims[d];
  parallel_for(outer * tiles_m * tiles_n, 64, [&](int64_t lo, int64_t hi) {
    U tile[kTile][kTile];
    for (int64_t t = lo; t < hi; ++t) {
      int64_t tn = t % tiles_n, tm = (t / tiles_n) % tiles_m, o = t / (tiles_n * tiles_m);
      int64_t in_base, out_base;
      outer_offsets(p, last, pos, o, &in_base, &out_base);
      int64_t i0 = tm * kTile, i1 = std::min(M, i0 + kTile);
      int64_t j0 = tn * kTile, j1 = std::min(N, j0 + kTile);
      const U* src = x + in_base + i0 * sa + j0;  // src[i * sa + j] is x at (i0 + i, j0 + j)
      U* dst = y + out_base + j0 * so + i0;       // dst[j * so + i] is y at (j0 + j, i0 + i)
      if (i1 - i0 == kTile && j1 - j0 == kTile) {
        for (int i = 0; i < kTile; ++i)
          for (int j = 0; j < kTile; ++j) tile[i][j] = src[i * sa + j];
        for (int j = 0; j < kTile; ++j)
          for (int i = 0; i < kTile; ++i) dst[j * so + i] = tile[i][j];
      } else {
        for (int64_t j = 0; j < j1 - j0; ++j)
          for (int64_t i = 0; i < i1 - i0; ++i) dst[j * so + i] = src[i * sa + j];
      }
    }
  });
}

// Window partition (to_windows) or its adjoint, un-partition: window n = (b·nh + i)·nw + j holds
// x[b, i·ws + r, j·ws + c] at (r, c) (sam-architecture.md section 2.2). Partition writes zeros
// where the window covers padding; un-partition drops those positions (the crop).
void window_copy(const Tensor& x, const Tensor& windows, int64_t ws, bool to_windows) {
  int64_t B = x.dim(0), H = x.dim(1), W = x.dim(2);
  int64_t C_bytes = x.dim(3) * int64_t(dtype_size(x.dtype()));
  int64_t nh = (H + ws - 1) / ws, nw = (W + ws - 1) / ws;
  uint8_t* xp = static_cast<uint8_t*>(x.raw());
  uint8_t* wp = static_cast<uint8_t*>(windows.raw());
  int64_t window_row_bytes = ws * C_bytes;
  parallel_for(B * nh * nw * ws, std::max<int64_t>(1, kChunkBytes / std::max<int64_t>(1, window_row_bytes)), [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      int64_t r = t % ws, n = t / ws;
      int64_t j = n % nw, i = (n / nw) % nh, b = n / (nw * nh);
      int64_t h = i * ws + r;
      int64_t valid = h < H ? std::min(ws, W - j * ws) : 0;  // columns inside the image
      uint8_t* window_row = wp + t * window_row_bytes;
      uint8_t* image_row = xp + ((b * H + h) * W + j * ws) * C_bytes;
      if (to_windows) {
        if (valid > 0) std::memcpy(window_row, image_row, size_t(valid * C_bytes));
        std::memset(window_row + valid * C_bytes, 0, size_t((ws - valid) * C_bytes));
      } else if (valid > 0) {
        std::memcpy(image_row, window_row, size_t(valid * C_bytes));
      }
    }
  });
}

// A (P, Hin, Win) -> (P, Hout, Wout) resize as the kernels see it; a rank-2 table is one plane.
struct ResizeShape {
  int64_t planes, hin, win, hout, wout;
};

ResizeShape resize_shape(const Tensor& in, const Tensor& out) {
  return {in.numel() / std::max<int64_t>(1, in.dim(-2) * in.dim(-1)), in.dim(-2), in.dim(-1), out.dim(-2), out.dim(-1)};
}

template <class T>
std::vector<LinearTap<T>> taps(int64_t in, int64_t out) {
  std::vector<LinearTap<T>> t(out);
  for (int64_t o = 0; o < out; ++o) t[o] = linear_tap<T>(o, in, out);
  return t;
}

// Input rows interpolated along x, for the two source rows an output row reads. Consecutive output
// rows mostly read the same source rows when upsampling, so each is interpolated once.
template <class T>
class HorizontalRows {
 public:
  HorizontalRows(const T* x, const std::vector<LinearTap<T>>& tx, int64_t win)
      : x_(x), tx_(tx), win_(win), rows_(2 * tx.size()) {}

  // Source row `row` (plane·Hin + iy) interpolated to Wout; keeps the row `keep` if cached.
  const T* get(int64_t row, int64_t keep) {
    int64_t wout = static_cast<int64_t>(tx_.size());
    for (int s = 0; s < 2; ++s)
      if (key_[s] == row) return rows_.data() + s * wout;
    int s = key_[0] == keep ? 1 : 0;
    T* out = rows_.data() + s * wout;
    const T* in = x_ + row * win_;
    for (int64_t ox = 0; ox < wout; ++ox) {
      const LinearTap<T>& u = tx_[ox];
      out[ox] = (T(1) - u.lambda) * in[u.i0] + u.lambda * in[u.i1];
    }
    key_[s] = row;
    return out;
  }

 private:
  const T* x_;
  const std::vector<LinearTap<T>>& tx_;
  int64_t win_;
  std::vector<T> rows_;     // (2, Wout)
  int64_t key_[2] = {-1, -1};
};

template <class T>
void resize_forward(const T* x, T* y, const ResizeShape& s) {
  std::vector<LinearTap<T>> tx = taps<T>(s.win, s.wout), ty = taps<T>(s.hin, s.hout);
  parallel_for(s.planes * s.hout, std::max<int64_t>(1, 16384 / s.wout), [&](int64_t lo, int64_t hi) {
    HorizontalRows<T> rows(x, tx, s.win);
    for (int64_t t = lo; t < hi; ++t) {
      int64_t p = t / s.hout;
      const LinearTap<T>& v = ty[t % s.hout];
      int64_t r0 = p * s.hin + v.i0, r1 = p * s.hin + v.i1;
      const T* top = rows.get(r0, r1);
      const T* bottom = rows.get(r1, r0);
      T* out = y + t * s.wout;
      for (int64_t ox = 0; ox < s.wout; ++ox) out[ox] = (T(1) - v.lambda) * top[ox] + v.lambda * bottom[ox];
    }
  });
}

// The transpose of the forward, one input row per task: first the output rows that read iy (a
// contiguous range, as i0 never decreases) are summed with their weights into one row of Wout,
// then that row is spread over x with the same taps, into this task's own row only.
template <class T>
void resize_backward(const T* dy, T* dx, const ResizeShape& s) {
  std::vector<LinearTap<T>> tx = taps<T>(s.win, s.wout), ty = taps<T>(s.hin, s.hout);
  parallel_for(s.planes * s.hin, std::max<int64_t>(1, 16384 / s.wout), [&](int64_t lo, int64_t hi) {
    std::vector<T> combined(s.wout);  // (Wout)
    for (int64_t t = lo; t < hi; ++t) {
      int64_t p = t / s.hin, iy = t % s.hin;
      std::fill(combined.begin(), combined.end(), T(0));
      auto first = std::lower_bound(ty.begin(), ty.end(), iy - 1, [](const LinearTap<T>& v, int64_t i) { return v.i0 < i; });
      for (auto v = first; v != ty.end() && v->i0 <= iy; ++v) {
        T wy = linear_weight(*v, iy);
        const T* g = dy + (p * s.hout + (v - ty.begin())) * s.wout;
        for (int64_t ox = 0; ox < s.wout; ++ox) combined[ox] += wy * g[ox];
      }
      T* out = dx + t * s.win;
      std::fill(out, out + s.win, T(0));
      for (int64_t ox = 0; ox < s.wout; ++ox) {
        const LinearTap<T>& u = tx[ox];
        out[u.i0] += (T(1) - u.lambda) * combined[ox];
        out[u.i1] += u.lambda * combined[ox];
      }
    }
  });
}

}  // namespace

void permute(const OpCall& call) {
  const Tensor& x = call.in(0);
  const Tensor& y = call.out(0);
  if (x.numel() == 0) return;
  PermutePlan p = plan_permute(x.shape(), call.attrs.integers(call.name, "dims"));
  const uint8_t* src = static_cast<const uint8_t*>(x.raw());
  uint8_t* dst = static_cast<uint8_t*>(y.raw());
  size_t esize = dtype_size(x.dtype());
  if (p.plain_copy()) copy_rows(src, 0, dst, 0, 1, int64_t(x.bytes()));
  else if (p.inner_kept()) permute_rows(src, dst, p, esize);
  else for_element_size(esize, [&](auto unit) {
    using U = decltype(unit);
    permute_tiles(static_cast<const U*>(x.raw()), static_cast<U*>(y.raw()), p);
  });
}

// split and concat: piece k is rows of sizes[k]·inner elements at column offset[k] of each
// (outer) row of the whole tensor.
void split(const OpCall& call) {
  const Tensor& x = call.in(0);
  int axis = static_cast<int>(call.attrs.integer(call.name, "axis", -x.rank(), x.rank() - 1));
  if (axis < 0) axis += x.rank();
  AxisView v = axis_view(x.shape(), axis);
  int64_t esize = int64_t(dtype_size(x.dtype())), pitch = v.size * v.inner * esize, offset = 0;
  for (const Tensor& piece : call.outputs) {
    int64_t row_bytes = piece.dim(axis) * v.inner * esize;
    copy_rows(static_cast<const uint8_t*>(x.raw()) + offset, pitch, static_cast<uint8_t*>(piece.raw()), row_bytes, v.outer, row_bytes);
    offset += row_bytes;
  }
}

void concat(const OpCall& call) {
  const Tensor& y = call.out(0);
  int axis = static_cast<int>(call.attrs.integer(call.name, "axis", -y.rank(), y.rank() - 1));
  if (axis < 0) axis += y.rank();
  AxisView v = axis_view(y.shape(), axis);
  int64_t esize = int64_t(dtype_size(y.dtype())), pitch = v.size * v.inner * esize, offset = 0;
  for (const Tensor& piece : call.inputs) {
    int64_t row_bytes = piece.dim(axis) * v.inner * esize;
    copy_rows(static_cast<const uint8_t*>(piece.raw()), row_bytes, static_cast<uint8_t*>(y.raw()) + offset, pitch, v.outer, row_bytes);
    offset += row_bytes;
  }
}

void slice(const OpCall& call) {
  const Tensor& x = call.in(0);
  int axis = static_cast<int>(call.attrs.integer(call.name, "axis", -x.rank(), x.rank() - 1));
  if (axis < 0) axis += x.rank();
  AxisView v = axis_view(x.shape(), axis);
  int64_t esize = int64_t(dtype_size(x.dtype()));
  int64_t start = call.attrs.integer(call.name, "start", 0, v.size);
  int64_t row_bytes = call.out(0).dim(axis) * v.inner * esize;
  copy_rows(static_cast<const uint8_t*>(x.raw()) + start * v.inner * esize, v.size * v.inner * esize,
            static_cast<uint8_t*>(call.out(0).raw()), row_bytes, v.outer, row_bytes);
}

void slice_backward(const OpCall& call) {
  const Tensor& dy = call.in(0);
  const Tensor& dx = call.out(0);
  int axis = static_cast<int>(call.attrs.integer(call.name, "axis", -dy.rank(), dy.rank() - 1));
  if (axis < 0) axis += dy.rank();
  AxisView v = axis_view(dx.shape(), axis);
  int64_t esize = int64_t(dtype_size(dy.dtype()));
  int64_t start = call.attrs.integer(call.name, "start", 0, v.size);
  int64_t row_bytes = dy.dim(axis) * v.inner * esize;
  zero_bytes(static_cast<uint8_t*>(dx.raw()), int64_t(dx.bytes()));
  copy_rows(static_cast<const uint8_t*>(dy.raw()), row_bytes, static_cast<uint8_t*>(dx.raw()) + start * v.inner * esize,
            v.size * v.inner * esize, v.outer, row_bytes);
}

void window_partition(const OpCall& call) {
  window_copy(call.in(0), call.out(0), call.attrs.integer(call.name, "window", 1, int64_t(1) << 31), true);
}

void window_unpartition(const OpCall& call) {
  window_copy(call.out(0), call.in(0), call.attrs.integer(call.name, "window", 1, int64_t(1) << 31), false);
}

void bilinear_resize(const OpCall& call) {
  ResizeShape s = resize_shape(call.in(0), call.out(0));
  for_float_types(call.name, call.in(0).dtype(), [&](auto zero) {
    using T = decltype(zero);
    resize_forward(call.in(0).data<T>(), call.out(0).data<T>(), s);
  });
}

void bilinear_resize_backward(const OpCall& call) {
  ResizeShape s = resize_shape(call.out(0), call.in(0));
  for_float_types(call.name, call.in(0).dtype(), [&](auto zero) {
    using T = decltype(zero);
    resize_backward(call.in(0).data<T>(), call.out(0).data<T>(), s);
  });
}

}  // namespace samcobot::cpu
