// CPU-vs-CUDA parity cases of the layout family: odd sizes that exercise tile and unit remainders,
// integer and half-precision storage, and the SAM ViT-B shapes (windows of the 64x64 grid with
// ws 14, the qkv split into heads and its merge, the neck's NHWC -> NCHW, the 256 -> 1024 mask
// upsampling), the latter with the bytes they must move for the bandwidth floor. Data movement is
// exact (tolerance 0); the resizes round like the CPU in the forward and sum in another order in
// the backward.
#include "parity.h"

namespace samcobot::parity {
namespace {

// A CPU tensor of `dtype` (i32 or u8) holding i mod 251.
Tensor integer_tensor(const Shape& shape, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype, Device::Cpu);
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (dtype == DType::I32) t.data<int32_t>()[i] = int32_t(i % 251);
    else t.data<uint8_t>()[i] = uint8_t(i % 251);
  }
  return t;
}

Attrs list_attr(const std::string& key, const std::vector<double>& values) {
  Attrs a;
  a.lists[key] = values;
  return a;
}

Attrs number_attrs(const std::vector<std::pair<std::string, double>>& values) {
  Attrs a;
  for (const auto& [key, v] : values) a.numbers[key] = v;
  return a;
}

// Bytes read plus bytes written by a pure copy of `t`.
double moved(const Tensor& t) { return 2.0 * double(t.bytes()); }

Case permute_case(const std::string& label, const Tensor& x, const std::vector<double>& dims, DType cuda_dtype = DType::F32) {
  Case c{label, "permute", {x}, list_attr("dims", dims), 0.0};
  c.bytes = moved(x) * (cuda_dtype == DType::F32 ? 1.0 : 0.5);  // a bf16 case moves half of the f32 input's bytes
  c.cuda_dtype = cuda_dtype;
  return c;
}

Case window_case(const std::string& label, const Tensor& x, int64_t ws, bool partition) {
  int64_t B = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  int64_t windows = B * ((H + ws - 1) / ws) * ((W + ws - 1) / ws);
  double padded_bytes = double(windows * ws * ws * C) * double(dtype_size(x.dtype()));
  if (partition) {
    Case c{label, "window_partition", {x}, number_attrs({{"window", double(ws)}}), 0.0};
    c.bytes = double(x.bytes()) + padded_bytes;
    return c;
  }
  Tensor y = x.dtype() == DType::F32 ? random_tensor({windows, ws, ws, C}, 11) : integer_tensor({windows, ws, ws, C}, x.dtype());
  Case c{label, "window_unpartition", {y}, number_attrs({{"window", double(ws)}, {"height", double(H)}, {"width", double(W)}}), 0.0};
  c.bytes = 2.0 * double(x.bytes());  // the padded positions are never read
  return c;
}

Case resize_case(const std::string& label, const Shape& in, int64_t height, int64_t width, bool backward, double tolerance,
                 DType cuda_dtype = DType::F32) {
  Shape out = in;
  out[2] = height;
  out[3] = width;
  Tensor x = random_tensor(backward ? out : in, 5);
  Case c{label, backward ? "bilinear_resize_backward" : "bilinear_resize", {x},
         number_attrs({{"height", double(backward ? in[2] : height)}, {"width", double(backward ? in[3] : width)}}), tolerance};
  c.bytes = double(shape_numel(in) + shape_numel(out)) * (cuda_dtype == DType::F32 ? 4.0 : 2.0);
  c.cuda_dtype = cuda_dtype;
  return c;
}

