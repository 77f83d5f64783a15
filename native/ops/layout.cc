// Validation and registration of the layout family (see native/cpu/layout.cc). The data-movement
// ops take any dtype; the resizes take floating-point tensors.
#include <algorithm>
#include <numeric>

#include "../core/op.h"
#include "../cpu/layout.h"
#include "layout_plan.h"
#ifdef SAM_COBOT_WITH_CUDA
#include "../cuda/layout.h"
#endif

namespace samcobot {
namespace {

constexpr int64_t kMaxSize = (int64_t(1) << 31) - 1;  // largest height, width, window or row count (int on CUDA)
constexpr size_t kMaxConcatInputs = 64;

// A (possibly negative) axis of `t`, normalised.
int axis_of(const std::string& op, const Tensor& t, const Attrs& attrs) {
  if (t.rank() == 0) fail("ERR_SHAPE", op, "a tensor of rank 1 or more", "the input", shape_string(t.shape()));
  int64_t axis = attrs.integer(op, "axis", -t.rank(), t.rank() - 1);
  return static_cast<int>(axis < 0 ? axis + t.rank() : axis);
}

std::vector<TensorSpec> validate_permute(const std::vector<Tensor>& in, const Attrs& attrs) {
  expect_inputs("permute", in, 1, 1);
  const Tensor& x = in[0];
  if (x.rank() > kMaxRank) fail("ERR_SHAPE", "permute", "a tensor of rank 8 or less", "the input", shape_string(x.shape()));
  std::vector<int64_t> dims = attrs.integers("permute", "dims");
  std::vector<bool> seen(x.rank(), false);
  bool valid = int(dims.size()) == x.rank();
  for (int64_t d : dims) {
    if (!valid || d < 0 || d >= x.rank() || seen[d]) { valid = false; break; }
    seen[d] = true;
  }
  if (!valid)
    fail("ERR_ARGUMENT", "permute", "a permutation of 0.." + std::to_string(x.rank() - 1) + " (input " + shape_string(x.shape()) + ")",
         "attribute 'dims'", shape_string(dims));
  Shape out;
  for (int64_t d : dims) out.push_back(x.dim(int(d)));
  return {{out, x.dtype()}};
}

std::vector<TensorSpec> validate_split(const std::vector<Tensor>& in, const Attrs& attrs) {
  expect_inputs("split", in, 1, 1);
  const Tensor& x = in[0];
  int axis = axis_of("split", x, attrs);
  std::vector<int64_t> sizes = attrs.integers("split", "sizes");
  bool non_negative = std::all_of(sizes.begin(), sizes.end(), [](int64_t s) { return s >= 0; });
  if (sizes.empty() || !non_negative || std::accumulate(sizes.begin(), sizes.end(), int64_t(0)) != x.dim(axis))
    fail("ERR_ARGUMENT", "split", "non-negative sizes summing to " + std::to_string(x.dim(axis)) + " (axis " + std::to_string(axis) + " of " +
         shape_string(x.shape()) + ")", "attribute 'sizes'", shape_string(sizes));
  std::vector<TensorSpec> out;
  for (int64_t s : sizes) {
    Shape shape = x.shape();
    shape[axis] = s;
    out.push_back({shape, x.dtype()});
  }
  return out;
}

std::vector<TensorSpec> validate_concat(const std::vector<Tensor>& in, const Attrs& attrs) {
  expect_inputs("concat", in, 1, kMaxConcatInputs);
  const Tensor& first = in[0];
  int axis = axis_of("concat", first, attrs);
  Shape out = first.shape();
  out[axis] = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    std::string name = "input " + std::to_string(i);
    expect_same_dtype("concat", name, in[i], first);
    Shape expected = first.shape();
    expected[axis] = in[i].rank() == first.rank() ? in[i].dim(axis) : -1;
    if (in[i].shape() != expected)
      fail("ERR_SHAPE", "concat", "shape " + shape_string(first.shape()) + " except along axis " + std::to_string(axis), name,
           shape_string(in[i].shape()));
    out[axis] += in[i].dim(axis);
  }
  return {{out, first.dtype()}};
}

std::vector<TensorSpec> validate_slice(const std::vector<Tensor>& in, const Attrs& attrs) {
  expect_inputs("slice", in, 1, 1);
  const Tensor& x = in[0];
  int axis = axis_of("slice", x, attrs);
  int64_t size = x.dim(axis);
  int64_t start = attrs.integer("slice", "start", 0, size);
  int64_t end = attrs.integer("slice", "end", start, size);
  Shape out = x.shape();
  out[axis] = end - start;
  return {{out, x.dtype()}};
}

std::vector<TensorSpec> validate_slice_backward(const std::vector<Tensor>& in, const Attrs& attrs) {
  expect_inputs("slice_backward", in, 1, 1);
  const Tensor& dy = in[0];
  int axis = axis_of("slice_backward", dy, attrs);
  int64_t size = attrs.integer("slice_backward", "size", dy.dim(axis), kMaxSize);
  attrs.integer("slice_backward", "start", 0, size - dy.dim(axis));
  Shape out = dy.shape();
  out[axis] = size;
  return {{out, dy.dtype()}};
}

std::vector<TensorSpec> validate_window_partition(const std::vector<Tensor>& in, const Attrs& attrs) {
  expect_inputs("window_partition", in, 1, 1);
  const Tensor& x = in[0];  // (B, H, W, C)
  expect_rank("window_partition", "x (B, H, W, C)", x, 4);
  int64_t ws = attrs.integer("window_partition", "window", 1, kMaxSize);
  int64_t windows = x.dim(0) * ((x.dim(1) + ws - 1) / ws) * ((x.dim(2) + ws - 1) / ws);
  return {{{windows, ws, ws, x.dim(3)}, x.dtype()}};  // (B·nW, ws, ws, C)
}

std::vector<TensorSpec> validate_window_unpartition(const std::vector<Tensor>& in, const Attrs& attrs) {
  const std::string op = "window_unpartition";
  expect_inputs(op, in, 1, 1);
  const Tensor& y = in[0];  // (B·nW, ws, ws, C)
  expect_rank(op, "windows (B·nW, ws, ws, C)", y, 4);
  int64_t ws = attrs.integer(op, "window", 1, kMaxSize);
  int64_t H = attrs.integer(op, "height", 1, kMaxSize), W = attrs.integer(op, "width", 1, kMaxSize);
  int64_t per_image = ((H + ws - 1) / ws) * ((W + ws - 1) / ws);
  if (y.dim(1) != ws || y.dim(2) != ws || y.dim(0) % per_image != 0)
    fail("ERR_SHAPE", op, "(B·" + std::to_string(per_image) + ", " + std::to_string(ws) + ", " + std::to_string(ws) +
         ", C) windows of a " + std::to_string(H) + "x" + std::to_string(W) + " grid", "windows", shape_string(y.shape()));
  return {{{y.dim(0) / per_image, H, W, y.dim(3)}, y.dtype()}};  // (B, H, W, C)
}

// The resizes: a (..., H, W) float tensor to (..., height, width); `rows_only` for the table resize.
std::vector<TensorSpec> validate_resize(const std::string& op, const std::vector<Tensor>& in, const Attrs& attrs, bool rows_only) {
  expect_inputs(op, in, 1, 1);
  const Tensor& x = in[0];
  expect_rank(op, rows_only ? "the table (rows, D)" : "the input (B, C, H, W)", x, rows_only ? 2 : 4);
  expect_float(op, "the input", x);
  if (x.dim(-2) == 0 || x.dim(-1) == 0) fail("ERR_SHAPE", op, "a non-empty grid", "the input", shape_string(x.shape()));
  Shape out = x.shape();
  if (rows_only) {
    out[0] = attrs.integer(op, "rows", 1, kMaxSize);
  } else {
    out[2] = attrs.integer(op, "height", 1, kMaxSize);
    out[3] = attrs.integer(op, "width", 1, kMaxSize);
  }
  return {{out, x.dtype()}};
}

}  // namespace

