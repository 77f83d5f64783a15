// Parity cases of the first op families: elementwise (fill, random_fill, copy, cast, add/sub/mul/div,
// scale, accumulate, sum) and GEMM (gemm, gemm_accumulate). Odd sizes catch tail handling; the SAM
// ViT-B shapes (4096 tokens of width 768 at 1024x1024, MLP width 3072, 14x14 windows, 12 heads)
// carry FLOP and byte counts so the runner times them against the H200's floors.
//
// Tolerances are relative to the CPU result's largest magnitude: 0 where both backends perform the
// same IEEE operations (fills, copies, casts), 1e-7 for single roundings, 1e-6 for the sums (both
// accumulate in double), 1e-5..2e-4 for f32 products (summation order differs; grows with K), and
// about two bf16/f16 roundings for half-precision cases.
#include <cmath>
#include <string>

#include "../core/random.h"
#include "parity.h"

namespace samcobot::parity {
namespace {

constexpr double kHalfTolerance = 1e-2;

std::string dims(const Shape& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "x" : "") + std::to_string(s[i]);
  return out;
}

Attrs numbers(std::initializer_list<std::pair<const std::string, double>> list) {
  Attrs a;
  a.numbers = list;
  return a;
}

double bytes_f32(const Shape& s, double copies) { return copies * 4.0 * static_cast<double>(shape_numel(s)); }

// Filled with NaN, so any element a fill leaves unwritten fails the comparison.
Tensor nan_tensor(const Shape& s) {
  Tensor t = Tensor::empty(s, DType::F32, Device::Cpu);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = NAN;
  return t;
}

Tensor uniform_tensor(const Shape& s, uint64_t seed, double low, double high) {
  Tensor t = Tensor::empty(s, DType::F32, Device::Cpu);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(low + (high - low) * uniform01(seed, uint64_t(i), 0));
  return t;
}

Tensor integer_tensor(const Shape& s, DType dtype, uint64_t seed, int low, int high) {
  Tensor t = Tensor::empty(s, dtype, Device::Cpu);
  for (int64_t i = 0; i < t.numel(); ++i) {
    int v = low + static_cast<int>((high - low + 1) * uniform01(seed, uint64_t(i), 0));
    if (dtype == DType::I32) t.data<int32_t>()[i] = v;
    else t.data<uint8_t>()[i] = static_cast<uint8_t>(v);
  }
  return t;
}

// Values around the rounding edges of bf16 and f16: ties to even in both directions, overflow to
// infinity, subnormals, signed zero and infinities.
Tensor rounding_edges() {
  const float values[] = {1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, -0.0f, INFINITY, -INFINITY,
                          3.4e38f, 65504.0f, 65520.0f, 6e-8f, 1e-40f, -2.5e-5f, 0.1f, 1.0f / 3.0f};
  Tensor t = Tensor::empty({static_cast<int64_t>(sizeof values / sizeof values[0])}, DType::F32, Device::Cpu);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = values[i];
  return t;
}

std::vector<Case> elementwise_cases() {
  std::vector<Case> cases;
  const Shape sam_tokens = {4096, 768}, sam_mlp = {4096, 3072};

  for (const Shape& s : {Shape{1}, Shape{17, 33}, sam_mlp})
    cases.push_back({"fill " + dims(s), "fill", {nan_tensor(s)}, numbers({{"value", 0.75}}), 0, 0, bytes_f32(s, 1)});
  cases.push_back({"fill i32 17x33", "fill", {integer_tensor({17, 33}, DType::I32, 1, -9, 9)}, numbers({{"value", -3e9}}), 0});
  cases.push_back({"fill u8 1001", "fill", {integer_tensor({1001}, DType::U8, 2, 0, 255)}, numbers({{"value", 77.9}}), 0});
  cases.push_back({"fill bf16 257x129", "fill", {nan_tensor({257, 129})}, numbers({{"value", 0.3}}), kHalfTolerance, 0, 0, DType::BF16});

  for (const Shape& s : {Shape{1}, Shape{1000003}, sam_mlp}) {
    Case normal{"random_fill normal " + dims(s), "random_fill", {nan_tensor(s)}, numbers({{"seed", 7}, {"mean", 0.5}, {"std", 2}}), 1e-7, 0, bytes_f32(s, 1)};
    Case uniform{"random_fill uniform " + dims(s), "random_fill", {nan_tensor(s)}, numbers({{"seed", 8}, {"low", -1}, {"high", 3}}), 1e-7, 0, bytes_f32(s, 1)};
    uniform.attrs.strings["distribution"] = "uniform";
    cases.push_back(normal);
    cases.push_back(uniform);
  }
  cases.push_back({"random_fill bf16 1000003", "random_fill", {nan_tensor({1000003})}, numbers({{"seed", 9}}), kHalfTolerance, 0, 0, DType::BF16});

  for (const Shape& s : {Shape{17, 33, 65}, sam_mlp}) cases.push_back({"copy " + dims(s), "copy", {random_tensor(s, 10)}, {}, 0, 0, bytes_f32(s, 2)});
  cases.push_back({"copy bf16 17x33x65", "copy", {random_tensor({17, 33, 65}, 11)}, {}, 0, 0, 0, DType::BF16});

  Attrs to_f32, to_i32, to_u8;
  to_f32.strings["dtype"] = "f32";
  to_i32.strings["dtype"] = "i32";
  to_u8.strings["dtype"] = "u8";
  cases.push_back({"cast f32->i32 17x33x65", "cast", {uniform_tensor({17, 33, 65}, 12, -3e3, 3e3)}, to_i32, 0});
  cases.push_back({"cast f32->u8 saturating 1001", "cast", {uniform_tensor({1001}, 13, -50, 300)}, to_u8, 0});
  cases.push_back({"cast i32->f32 17x33", "cast", {integer_tensor({17, 33}, DType::I32, 14, -100000, 100000)}, to_f32, 0});
  cases.push_back({"cast u8->i32 1001", "cast", {integer_tensor({1001}, DType::U8, 15, 0, 255)}, to_i32, 0});
  // The runner casts f32 inputs to bf16/f16 with the cast kernel and the CPU rounds them on the
  // host (dtype.h): casting back to f32 must then give the very same values.
  for (DType half : {DType::BF16, DType::F16}) {
    std::string name = dtype_name(half);
    cases.push_back({"cast " + name + "->f32 rounding edges", "cast", {rounding_edges()}, to_f32, 0, 0, 0, half});
    cases.push_back({"cast " + name + "->f32 257x129", "cast", {random_tensor({257, 129}, 16, 100)}, to_f32, 0, 0, 0, half});
  }
  cases.push_back({"cast bf16->f32 " + dims(sam_mlp), "cast", {random_tensor(sam_mlp, 17)}, to_f32, 0, 0, 6.0 * shape_numel(sam_mlp), DType::BF16});

  for (const char* op : {"add", "sub", "mul", "div"}) {
    std::string o = op;
    Tensor denominator = uniform_tensor({17, 33, 65}, 21, 0.5, 2);
    cases.push_back({o + " 17x33x65", o, {random_tensor({17, 33, 65}, 20), o == "div" ? denominator : random_tensor({17, 33, 65}, 22)}, {}, 1e-7});
    cases.push_back({o + " 257x129 + 129", o, {random_tensor({257, 129}, 23), uniform_tensor({129}, 24, 0.5, 2)}, {}, 1e-7});
    cases.push_back({o + " 7x1x5 + 1x3x5", o, {random_tensor({7, 1, 5}, 25), uniform_tensor({1, 3, 5}, 26, -2, -0.5)}, {}, 1e-7});
  }
  cases.push_back({"add 1x1 + 3x1x4", "add", {random_tensor({1, 1}, 27), random_tensor({3, 1, 4}, 28)}, {}, 1e-7});
  cases.push_back({"add bf16 257x129 + 129", "add", {random_tensor({257, 129}, 29), random_tensor({129}, 30)}, {}, kHalfTolerance, 0, 0, DType::BF16});
  cases.push_back({"add f16 257x129", "add", {random_tensor({257, 129}, 31), random_tensor({257, 129}, 32)}, {}, kHalfTolerance, 0, 0, DType::F16});
  cases.push_back({"add " + dims(sam_mlp), "add", {random_tensor(sam_mlp, 33), random_tensor(sam_mlp, 34)}, {}, 1e-7, 0, bytes_f32(sam_mlp, 3)});
  cases.push_back({"add bias " + dims(sam_tokens) + " + 768", "add", {random_tensor(sam_tokens, 35), random_tensor({768}, 36)}, {}, 1e-7, 0,
                   bytes_f32(sam_tokens, 2)});

  cases.push_back({"scale 1000003", "scale", {random_tensor({1000003}, 40)}, numbers({{"alpha", 0.3}, {"beta", -1}}), 1e-7});
  cases.push_back({"scale " + dims(sam_mlp), "scale", {random_tensor(sam_mlp, 41)}, numbers({{"alpha", 0.5}}), 1e-7, 0, bytes_f32(sam_mlp, 2)});
  cases.push_back({"scale bf16 17x33x65", "scale", {random_tensor({17, 33, 65}, 42)}, numbers({{"alpha", 3}, {"beta", 0.25}}), kHalfTolerance, 0, 0,
                   DType::BF16});
  cases.push_back({"accumulate 17x33x65", "accumulate", {random_tensor({17, 33, 65}, 43), random_tensor({17, 33, 65}, 44)}, numbers({{"alpha", -0.3}}), 1e-7});
  cases.push_back({"accumulate " + dims(sam_mlp), "accumulate", {random_tensor(sam_mlp, 45), random_tensor(sam_mlp, 46)}, {}, 1e-7, 0,
                   bytes_f32(sam_mlp, 3)});

  struct Reduction {
    Shape shape;
    std::vector<double> axes;
    bool keep_dims;
  };
  const Reduction reductions[] = {
      {{17, 33, 65}, {-1}, false},   // innermost axis, short rows: a warp per output
      {{5, 4099}, {1}, false},       // innermost axis, long rows: a block per output
      {{257, 129}, {0}, false},      // outer axis: a thread per output, split into chunks
      {{7, 9, 11}, {0, 2}, true},    // two reduced axes, the innermost among them
      {{7, 9, 11}, {0, 1}, false},   // two reduced axes, the innermost kept
      {{1000003}, {0}, false},       // everything into one value
      {{17, 33}, {}, false},         // no axis: a copy
      {{3, 0, 5}, {1}, false},       // an empty axis: zeros
      {sam_tokens, {0}, false},      // a bias gradient over 4096 tokens
      {sam_tokens, {1}, false},      // per-token sums
  };
  for (const Reduction& r : reductions) {
    Attrs attrs = numbers({{"keepDims", r.keep_dims ? 1.0 : 0.0}});
    attrs.lists["axes"] = r.axes;
    std::string axes;
    for (double a : r.axes) axes += (axes.empty() ? "" : ",") + std::to_string(static_cast<int>(a));
    cases.push_back({"sum " + dims(r.shape) + " axes [" + axes + "]", "sum", {random_tensor(r.shape, 50)}, attrs, 1e-6, 0,
                     r.shape == sam_tokens ? bytes_f32(r.shape, 1) : 0});
  }
  Attrs rows;
  rows.lists["axes"] = {1};
  cases.push_back({"sum bf16 257x129 axes [1]", "sum", {random_tensor({257, 129}, 51)}, rows, kHalfTolerance, 0, 0, DType::BF16});
  return cases;
}

Attrs transposes(bool ta, bool tb, double alpha = 1, double beta = 1) {
  return numbers({{"transA", ta ? 1.0 : 0.0}, {"transB", tb ? 1.0 : 0.0}, {"alpha", alpha}, {"beta", beta}});
}

std::string flags(bool ta, bool tb) { return std::string(ta ? " tA" : "") + (tb ? " tB" : ""); }

// A (M,K) or (K,M) and B (K,N) or (N,K) with `lead` batch dims in front of each.
std::vector<Tensor> operands(const Shape& lead_a, const Shape& lead_b, int64_t M, int64_t N, int64_t K, bool ta, bool tb, uint64_t seed) {
  Shape a = lead_a, b = lead_b;
  a.insert(a.end(), {ta ? K : M, ta ? M : K});
  b.insert(b.end(), {tb ? N : K, tb ? K : N});
  return {random_tensor(a, seed), random_tensor(b, seed + 1)};
}

std::vector<Case> gemm_cases() {
  std::vector<Case> cases;
  struct Size {
    int64_t M, N, K;
  };
  for (Size s : {Size{1, 1, 1}, Size{17, 33, 65}, Size{257, 129, 65}}) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        std::string size = std::to_string(s.M) + "x" + std::to_string(s.N) + "x" + std::to_string(s.K) + flags(ta, tb);
        cases.push_back({"gemm " + size, "gemm", operands({}, {}, s.M, s.N, s.K, ta, tb, 100), transposes(ta, tb, 0.5), 1e-5});
        std::vector<Tensor> with_bias = operands({}, {}, s.M, s.N, s.K, ta, tb, 110);
        with_bias.push_back(random_tensor({s.N}, 112));
        cases.push_back({"gemm bias " + size, "gemm", with_bias, transposes(ta, tb), 1e-5});
        std::vector<Tensor> accumulate = operands({}, {}, s.M, s.N, s.K, ta, tb, 120);
        accumulate.push_back(random_tensor({s.M, s.N}, 122));
        cases.push_back({"gemm_accumulate " + size, "gemm_accumulate", accumulate, transposes(ta, tb, 0.5, 0.25), 1e-5});
      }
    }
  }
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      cases.push_back({"gemm batched 3x17x33x65" + flags(ta, tb), "gemm", operands({3}, {3}, 17, 33, 65, ta, tb, 130), transposes(ta, tb), 1e-5});
      std::vector<Tensor> reduced = operands({4}, {4}, 17, 33, 65, ta, tb, 140);
      reduced.push_back(random_tensor({17, 33}, 142));
      cases.push_back({"gemm_accumulate reduced 4x17x33x65" + flags(ta, tb), "gemm_accumulate", reduced, transposes(ta, tb, 1, 0.5), 1e-5});
    }
  }
  cases.push_back({"gemm batched 2x3x17x33x65", "gemm", operands({2, 3}, {2, 3}, 17, 33, 65, false, false, 150), {}, 1e-5});
  cases.push_back({"gemm shared B 2x3x17 x 65x33", "gemm", operands({2, 3}, {}, 17, 33, 65, false, false, 152), {}, 1e-5});
  cases.push_back({"gemm shared B 3x17x33x65 tA", "gemm", operands({3}, {}, 17, 33, 65, true, false, 154), transposes(true, false), 1e-5});
  std::vector<Tensor> batched_c = operands({3}, {3}, 17, 33, 65, false, true, 156);
  batched_c.push_back(random_tensor({3, 17, 33}, 158));
  cases.push_back({"gemm_accumulate batched 3x17x33x65 tB", "gemm_accumulate", batched_c, transposes(false, true, 2, 1), 1e-5});
  std::vector<Tensor> shared_reduced = operands({4}, {}, 17, 33, 65, true, false, 160);
  shared_reduced.push_back(random_tensor({17, 33}, 162));
  cases.push_back({"gemm_accumulate reduced shared B 4x17x33x65 tA", "gemm_accumulate", shared_reduced, transposes(true, false), 1e-5});

  // An empty inner dimension: the product is zero (plus the bias), and C only scales by beta.
  cases.push_back({"gemm 5x7x0", "gemm", operands({}, {}, 5, 7, 0, false, false, 170), {}, 0});
  std::vector<Tensor> empty_bias = operands({}, {}, 5, 7, 0, false, false, 172);
  empty_bias.push_back(random_tensor({7}, 174));
  cases.push_back({"gemm bias 5x7x0", "gemm", empty_bias, {}, 0});
  std::vector<Tensor> empty_accumulate = operands({}, {}, 5, 7, 0, false, false, 176);
  empty_accumulate.push_back(random_tensor({5, 7}, 178));
  cases.push_back({"gemm_accumulate 5x7x0", "gemm_accumulate", empty_accumulate, transposes(false, false, 1, 0.5), 1e-7});

  for (DType half : {DType::BF16, DType::F16}) {
    std::string name = dtype_name(half);
    std::vector<Tensor> with_bias = operands({}, {}, 257, 129, 65, false, true, 180);
    with_bias.push_back(random_tensor({129}, 182));
    cases.push_back({"gemm " + name + " bias 257x129x65 tB", "gemm", with_bias, transposes(false, true), kHalfTolerance, 0, 0, half});
    cases.push_back({"gemm " + name + " batched 3x17x33x65 tA", "gemm", operands({3}, {3}, 17, 33, 65, true, false, 184), transposes(true, false),
                     kHalfTolerance, 0, 0, half});
  }

  // SAM ViT-B at 1024x1024: 4096 tokens of width 768, MLP width 3072, 12 heads of 64, 25 windows
  // of 14x14 per image (the padded 70x70 grid).
  struct Timed {
    std::string label;
    const char* op;
    Shape lead;
    int64_t M, N, K;
    bool ta, tb, bias;
    DType dtype;
  };
  const Timed timed[] = {
      {"sam qkv 4096x2304x768 +bias", "gemm", {}, 4096, 2304, 768, false, false, true, DType::F32},
      {"sam qkv bf16 4096x2304x768 +bias", "gemm", {}, 4096, 2304, 768, false, false, true, DType::BF16},
      {"sam mlp1 4096x3072x768 +bias", "gemm", {}, 4096, 3072, 768, false, false, true, DType::F32},
      {"sam mlp2 4096x768x3072 +bias", "gemm", {}, 4096, 768, 3072, false, false, true, DType::F32},
      {"sam mlp2 input grad 4096x3072x768 tB", "gemm", {}, 4096, 3072, 768, false, true, false, DType::F32},
      {"sam qkv weight grad 768x2304x4096 tA", "gemm_accumulate", {}, 768, 2304, 4096, true, false, false, DType::F32},
      {"sam window scores 300x196x196x64 tB", "gemm", {300}, 196, 196, 64, false, true, false, DType::F32},
      {"sam global scores 12x4096x4096x64 tB", "gemm", {12}, 4096, 4096, 64, false, true, false, DType::F32},
      {"sam global values 12x4096x64x4096", "gemm", {12}, 4096, 64, 4096, false, false, false, DType::F32},
  };
  for (const Timed& t : timed) {
    double batch = static_cast<double>(shape_numel(t.lead));
    std::vector<Tensor> inputs = operands(t.lead, t.lead, t.M, t.N, t.K, t.ta, t.tb, 190);
    if (t.bias) inputs.push_back(random_tensor({t.N}, 192));
    if (std::string(t.op) == "gemm_accumulate") inputs.push_back(random_tensor({t.M, t.N}, 194));
    double element = t.dtype == DType::F32 ? 4 : 2;
    double bytes = element * batch * double(t.M * t.K + t.K * t.N + t.M * t.N) + (t.bias ? element * double(t.N) : 0);
    double tolerance = t.dtype == DType::F32 ? (t.K >= 2048 ? 2e-4 : 1e-4) : kHalfTolerance;
    cases.push_back({t.label, t.op, inputs, transposes(t.ta, t.tb), tolerance, 2 * batch * double(t.M) * double(t.N) * double(t.K), bytes, t.dtype});
  }
  return cases;
}

const bool registered = register_cases("elementwise", elementwise_cases) && register_cases("gemm", gemm_cases);

}  // namespace
}  // namespace samcobot::parity
