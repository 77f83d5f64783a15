// CPU-vs-CUDA parity cases of the loss family: mask_loss in every form (BCE + squared Dice, plain
// Dice, focal with and without α) at odd sizes (one pixel, masks that end mid-block and just past a
// chunk of kLossChunk pixels) and at the SAM shapes with the bytes they must move: the medical
// recipe's one 256×256 low-res mask, the sonar recipe's 12 objects upsampled to 1024×1024, and bf16
// logits; mse_loss for the IoU head (P×1) and a large input. Both backends take the per-pixel terms
// in their dtype and every sum in double over the same chunks, so the tolerances are small; bf16
// rounds the gradient to 2^-8.
#include "parity.h"

namespace samcobot::parity {
namespace {

// Targets in {0, 1}: 1 where a normal draw is above `threshold` (about 30% of the pixels).
Tensor binary_tensor(const Shape& shape, uint64_t seed, double threshold = 0.5) {
  Tensor t = random_tensor(shape, seed);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = p[i] > threshold ? 1.0f : 0.0f;
  return t;
}

Attrs loss_attrs(double bce, double dice, double focal, const char* form, double alpha) {
  Attrs a;
  a.numbers["bce"] = bce;
  a.numbers["dice"] = dice;
  a.numbers["focal"] = focal;
  a.strings["diceForm"] = form;
  a.numbers["focalAlpha"] = alpha;
  a.numbers["gradScale"] = 0.5;
  return a;
}

Case mask_case(const std::string& label, const Shape& shape, uint64_t seed, const Attrs& attrs, double logit_scale = 2.0) {
  Case c{"mask_loss " + label, "mask_loss", {random_tensor(shape, seed, logit_scale), binary_tensor(shape, seed + 1)}, attrs, 1e-5};
  c.bytes = 3.0 * double(shape_numel(shape)) * 4.0;  // read logits and targets, write the gradient
  return c;
}

std::vector<Case> make_loss_cases() {
  const Attrs medical = loss_attrs(1, 1, 0, "squared", 0.25);
  const Attrs everything = loss_attrs(0.5, 1, 2, "plain", 0.25);
  const Attrs focal_only = loss_attrs(0, 0, 1, "squared", -1);
  std::vector<Case> cases = {
      mask_case("one pixel", {1}, 1, everything),
      mask_case("(7, 13) odd, all terms, plain Dice", {7, 13}, 2, everything),
      mask_case("(3, 4099) past a chunk, focal without alpha", {3, 4099}, 3, focal_only),
      mask_case("(5, 1, 37, 41) large logits", {5, 1, 37, 41}, 4, everything, 30.0),
      mask_case("medical (1, 1, 256, 256)", {1, 1, 256, 256}, 5, medical),
      mask_case("sonar 12 objects (12, 1, 1024, 1024)", {12, 1, 1024, 1024}, 6, medical),
  };
  Case half = mask_case("bf16 (4, 1, 256, 256)", {4, 1, 256, 256}, 7, everything);
  half.cuda_dtype = DType::BF16;
  half.tolerance = 8e-3;
  half.bytes = 3.0 * 4 * 256 * 256 * 2.0;
  cases.push_back(half);
  for (const Shape& shape : {Shape{3, 1}, Shape{1000003}}) {
    Attrs a;
    a.numbers["gradScale"] = 0.25;
    Case mse{"mse_loss " + shape_string(shape), "mse_loss", {random_tensor(shape, 8), random_tensor(shape, 9)}, a, 1e-5};
    mse.bytes = 3.0 * double(shape_numel(shape)) * 4.0;
    cases.push_back(mse);
  }
  return cases;
}

const bool registered = register_cases("loss", make_loss_cases);

}  // namespace
}  // namespace samcobot::parity
