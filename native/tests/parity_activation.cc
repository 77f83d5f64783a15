// CPU-vs-CUDA parity cases of the activation family: GELU, ReLU and sin_cos with their backwards, at
// odd sizes (grid-stride remainders, F = 1) and at SAM ViT-B shapes with the bytes they must move:
// the encoder MLP's hidden GELU (4096 tokens x 3072; also in bf16), the decoder MLP's ReLU (tokens x
// 2048), the prompt encoder's dense positional encoding (64x64 cells, 128 frequencies). Elementwise
// and computed in f32 on both sides; only erff/sinf/cosf versus the C library differ, by an ulp or two.
#include "parity.h"

namespace samcobot::parity {
namespace {

Case make_case(const std::string& op, const std::string& label, std::vector<Tensor> inputs, double bytes, DType cuda_dtype = DType::F32) {
  Case c{op + " " + label, op, std::move(inputs), Attrs{}, cuda_dtype == DType::F32 ? 1e-5 : 8e-3};
  c.bytes = bytes;
  c.cuda_dtype = cuda_dtype;
  return c;
}

// op and its backward on x (shape), the backward's output shaped like x.
void add_pair(std::vector<Case>& cases, const std::string& op, const std::string& label, const Shape& shape, uint64_t seed, bool bf16 = false) {
  Tensor x = random_tensor(shape, seed, 3.0);
  const double n = double(x.numel()) * 4.0;
  cases.push_back(make_case(op, label, {x}, 2.0 * n));
  if (bf16) cases.push_back(make_case(op, "bf16 " + label, {x}, n, DType::BF16));
  Tensor dy = random_tensor(shape, seed + 1);
  cases.push_back(make_case(op + "_backward", label, {dy, x}, 3.0 * n));
  if (bf16) cases.push_back(make_case(op + "_backward", "bf16 " + label, {dy, x}, 1.5 * n, DType::BF16));
}

void add_sin_cos(std::vector<Case>& cases, const std::string& label, const Shape& shape, uint64_t seed) {
  Tensor x = random_tensor(shape, seed, 4.0);
  Shape doubled = shape;
  doubled.back() *= 2;
  const double n = double(x.numel()) * 4.0;
  cases.push_back(make_case("sin_cos", label, {x}, 3.0 * n));
  cases.push_back(make_case("sin_cos_backward", label, {random_tensor(doubled, seed + 1), x}, 4.0 * n));
}

std::vector<Case> make_activation_cases() {
  std::vector<Case> cases;
  add_pair(cases, "gelu", "(3, 1001) odd", {3, 1001}, 1, true);
  add_pair(cases, "gelu", "ViT-B MLP hidden (1, 4096, 3072)", {1, 4096, 3072}, 10, true);
  add_pair(cases, "relu", "(7, 333) odd", {7, 333}, 20, true);
  add_pair(cases, "relu", "decoder MLP hidden (16, 7, 2048)", {16, 7, 2048}, 30);
  add_sin_cos(cases, "(5, 7, 3) odd", {5, 7, 3}, 40);
  add_sin_cos(cases, "(9, 1) one frequency", {9, 1}, 50);
  add_sin_cos(cases, "dense PE (64, 64, 128)", {64, 64, 128}, 60);
  return cases;
}

const bool registered = register_cases("activation", make_activation_cases);

}  // namespace
}  // namespace samcobot::parity