std::vector<Case> make_layout_cases() {
  std::vector<Case> cases;
  // permute: odd sizes, every path (rows of odd byte counts, tiles with remainders, size-1 dims)
  cases.push_back(permute_case("permute (2,5,3,7,9) qkv-like", random_tensor({2, 5, 3, 7, 9}, 1), {2, 0, 3, 1, 4}));
  cases.push_back(permute_case("permute (3,37,33) last two", random_tensor({3, 37, 33}, 2), {0, 2, 1}));
  cases.push_back(permute_case("permute (5,7,11,13) innermost to front", random_tensor({5, 7, 11, 13}, 3), {3, 1, 0, 2}));
  cases.push_back(permute_case("permute (1,6,1,5) reverse", random_tensor({1, 6, 1, 5}, 4), {3, 2, 1, 0}));
  cases.push_back(permute_case("permute u8 (4,9,3) rows of 3 bytes", integer_tensor({4, 9, 3}, DType::U8), {1, 0, 2}));
  cases.push_back(permute_case("permute u8 (2,33,35) last two", integer_tensor({2, 33, 35}, DType::U8), {0, 2, 1}));
  cases.push_back(permute_case("permute i32 (3,4,5,6)", integer_tensor({3, 4, 5, 6}, DType::I32), {2, 3, 0, 1}));
  cases.push_back(permute_case("permute bf16 (3,37,33) last two", random_tensor({3, 37, 33}, 2), {0, 2, 1}, DType::BF16));
  // permute: SAM ViT-B
  cases.push_back(permute_case("permute qkv (1,4096,3,12,64) -> heads", random_tensor({1, 4096, 3, 12, 64}, 6), {2, 0, 3, 1, 4}));
  cases.push_back(permute_case("permute heads (1,12,64,64,64) -> NHWC", random_tensor({1, 12, 64, 64, 64}, 7), {0, 2, 3, 1, 4}));
  cases.push_back(permute_case("permute neck (1,64,64,768) -> NCHW", random_tensor({1, 64, 64, 768}, 8), {0, 3, 1, 2}));
  cases.push_back(permute_case("permute bf16 qkv (25,196,3,12,64)", random_tensor({25, 196, 3, 12, 64}, 9), {2, 0, 3, 1, 4}, DType::BF16));

  // split, concat, slice
  {
    Tensor qkv = random_tensor({1, 4096, 2304}, 10);
    Case c{"split qkv (1,4096,2304) into 3", "split", {qkv}, number_attrs({{"axis", 2}}), 0.0};
    c.attrs.lists["sizes"] = {768, 768, 768};
    c.bytes = moved(qkv);
    cases.push_back(c);
    Case odd{"split (3,7,5) sizes 2,0,5", "split", {random_tensor({3, 7, 5}, 12)}, number_attrs({{"axis", 1}}), 0.0};
    odd.attrs.lists["sizes"] = {2, 0, 5};
    cases.push_back(odd);
    Tensor a = random_tensor({1, 4096, 768}, 13), b = random_tensor({1, 4096, 768}, 14), d = random_tensor({1, 4096, 768}, 15);
    Case cat{"concat 3 x (1,4096,768) last axis", "concat", {a, b, d}, number_attrs({{"axis", -1}}), 0.0};
    cat.bytes = 3.0 * moved(a);
    cases.push_back(cat);
    cases.push_back({"concat u8 (2,3,5)+(2,1,5) axis 1", "concat", {integer_tensor({2, 3, 5}, DType::U8), integer_tensor({2, 1, 5}, DType::U8)},
                     number_attrs({{"axis", 1}}), 0.0});
    Tensor padded = random_tensor({1, 70, 70, 768}, 16);
    Case crop{"slice (1,70,70,768) rows 0..64", "slice", {padded}, number_attrs({{"axis", 1}, {"start", 0}, {"end", 64}}), 0.0};
    crop.bytes = 2.0 * double(padded.bytes()) * 64.0 / 70.0;
    cases.push_back(crop);
    cases.push_back({"slice_backward (2,3,5) -> 11 at 4", "slice_backward", {random_tensor({2, 3, 5}, 17)},
                     number_attrs({{"axis", 2}, {"start", 4}, {"size", 11}}), 0.0});
  }

  // windows: odd sizes, integer storage, the SAM grid
  cases.push_back(window_case("window_partition (2,9,11,5) ws 4", random_tensor({2, 9, 11, 5}, 18), 4, true));
  cases.push_back(window_case("window_unpartition (2,9,11,5) ws 4", random_tensor({2, 9, 11, 5}, 18), 4, false));
  cases.push_back(window_case("window_partition u8 (1,7,5,3) ws 3", integer_tensor({1, 7, 5, 3}, DType::U8), 3, true));
  cases.push_back(window_case("window_unpartition i32 (1,7,5,3) ws 3", integer_tensor({1, 7, 5, 3}, DType::I32), 3, false));
  cases.push_back(window_case("window_partition (1,64,64,768) ws 14", random_tensor({1, 64, 64, 768}, 19), 14, true));
  cases.push_back(window_case("window_unpartition (1,64,64,768) ws 14", random_tensor({1, 64, 64, 768}, 19), 14, false));

  // resizes
  cases.push_back(resize_case("bilinear (2,3,7,5) -> 16x11", {2, 3, 7, 5}, 16, 11, false, 1e-6));
  cases.push_back(resize_case("bilinear backward (2,3,7,5) <- 16x11", {2, 3, 7, 5}, 16, 11, true, 1e-5));
  cases.push_back(resize_case("bilinear (1,2,33,17) -> 8x5", {1, 2, 33, 17}, 8, 5, false, 1e-6));
  cases.push_back(resize_case("bilinear backward (1,2,33,17) <- 8x5", {1, 2, 33, 17}, 8, 5, true, 1e-5));
  cases.push_back(resize_case("bilinear (1,3,256,256) -> 1024", {1, 3, 256, 256}, 1024, 1024, false, 1e-6));
  cases.push_back(resize_case("bilinear backward (1,3,256,256) <- 1024", {1, 3, 256, 256}, 1024, 1024, true, 1e-5));
  cases.push_back(resize_case("bilinear (1,3,1024,1024) -> 480x640", {1, 3, 1024, 1024}, 480, 640, false, 1e-6));
  cases.push_back(resize_case("bilinear bf16 (1,3,256,256) -> 1024", {1, 3, 256, 256}, 1024, 1024, false, 1e-2, DType::BF16));
  cases.push_back({"linear_resize_rows (27,64) -> 127", "linear_resize_rows", {random_tensor({27, 64}, 20)}, number_attrs({{"rows", 127}}), 1e-6});
  cases.push_back({"linear_resize_rows_backward (27,64) <- 127", "linear_resize_rows_backward", {random_tensor({127, 64}, 21)},
                   number_attrs({{"rows", 27}}), 1e-5});
  return cases;
}

const bool registered = register_cases("layout", make_layout_cases);

}  // namespace
}  // namespace samcobot::parity
