// CPU-vs-CUDA parity cases of the COBOT family: the per-step prepare ops in every coefficient,
// relation and head mode; the fused bottleneck and its backward at the two SAM ViT-B shapes
// (AdaptFormer: N = 4096 tokens of one image, V = 16, T = 12; LoRA: N = 4900 = 25 windows of 14x14,
// V = 4, T = 24) with the bytes they must move, odd sizes (rows that end mid-tile and mid-partial,
// the widest V = 64), and the in-place accumulation into dKappa and dQ (the harness compares the
// mutated inputs too); dropout, whose mask is the same counter-based draw on both backends.
// The kernels add in the CPU's order with the same partitions, so the tolerances are small.
#include "parity.h"

namespace samcobot::parity {
namespace {

struct PrepareCase {
  const char* label;
  int64_t V, T;
  const char* coefficients;
  bool relation;
  const char* head;
};

Attrs prepare_attrs(const PrepareCase& p) {
  Attrs a;
  a.strings["coefficients"] = p.coefficients;
  a.strings["head"] = p.head;
  a.numbers["relation"] = p.relation ? 1 : 0;
  return a;
}

Shape heads_shape(const PrepareCase& p) {
  std::string head = p.head;
  if (head == "quaternion") return {p.T, 4, p.V / 4, p.V / 4};
  if (head == "linear") return {p.T, p.V, p.V};
  return {1};
}

Attrs bottleneck_attrs(int64_t head, bool relu) {
  Attrs a;
  a.numbers["head"] = double(head);
  a.numbers["relu"] = relu ? 1 : 0;
  return a;
}

// The forward reads A and writes out; the backward reads dOut, A and (under ReLU) out, and writes dA.
void add_bottleneck_cases(std::vector<Case>& cases, const std::string& label, int64_t N, int64_t V, int64_t T, int64_t head, bool relu,
                          uint64_t seed) {
  Tensor a = random_tensor({N, V}, seed);
  Tensor kappa = random_tensor({T, V}, seed + 1);
  Tensor q = random_tensor({T, V, V}, seed + 2, 0.5);
  double rows = double(N * V) * 4.0;
  Case forward{"cobot_bottleneck " + label, "cobot_bottleneck", {a, kappa, q}, bottleneck_attrs(head, relu), 1e-6};
  forward.flops = double(N) * (2.0 * V * V + V);
  forward.bytes = 2.0 * rows;
  cases.push_back(forward);
  Tensor dout = random_tensor({N, V}, seed + 3);
  Tensor out = random_tensor({N, V}, seed + 4);
  Tensor dkappa = random_tensor({T, V}, seed + 5);
  Tensor dq = random_tensor({T, V, V}, seed + 6);
  Case backward{"cobot_bottleneck_backward " + label, "cobot_bottleneck_backward", {dout, a, kappa, q, out, dkappa, dq},
                bottleneck_attrs(head, relu), 1e-6};
  backward.flops = double(N) * (4.0 * V * V + 4.0 * V);
  backward.bytes = (relu ? 4.0 : 3.0) * rows;
  cases.push_back(backward);
}

Case dropout_case(const std::string& op, const Shape& shape, double p, double seed, DType cuda_dtype, double tolerance) {
  Attrs a;
  a.numbers["p"] = p;
  a.numbers["seed"] = seed;
  Tensor x = random_tensor(shape, 21);
  Case c{op + " " + shape_string(shape) + " p " + to_text(p) + (cuda_dtype == DType::BF16 ? " bf16" : ""), op, {x}, a, tolerance};
  c.bytes = 2.0 * double(x.numel()) * (cuda_dtype == DType::F32 ? 4.0 : 2.0);
  c.cuda_dtype = cuda_dtype;
  return c;
}

std::vector<Case> make_cobot_cases() {
  std::vector<Case> cases;
  const PrepareCase prepares[] = {
      {"AdaptFormer V 16 T 12 dual relation quaternion", 16, 12, "dual", true, "quaternion"},
      {"LoRA V 4 T 24 dual relation quaternion", 4, 24, "dual", true, "quaternion"},
      {"V 8 T 5 shared relation linear", 8, 5, "shared", true, "linear"},
      {"V 12 T 3 local quaternion", 12, 3, "local", true, "quaternion"},
      {"V 7 T 6 dual without relation, no head", 7, 6, "dual", false, "none"},
  };
  uint64_t seed = 100;
  for (const PrepareCase& p : prepares) {
    Attrs attrs = prepare_attrs(p);
    Tensor c = random_tensor({p.V, p.T}, seed++), rel = random_tensor({p.T, p.T}, seed++);
    cases.push_back({std::string("cobot_prepare ") + p.label, "cobot_prepare",
                     {c, rel, random_tensor({p.T, p.V}, seed++), random_tensor(heads_shape(p), seed++)}, attrs, 1e-6});
    cases.push_back({std::string("cobot_prepare_backward ") + p.label, "cobot_prepare_backward",
                     {c, rel, random_tensor({p.T, p.V}, seed++), random_tensor({p.T, p.V, p.V}, seed++)}, attrs, 1e-6});
  }
  add_bottleneck_cases(cases, "AdaptFormer N 4096 V 16 T 12 head 5 relu", 4096, 16, 12, 5, true, 200);
  add_bottleneck_cases(cases, "AdaptFormer batch 2 N 8192 V 16 T 12 head 11 relu", 8192, 16, 12, 11, true, 210);
  add_bottleneck_cases(cases, "LoRA N 4900 V 4 T 24 head 17", 4900, 4, 24, 17, false, 220);
  add_bottleneck_cases(cases, "N 37 V 12 T 3 head 2 relu", 37, 12, 3, 2, true, 230);
  add_bottleneck_cases(cases, "N 1001 V 64 T 2 head 1 relu", 1001, 64, 2, 1, true, 240);
  add_bottleneck_cases(cases, "N 129 V 1 T 4 head 0", 129, 1, 4, 0, false, 250);
  for (const char* op : {"dropout", "dropout_backward"}) {
    cases.push_back(dropout_case(op, {4096, 16}, 0.1, 7, DType::F32, 0.0));
    cases.push_back(dropout_case(op, {100003}, 0.5, 12345, DType::F32, 0.0));
  }
  cases.push_back(dropout_case("dropout", {4096, 16}, 0.0, 3, DType::F32, 0.0));
  cases.push_back(dropout_case("dropout", {333, 17}, 0.25, 9, DType::BF16, 4e-3));
  return cases;
}

const bool registered = register_cases("cobot", make_cobot_cases);

}  // namespace
}  // namespace samcobot::parity
