// Validation and registration of the convolution ops (geometry: conv_shape.h; kernels:
// native/cpu/conv.cc, native/cuda/conv.cu).
//   conv2d                    [x (B, Cin, H, W), w (Cout, Cin, kh, kw), bias (Cout)?] {stride, padding} -> [y (B, Cout, Ho, Wo)]
//   conv2d_backward           [dy, x, w] {stride, padding, needInput, needWeight, needBias} -> [dx, dw, db] (requested ones)
//   conv_transpose2d          [x (B, Cin, H, W), w (Cin, Cout, kh, kw), bias (Cout)?] {stride, padding}
//                             -> [y (B, Cout, (H − 1)·sh − 2ph + kh, (W − 1)·sw − 2pw + kw)]
//   conv_transpose2d_backward [dy, x, w] {stride, padding, needInput, needWeight, needBias} -> [dx, dw, db] (requested ones)
// stride and padding are an integer or [h, w]; defaults 1 and 0.
#include "../core/op.h"
#include "../cpu/conv.h"
#include "conv_shape.h"
#ifdef SAM_COBOT_WITH_CUDA
#include "../cuda/conv.h"
#endif

namespace samcobot {
namespace {

constexpr int64_t kMaxStep = int64_t(1) << 20;

std::string list_text(const std::vector<double>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + to_text(v[i]);
  return s + "]";
}

// stride or padding: an integer for both axes, or [h, w].
void read_pair(const std::string& op, const Attrs& attrs, const std::string& key, int64_t fallback, int64_t lo, int64_t* h, int64_t* w) {
  const std::string name = "attribute '" + key + "'";
  const std::string what = "an integer in [" + std::to_string(lo) + ", " + std::to_string(kMaxStep) + "] or a list [h, w] of them";
  auto valid = [&](double e) { return e >= double(lo) && e <= double(kMaxStep) && e == static_cast<double>(static_cast<int64_t>(e)); };
  if (attrs.lists.count(key)) {
    const std::vector<double>& v = attrs.lists.at(key);
    if (v.size() != 2 || !valid(v[0]) || !valid(v[1])) fail("ERR_ARGUMENT", op, what, name, list_text(v));
    *h = static_cast<int64_t>(v[0]);
    *w = static_cast<int64_t>(v[1]);
  } else if (attrs.strings.count(key)) {
    fail("ERR_ARGUMENT", op, what, name, "'" + attrs.strings.at(key) + "'");
  } else if (attrs.numbers.count(key)) {
    double v = attrs.numbers.at(key);
    if (!valid(v)) fail("ERR_ARGUMENT", op, what, name, to_text(v));
    *h = *w = static_cast<int64_t>(v);
  } else {
    *h = *w = fallback;
  }
}

void read_steps(const std::string& op, const Attrs& attrs, ConvGeometry* g) {
  read_pair(op, attrs, "stride", 1, 1, &g->sh, &g->sw);
  read_pair(op, attrs, "padding", 0, 0, &g->ph, &g->pw);
}

// x and w: rank 4, same float dtype (f32 on CUDA), non-empty kernel and channels.
void check_operands(const std::string& op, const Tensor& x, const Tensor& w) {
  expect_float(op, "x", x);
  expect_rank(op, "x (B, C, H, W)", x, 4);
  expect_same_dtype(op, "w", w, x);
  expect_rank(op, "w", w, 4);
  if (x.device() == Device::Cuda && x.dtype() != DType::F32)
    fail("ERR_DTYPE", op, "f32 on CUDA (the convolution kernels are f32)", "x", dtype_name(x.dtype()));
  for (int d = 0; d < 4; ++d)
    if (w.dim(d) < 1) fail("ERR_SHAPE", op, "a weight with no zero dimension", "w", shape_string(w.shape()));
  if (x.dim(1) < 1) fail("ERR_SHAPE", op, "at least one channel", "x", shape_string(x.shape()));
}

std::string steps_text(const ConvGeometry& g) {
  return "kernel [" + std::to_string(g.kh) + "," + std::to_string(g.kw) + "], stride [" + std::to_string(g.sh) + "," + std::to_string(g.sw) +
         "], padding [" + std::to_string(g.ph) + "," + std::to_string(g.pw) + "]";
}

void check_bias(const std::string& op, const std::vector<Tensor>& in, int64_t channels) {
  if (in.size() < 3) return;
  expect_same_dtype(op, "bias", in[2], in[0]);
  expect_shape(op, "bias", in[2], {channels});
}

Shape image_shape(const ConvGeometry& g) { return {g.batch, g.in_channels, g.in_h, g.in_w}; }
Shape map_shape(const ConvGeometry& g) { return {g.batch, g.out_channels, g.out_h, g.out_w}; }

// The backward ops' outputs [dx, dw, db] (requested ones), after checking dy.
std::vector<TensorSpec> backward_outputs(const std::string& op, const std::vector<Tensor>& in, const Shape& dy_shape, int64_t bias_channels,
                                         const Attrs& attrs) {
  expect_same_dtype(op, "dy", in[0], in[1]);
  expect_shape(op, "dy", in[0], dy_shape);
  ConvGrads grads = conv_grads(attrs);
  if (!grads.input && !grads.weight && !grads.bias)
    fail("ERR_ARGUMENT", op, "at least one of needInput, needWeight, needBias", "the attributes", "none requested");
  std::vector<TensorSpec> out;
  if (grads.input) out.push_back({in[1].shape(), in[1].dtype()});
  if (grads.weight) out.push_back({in[2].shape(), in[2].dtype()});
  if (grads.bias) out.push_back({{bias_channels}, in[1].dtype()});
  return out;
}

std::vector<TensorSpec> validate_conv2d(const std::vector<Tensor>& in, const Attrs& attrs) {
  expect_inputs("conv2d", in, 2, 3);
  ConvGeometry g = conv2d_geometry("conv2d", in[0], in[1], attrs);
  check_bias("conv2d", in, g.out_channels);
  return {{map_shape(g), in[0].dtype()}};
}

std::vector<TensorSpec> validate_conv2d_backward(const std::vector<Tensor>& in, const Attrs& attrs) {
  const std::string op = "conv2d_backward";
  expect_inputs(op, in, 3, 3);
  ConvGeometry g = conv2d_geometry(op, in[1], in[2], attrs);
  return backward_outputs(op, in, map_shape(g), g.out_channels, attrs);
}

std::vector<TensorSpec> validate_conv_transpose2d(const std::vector<Tensor>& in, const Attrs& attrs) {
  expect_inputs("conv_transpose2d", in, 2, 3);
  ConvGeometry g = conv_transpose2d_geometry("conv_transpose2d", in[0], in[1], attrs);
  check_bias("conv_transpose2d", in, g.in_channels);
  return {{image_shape(g), in[0].dtype()}};
}

std::vector<TensorSpec> validate_conv_transpose2d_backward(const std::vector<Tensor>& in, const Attrs& attrs) {
  const std::string op = "conv_transpose2d_backward";
  expect_inputs(op, in, 3, 3);
  ConvGeometry g = conv_transpose2d_geometry(op, in[1], in[2], attrs);
  return backward_outputs(op, in, image_shape(g), g.in_channels, attrs);
}

}  // namespace

ConvGrads conv_grads(const Attrs& attrs) {
  ConvGrads g;
  g.input = attrs.number_or("needInput", 1) != 0;
  g.weight = attrs.number_or("needWeight", 1) != 0;
  g.bias = attrs.number_or("needBias", 0) != 0;
  return g;
}

ConvGeometry conv2d_geometry(const std::string& op, const Tensor& x, const Tensor& w, const Attrs& attrs) {
  check_operands(op, x, w);
  if (w.dim(1) != x.dim(1))
    fail("ERR_SHAPE", op, "a weight (Cout, " + std::to_string(x.dim(1)) + ", kh, kw) matching x's channels", "w", shape_string(w.shape()));
  ConvGeometry g;
  g.batch = x.dim(0);
  g.in_channels = x.dim(1);
  g.in_h = x.dim(2);
  g.in_w = x.dim(3);
  g.out_channels = w.dim(0);
  g.kh = w.dim(2);
  g.kw = w.dim(3);
  read_steps(op, attrs, &g);
  if (g.in_h + 2 * g.ph < g.kh || g.in_w + 2 * g.pw < g.kw)
    fail("ERR_SHAPE", op, "an image at least as large as the kernel after padding (" + steps_text(g) + ")", "x", shape_string(x.shape()));
  g.out_h = (g.in_h + 2 * g.ph - g.kh) / g.sh + 1;
  g.out_w = (g.in_w + 2 * g.pw - g.kw) / g.sw + 1;
  return g;
}

ConvGeometry conv_transpose2d_geometry(const std::string& op, const Tensor& x, const Tensor& w, const Attrs& attrs) {
  check_operands(op, x, w);
  if (w.dim(0) != x.dim(1))
    fail("ERR_SHAPE", op, "a weight (" + std::to_string(x.dim(1)) + ", Cout, kh, kw) matching x's channels", "w", shape_string(w.shape()));
  ConvGeometry g;
  g.batch = x.dim(0);
  g.out_channels = x.dim(1);
  g.out_h = x.dim(2);
  g.out_w = x.dim(3);
  g.in_channels = w.dim(1);
  g.kh = w.dim(2);
  g.kw = w.dim(3);
  read_steps(op, attrs, &g);
  if (g.out_h < 1 || g.out_w < 1) fail("ERR_SHAPE", op, "a non-empty map (H, W >= 1)", "x", shape_string(x.shape()));
  g.in_h = (g.out_h - 1) * g.sh - 2 * g.ph + g.kh;
  g.in_w = (g.out_w - 1) * g.sw - 2 * g.pw + g.kw;
  if (g.in_h < 1 || g.in_w < 1)
    fail("ERR_SHAPE", op, "an output of at least 1x1 ((H − 1)·stride − 2·padding + kernel, " + steps_text(g) + ")", "x",
         shape_string(x.shape()));
  return g;
}

SAM_COBOT_OP({"conv2d", validate_conv2d, cpu::conv2d, CUDA_KERNEL(conv2d)});
SAM_COBOT_OP({"conv2d_backward", validate_conv2d_backward, cpu::conv2d_backward, CUDA_KERNEL(conv2d_backward)});
SAM_COBOT_OP({"conv_transpose2d", validate_conv_transpose2d, cpu::conv_transpose2d, CUDA_KERNEL(conv_transpose2d)});
SAM_COBOT_OP({"conv_transpose2d_backward", validate_conv_transpose2d_backward, cpu::conv_transpose2d_backward,
              CUDA_KERNEL(conv_transpose2d_backward)});

}  // namespace samcobot
