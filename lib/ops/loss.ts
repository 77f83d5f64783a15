/**
 * The fused losses (native/ops/loss.cc; cobot-method.md §10.7): value and gradient in one op, in
 * two passes over each mask, with fixed-order double sums (deterministic). Letters: P masks (the
 * leading dimension), M pixels per mask (every other dimension).
 */
import type { Tensor } from '../tensor.js';
import { runOp } from './core.js';

export interface MaskLossTermsOptions {
  /** Weight of BCE-with-logits, mean over a mask's pixels (default 1). */
  bce?: number;
  /** Weight of the soft Dice loss (default 1). */
  dice?: number;
  /** Weight of the sigmoid focal loss, mean over a mask's pixels (default 0). */
  focal?: number;
  /**
   * Dice denominator (default 'squared'): 'squared' Σp² + Σg² (MONAI `squared_pred`, the medical
   * recipe), 'plain' Σp + Σg.
   */
  diceForm?: 'squared' | 'plain';
  /** Added to the Dice numerator and denominator (default 1e-5). */
  smooth?: number;
  /** Focal exponent γ (default 2). */
  focalGamma?: number;
  /** Focal class weight α of the positives (default 0.25); negative: no α weighting. */
  focalAlpha?: number;
  /** Multiplies the returned gradient, e.g. 1/N to average over N accumulated batches (default 1). */
  gradScale?: number;
}

export interface MaskLossResult {
  /** (1): the mean over masks of bce·BCE + dice·Dice + focal·Focal. */
  loss: Tensor;
  /** (3): the unweighted means over masks of [BCE, Dice, focal]. */
  terms: Tensor;
  /** The logits' shape: gradScale · ∂loss/∂logits. */
  grad: Tensor;
}

/**
 * Mask losses of `logits` (P, ...) against `target` (same shape, values in [0, 1]): each of the P
 * leading entries is one mask, every remaining dimension its pixels. Stable for any |logit|.
 * Per mask, with p = σ(z): BCE = mean of max(z, 0) − z·g + log(1 + e^(−|z|)); Dice = 1 − (2Σpg + ε) /
 * (Σp² + Σg² + ε) (or Σp + Σg); focal = mean of α_t · BCE_pixel · (1 − p_t)^γ (RetinaNet).
 */
export function maskLoss(logits: Tensor, target: Tensor, options: MaskLossTermsOptions = {}): MaskLossResult {
  const [loss, terms, grad] = runOp('mask_loss', [logits, target], {
    bce: options.bce ?? 1,
    dice: options.dice ?? 1,
    focal: options.focal ?? 0,
    diceForm: options.diceForm ?? 'squared',
    smooth: options.smooth ?? 1e-5,
    focalGamma: options.focalGamma ?? 2,
    focalAlpha: options.focalAlpha ?? 0.25,
    gradScale: options.gradScale ?? 1,
  });
  return { loss: loss!, terms: terms!, grad: grad! };
}

/**
 * Mean squared error of `pred` against `target` (same shape), as for SAM's IoU-prediction head
 * (target: the IoU of each thresholded mask with its ground truth, computed by the caller).
 * Returns `loss` (1) and `grad` (pred's shape) = gradScale · 2 (pred − target) / numel.
 */
export function mseLoss(pred: Tensor, target: Tensor, options: { gradScale?: number } = {}): { loss: Tensor; grad: Tensor } {
  const [loss, grad] = runOp('mse_loss', [pred, target], { gradScale: options.gradScale ?? 1 });
  return { loss: loss!, grad: grad! };
}
