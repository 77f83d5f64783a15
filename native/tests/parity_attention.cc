// CPU-vs-CUDA parity cases of the attention family, forward and backward: the SAM shapes (ViT-B
// windowed blocks, 25 windows x 12 heads of 14x14 tokens, D 64; ViT-B global blocks, 12 heads of
// 64x64 tokens; ViT-H windows with D 80; the decoder's 7 tokens against 4096 image tokens, D 16,
// and back) with their FLOPs, and odd sizes that end mid-tile (grids 10x13 and 13x10, D 20 and Dv
// 12, D 128 with 65 keys, a 3x3 window over 65 batch entries to split the table reduction into
// chunks). The backward inputs out and lse come from the CPU forward, as they would in training.
// The two backends sum in different orders (GEMM blocking, key tiles), so the tolerances allow
// f32 rounding over sums of up to 4096 terms.
#include <cmath>

#include "../cpu/attention.h"
#include "parity.h"

namespace samcobot::parity {
namespace {

constexpr double kForwardTolerance = 1e-4;
constexpr double kBackwardTolerance = 2e-4;

struct Geometry {
  int64_t BH, N, M, D, Dv;
  int64_t gh = 0, gw = 0;  // 0: no tables
};

Attrs attrs_of(const Geometry& g) {
  Attrs a;
  if (g.gh) {
    a.numbers["gridH"] = double(g.gh);
    a.numbers["gridW"] = double(g.gw);
  }
  return a;
}

// q, k, v (and the tables, std 0.15 as in the golden data's init), scaled so the logits are O(1).
std::vector<Tensor> forward_inputs(const Geometry& g, uint64_t seed) {
  std::vector<Tensor> in = {random_tensor({g.BH, g.N, g.D}, seed, 0.5), random_tensor({g.BH, g.M, g.D}, seed + 1, 0.5),
                            random_tensor({g.BH, g.M, g.Dv}, seed + 2)};
  if (g.gh) {
    in.push_back(random_tensor({2 * g.gh - 1, g.D}, seed + 3, 0.15));
    in.push_back(random_tensor({2 * g.gw - 1, g.D}, seed + 4, 0.15));
  }
  return in;
}

void add_cases(std::vector<Case>& cases, const std::string& label, const Geometry& g, uint64_t seed) {
  const double products = 2.0 * double(g.BH) * double(g.N) * double(g.M);  // 2 FLOPs per multiply-add, per (t, u) pair
  const double rel = g.gh ? 2.0 * double(g.BH * g.N * (g.gh + g.gw) * g.D) : 0.0;
  const double q_bytes = 4.0 * double(g.BH * g.N * g.D), kv_bytes = 4.0 * double(g.BH * g.M * (g.D + g.Dv));
  const double out_bytes = 4.0 * double(g.BH * g.N * (g.Dv + 1));
  std::vector<Tensor> in = forward_inputs(g, seed);

  Case forward{"attention " + label, "attention", in, attrs_of(g), kForwardTolerance};
  forward.flops = products * double(g.D + g.Dv) + rel;
  forward.bytes = q_bytes + kv_bytes + out_bytes;
  cases.push_back(forward);

  std::vector<Tensor> saved = {Tensor::empty({g.BH, g.N, g.Dv}, DType::F32, Device::Cpu), Tensor::empty({g.BH, g.N}, DType::F32, Device::Cpu)};
  cpu::attention(OpCall{forward.op, in, saved, forward.attrs});
  std::vector<Tensor> backward_in = {random_tensor({g.BH, g.N, g.Dv}, seed + 5), in[0], in[1], in[2], saved[0], saved[1]};
  if (g.gh) backward_in.insert(backward_in.end(), {in[3], in[4]});
  Case backward{"attention_backward " + label, "attention_backward", backward_in, attrs_of(g), kBackwardTolerance};
  // What a backward that kept P would need (S recomputed, dP, dV, dQ, dK: FlashAttention-2's
  // count), plus the relative terms three times (rel, dq's bias terms, the tables).
  backward.flops = products * double(3 * g.D + 2 * g.Dv) + 3.0 * rel;
  backward.bytes = 2.0 * (q_bytes + kv_bytes) + 2.0 * out_bytes;
  cases.push_back(backward);
}

std::vector<Case> make_attention_cases() {
  std::vector<Case> cases;
  add_cases(cases, "golden window 6 x 3x3 D 16", {6, 9, 9, 16, 16, 3, 3}, 1);
  add_cases(cases, "grid 10x13 D 20, BH 3", {3, 130, 130, 20, 20, 10, 13}, 10);
  add_cases(cases, "grid 13x10 D 20 Dv 12, BH 2", {2, 130, 130, 20, 12, 13, 10}, 20);
  add_cases(cases, "3x3 window over 65 batch entries (table chunks)", {65, 9, 9, 16, 16, 3, 3}, 30);
  add_cases(cases, "no tables 70 x 65 D 128", {2, 70, 65, 128, 128}, 40);
  add_cases(cases, "ViT-B windowed 25*12 x 14x14 D 64", {300, 196, 196, 64, 64, 14, 14}, 50);
  add_cases(cases, "ViT-H windowed 25*16 x 14x14 D 80", {400, 196, 196, 80, 80, 14, 14}, 60);
  add_cases(cases, "ViT-B global 12 x 64x64 D 64", {12, 4096, 4096, 64, 64, 64, 64}, 70);
  add_cases(cases, "decoder token->image 8 x 7 x 4096 D 16", {8, 7, 4096, 16, 16}, 80);
  add_cases(cases, "decoder image->token 8 x 4096 x 7 D 16", {8, 4096, 7, 16, 16}, 90);
  add_cases(cases, "decoder self 8 x 7 x 7 D 32", {8, 7, 7, 32, 32}, 100);
  return cases;
}

const bool registered = register_cases("attention", make_attention_cases);

}  // namespace
}  // namespace samcobot::parity
