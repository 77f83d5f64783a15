// CPU-vs-CUDA parity cases of the conv family: conv2d and conv_transpose2d with their backwards, at
// odd sizes (non-square kernels, unequal strides and paddings, taps that fall in the padding, batch
// > 1 so the weight gradient adds images in order, bias on and off) and at the SAM ViT-B shapes with
// their FLOPs: the 16x16/16 patch embedding of a 1024x1024 image (3 -> 768), the neck's 1x1 (768 ->
// 256) and 3x3 pad-1 (256 -> 256) convs, the mask prompt's 2x2/2 convs, and the decoder's 2x2/2
// transposed convs (256 -> 64 -> 32). Both sides are f32 GEMMs summing K = Ci·kh·kw (up to 2304)
// or P = Ho·Wo (4096 and more, for weight gradients) terms in different orders.
#include "parity.h"

namespace samcobot::parity {
namespace {

struct Geometry {
  int64_t sh = 1, sw = 1, ph = 0, pw = 0;
};

Attrs conv_attrs(const Geometry& g, int grads = 0) {
  Attrs a;
  a.lists["stride"] = {double(g.sh), double(g.sw)};
  a.lists["padding"] = {double(g.ph), double(g.pw)};
  if (grads) {
    a.numbers["needInput"] = grads & 1 ? 1 : 0;
    a.numbers["needWeight"] = grads & 2 ? 1 : 0;
    a.numbers["needBias"] = grads & 4 ? 1 : 0;
  }
  return a;
}

constexpr int kInput = 1, kWeight = 2, kBias = 4;

// Forward and backward cases of one convolution. x (B, Ci, H, W) and w are given as the op takes
// them; `transposed` picks conv_transpose2d. The FLOPs are 2·B·Co·K·P for each product: one for the
// forward, one per requested dx or dw.
void add_cases(std::vector<Case>& cases, const std::string& label, bool transposed, const Shape& x_shape, const Shape& w_shape, const Geometry& g,
               bool bias, int grads, uint64_t seed, double tolerance) {
  const std::string op = transposed ? "conv_transpose2d" : "conv2d";
  Tensor x = random_tensor(x_shape, seed);
  Tensor w = random_tensor(w_shape, seed + 1, 0.1);
  const int64_t out_channels = transposed ? w_shape[1] : w_shape[0];
  const int64_t kh = w_shape[2], kw = w_shape[3];
  const int64_t oh = transposed ? (x_shape[2] - 1) * g.sh - 2 * g.ph + kh : (x_shape[2] + 2 * g.ph - kh) / g.sh + 1;
  const int64_t ow = transposed ? (x_shape[3] - 1) * g.sw - 2 * g.pw + kw : (x_shape[3] + 2 * g.pw - kw) / g.sw + 1;
  const Shape y_shape = {x_shape[0], out_channels, oh, ow};
  const double product = 2.0 * double(shape_numel(w_shape)) * double(transposed ? x_shape[0] * x_shape[2] * x_shape[3] : x_shape[0] * oh * ow);
  const double bytes = 4.0 * double(shape_numel(x_shape) + shape_numel(w_shape) + shape_numel(y_shape));

  std::vector<Tensor> inputs = {x, w};
  if (bias) inputs.push_back(random_tensor({out_channels}, seed + 2));
  Case forward{op + " " + label, op, inputs, conv_attrs(g), tolerance};
  forward.flops = product;
  forward.bytes = bytes;
  cases.push_back(forward);

  Case backward{op + "_backward " + label, op + "_backward", {random_tensor(y_shape, seed + 3), x, w}, conv_attrs(g, grads), tolerance};
  backward.flops = product * ((grads & kInput ? 1 : 0) + (grads & kWeight ? 1 : 0));
  backward.bytes = bytes;
  cases.push_back(backward);
}

std::vector<Case> make_conv_cases() {
  std::vector<Case> cases;
  const int all = kInput | kWeight | kBias;
  // Odd sizes.
  add_cases(cases, "(2,5,13,11) k3x2 s[2,1] p[1,0]", false, {2, 5, 13, 11}, {7, 5, 3, 2}, {2, 1, 1, 0}, true, all, 1, 2e-5);
  add_cases(cases, "(3,9,7,5) 1x1", false, {3, 9, 7, 5}, {6, 9, 1, 1}, {}, false, kInput | kWeight, 10, 2e-5);
  add_cases(cases, "(1,2,7,7) k3 s3 p2 taps in padding", false, {1, 2, 7, 7}, {3, 2, 3, 3}, {3, 3, 2, 2}, true, all, 20, 2e-5);
  add_cases(cases, "(1,3,17,19) k4 s4 patchify with remainder", false, {1, 3, 17, 19}, {5, 3, 4, 4}, {4, 4, 0, 0}, true, kWeight | kBias, 30, 2e-5);
  add_cases(cases, "(2,3,5,7) k3x2 s[2,3] p[1,0]", true, {2, 3, 5, 7}, {3, 4, 3, 2}, {2, 3, 1, 0}, true, all, 40, 2e-5);
  add_cases(cases, "(2,4,6,5) k3 s1 p1 overlapping", true, {2, 4, 6, 5}, {4, 3, 3, 3}, {1, 1, 1, 1}, false, kInput | kWeight, 50, 2e-5);
  add_cases(cases, "(3,5,4,3) 1x1 bias", true, {3, 5, 4, 3}, {5, 2, 1, 1}, {}, true, all, 60, 2e-5);
  // SAM ViT-B shapes.
  add_cases(cases, "patch embed (1,3,1024,1024) k16 s16 -> 768", false, {1, 3, 1024, 1024}, {768, 3, 16, 16}, {16, 16, 0, 0}, true,
            kWeight | kBias, 70, 5e-5);
  add_cases(cases, "neck 1x1 (1,768,64,64) -> 256", false, {1, 768, 64, 64}, {256, 768, 1, 1}, {}, false, kInput | kWeight, 80, 5e-5);
  add_cases(cases, "neck 3x3 p1 (1,256,64,64) -> 256", false, {1, 256, 64, 64}, {256, 256, 3, 3}, {1, 1, 1, 1}, false, kInput | kWeight, 90,
            5e-5);
  add_cases(cases, "mask 2x2 s2 (4,1,256,256) -> 4", false, {4, 1, 256, 256}, {4, 1, 2, 2}, {2, 2, 0, 0}, true, kWeight | kBias, 100, 5e-5);
  add_cases(cases, "mask 2x2 s2 (4,4,128,128) -> 16", false, {4, 4, 128, 128}, {16, 4, 2, 2}, {2, 2, 0, 0}, true, all, 110, 5e-5);
  add_cases(cases, "upscale 2x2 s2 (1,256,64,64) -> 64", true, {1, 256, 64, 64}, {256, 64, 2, 2}, {2, 2, 0, 0}, true, all, 120, 5e-5);
  add_cases(cases, "upscale 2x2 s2 (1,64,128,128) -> 32", true, {1, 64, 128, 128}, {64, 32, 2, 2}, {2, 2, 0, 0}, true, all, 130, 5e-5);
  return cases;
}

const bool registered = register_cases("conv", make_conv_cases);

}  // namespace
}  // namespace samcobot::parity