SAM_COBOT_OP({"permute", validate_permute, cpu::permute, CUDA_KERNEL(permute)});
SAM_COBOT_OP({"split", validate_split, cpu::split, CUDA_KERNEL(split)});
SAM_COBOT_OP({"concat", validate_concat, cpu::concat, CUDA_KERNEL(concat)});
SAM_COBOT_OP({"slice", validate_slice, cpu::slice, CUDA_KERNEL(slice)});
SAM_COBOT_OP({"slice_backward", validate_slice_backward, cpu::slice_backward, CUDA_KERNEL(slice_backward)});
SAM_COBOT_OP({"window_partition", validate_window_partition, cpu::window_partition, CUDA_KERNEL(window_partition)});
SAM_COBOT_OP({"window_unpartition", validate_window_unpartition, cpu::window_unpartition, CUDA_KERNEL(window_unpartition)});
SAM_COBOT_OP({"bilinear_resize", [](const std::vector<Tensor>& in, const Attrs& a) { return validate_resize("bilinear_resize", in, a, false); },
              cpu::bilinear_resize, CUDA_KERNEL(bilinear_resize)});
SAM_COBOT_OP({"bilinear_resize_backward", [](const std::vector<Tensor>& in, const Attrs& a) { return validate_resize("bilinear_resize_backward", in, a, false); },
              cpu::bilinear_resize_backward, CUDA_KERNEL(bilinear_resize_backward)});
SAM_COBOT_OP({"linear_resize_rows", [](const std::vector<Tensor>& in, const Attrs& a) { return validate_resize("linear_resize_rows", in, a, true); },
              cpu::bilinear_resize, CUDA_KERNEL(bilinear_resize)});
SAM_COBOT_OP({"linear_resize_rows_backward", [](const std::vector<Tensor>& in, const Attrs& a) { return validate_resize("linear_resize_rows_backward", in, a, true); },
              cpu::bilinear_resize_backward, CUDA_KERNEL(bilinear_resize_backward)});

}  // namespace samcobot
