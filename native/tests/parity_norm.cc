// CPU-vs-CUDA parity cases of the norm family: layer_norm and its backward over the last axis (one
// warp per row on CUDA) and over the channels of NCHW maps (position tiles), at odd sizes (rows that
// end mid-warp, channel counts that are not multiples of 32 or 8, position counts that end mid-tile
// and mid-chunk) and at the SAM ViT-B shapes with the bytes they must move: the encoder's tokens
// (1, 64, 64, 768) with eps 1e-6, the neck's LayerNorm2d (1, 256, 64, 64), the decoder's keys
// (1, 4096, 256) with eps 1e-5; the forward also in bf16. The backward's mean and rstd come from the
// CPU forward on the same x. Both backends sum in f32 in different orders; dweight and dbias add
// thousands of terms, hence their looser tolerance.
#include "parity.h"

namespace samcobot::parity {
namespace {

Attrs norm_attrs(double eps, int64_t axis, bool need_weight) {
  Attrs a;
  a.numbers["eps"] = eps;
  a.numbers["axis"] = double(axis);
  a.numbers["needWeight"] = need_weight ? 1 : 0;
  return a;
}

// [y, mean, rstd] of the CPU kernel, for the backward cases' saved statistics.
std::vector<Tensor> cpu_forward(const std::vector<Tensor>& inputs, const Attrs& attrs) {
  const OpDef* def = find_op("layer_norm");
  std::vector<Tensor> outputs;
  for (const TensorSpec& s : def->validate(inputs, attrs)) outputs.push_back(Tensor::empty(s.shape, s.dtype, Device::Cpu));
  def->cpu(OpCall{def->name, inputs, outputs, attrs});
  return outputs;
}

void add_cases(std::vector<Case>& cases, const std::string& label, const Shape& shape, int64_t axis, double eps, uint64_t seed, bool bf16) {
  const int64_t C = shape[axis == 1 ? 1 : shape.size() - 1];
  Tensor x = random_tensor(shape, seed, 2.0);
  Tensor w = random_tensor({C}, seed + 1);
  Tensor b = random_tensor({C}, seed + 2);
  const double tensor_bytes = double(x.numel()) * 4.0;
  Case forward{"layer_norm " + label, "layer_norm", {x, w, b}, norm_attrs(eps, axis, false), 1e-5};
  forward.bytes = 2.0 * tensor_bytes;
  cases.push_back(forward);
  if (bf16) {
    Case half = forward;
    half.label = "layer_norm bf16 " + label;
    half.cuda_dtype = DType::BF16;
    half.tolerance = 8e-3;  // y rounded to bf16 (2^-8 relative) against the CPU's f32
    half.bytes = tensor_bytes;
    cases.push_back(half);
  }
  std::vector<Tensor> saved = cpu_forward({x, w, b}, norm_attrs(eps, axis, false));
  Tensor dy = random_tensor(shape, seed + 3);
  for (bool need_weight : {true, false}) {
    Case backward{"layer_norm_backward " + label + (need_weight ? "" : " frozen"), "layer_norm_backward", {dy, x, w, saved[1], saved[2]},
                  norm_attrs(eps, axis, need_weight), need_weight ? 5e-5 : 1e-5};
    backward.bytes = 3.0 * tensor_bytes;
    cases.push_back(backward);
  }
}

std::vector<Case> make_norm_cases() {
  std::vector<Case> cases;
  add_cases(cases, "(7, 13) odd rows", {7, 13}, -1, 1e-5, 1, false);
  add_cases(cases, "(3, 5, 1001) channels past a warp multiple", {3, 5, 1001}, -1, 1e-6, 10, true);
  add_cases(cases, "(131, 1) one channel", {131, 1}, -1, 1e-5, 20, false);
  add_cases(cases, "2d (2, 37, 5, 9) odd", {2, 37, 5, 9}, 1, 1e-6, 30, true);
  add_cases(cases, "2d (3, 4, 61, 70) chunk remainders", {3, 4, 61, 70}, 1, 1e-6, 40, false);
  add_cases(cases, "ViT-B tokens (1, 64, 64, 768)", {1, 64, 64, 768}, -1, 1e-6, 50, true);
  add_cases(cases, "2d neck (1, 256, 64, 64)", {1, 256, 64, 64}, 1, 1e-6, 60, true);
  add_cases(cases, "decoder keys (1, 4096, 256)", {1, 4096, 256}, -1, 1e-5, 70, false);
  return cases;
}

const bool registered = register_cases("norm", make_norm_cases);

}  // namespace
}  // namespace samcobot::parity
