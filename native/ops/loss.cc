// Validation and registration of the loss ops (kernels: native/cpu/loss.cc, native/cuda/loss.cu;
// formulas: loss_math.h). P masks (the leading dimension), M pixels per mask (all the others).
//   mask_loss [logits (P, ...), target (same shape, values in [0, 1])]
//             {bce, dice, focal: weights (1, 1, 0); diceForm: 'squared' | 'plain'; smooth (1e-5);
//              focalGamma (2); focalAlpha (0.25, negative: none); gradScale (1)}
//             -> [total (1), terms (3) = mean over masks of [BCE, Dice, focal], dLogits = gradScale · ∂total/∂logits]
//   mse_loss  [pred, target (same shape)]  {gradScale (1)}
//             -> [loss (1) = mean of (pred − target)², dPred = gradScale · ∂loss/∂pred]
// Inputs share one float dtype: f32 or f64 on the CPU, f32, bf16 or f16 on CUDA (arithmetic in f32).
#include "../core/op.h"
#include "../cpu/loss.h"
#include "loss_math.h"
#ifdef SAM_COBOT_WITH_CUDA
#include "../cuda/loss.h"
#endif

namespace samcobot {
namespace {

// Checks a (prediction, target) pair: same float dtype and shape, at least one element.
void check_pair(const std::string& op, const std::vector<Tensor>& in, const std::string& first) {
  expect_inputs(op, in, 2, 2);
  expect_float(op, first, in[0]);
  expect_same_dtype(op, "target", in[1], in[0]);
  expect_shape(op, "target", in[1], in[0].shape());
}

std::vector<TensorSpec> validate_mask_loss(const std::vector<Tensor>& in, const Attrs& attrs) {
  const std::string op = "mask_loss";
  check_pair(op, in, "logits (P, ...)");
  expect_rank_at_least(op, "logits (P, ...)", in[0], 1);
  if (in[0].numel() == 0) fail("ERR_SHAPE", op, "at least one mask of at least one pixel", "logits (P, ...)", shape_string(in[0].shape()));
  mask_loss_config(op, attrs);
  const DType t = in[0].dtype();
  return {{{1}, t}, {{3}, t}, {in[0].shape(), t}};
}

std::vector<TensorSpec> validate_mse_loss(const std::vector<Tensor>& in, const Attrs& attrs) {
  const std::string op = "mse_loss";
  check_pair(op, in, "pred");
  if (in[0].numel() == 0) fail("ERR_SHAPE", op, "at least one element", "pred", shape_string(in[0].shape()));
  attrs.finite_or(op, "gradScale", 1);
  const DType t = in[0].dtype();
  return {{{1}, t}, {in[0].shape(), t}};
}

}  // namespace

SAM_COBOT_OP({"mask_loss", validate_mask_loss, cpu::mask_loss, CUDA_KERNEL(mask_loss)});
SAM_COBOT_OP({"mse_loss", validate_mse_loss, cpu::mse_loss, CUDA_KERNEL(mse_loss)});

}  // namespace samcobot
