/**
 * The training loss on SAM's mask logits (cobot-method.md §6, §9 item 7, §10.7): BCE-with-logits +
 * soft Dice (MONAI's squared form by default), optionally focal, fused with its gradient in one
 * native op, on the low-res logits (the medical recipe) or after a bilinear upsampling (the sonar
 * recipe), whose gradient is mapped back to the low-res logits.
 */
import { expected } from '../errors.js';
import { bilinearResize, bilinearResizeBackward } from '../ops/layout.js';
import { maskLoss as fusedMaskLoss, type MaskLossTermsOptions } from '../ops/loss.js';
import type { Tensor } from '../tensor.js';

export interface MaskLossOptions extends MaskLossTermsOptions {
  /**
   * Where the loss is taken (default 'lowres'): 'lowres' on the logits as given, against a target of
   * their shape; 'upsampled' on the logits resized bilinearly to `upsampleTo` (PyTorch's
   * align_corners=False; the official sonar code used align_corners=True).
   */
  at?: 'lowres' | 'upsampled';
  /** [height, width] of the upsampled logits (default: the target's last two dimensions). */
  upsampleTo?: [number, number];
}

export interface MaskLossOutput {
  /** (1): the mean over masks of the weighted terms. */
  loss: Tensor;
  /** (3): the means over masks of [BCE, Dice, focal]. */
  terms: Tensor;
  /** The logits' shape (low-res even when the loss is taken upsampled): gradScale · ∂loss/∂logits. */
  grad: Tensor;
}

/**
 * The mask loss of `logits` against `target` and its gradient, ready for `sam.backward({ masks: grad })`.
 * Every (h, w) plane of `logits` (..., h, w) is one mask (SAM's (P, M, h, w) low-res masks hold P·M
 * of them), and the loss is the mean over masks. `target` has the logits' shape ('lowres') or
 * (..., H, W) ('upsampled'), with values in [0, 1].
 */
export function maskLoss(logits: Tensor, target: Tensor, options: MaskLossOptions = {}): MaskLossOutput {
  const at = options.at ?? 'lowres';
  if (at !== 'lowres' && at !== 'upsampled') throw expected('ERR_ARGUMENT', "'lowres' or 'upsampled'", 'at', at);
  const shape = logits.shape;
  if (shape.length < 2) throw expected('ERR_SHAPE', 'logits (..., h, w)', 'logits', shape);
  const [h, w] = shape.slice(-2) as [number, number];
  const masks = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  const [height, width] = at === 'lowres' ? [h, w] : options.upsampleTo ?? (target.shape.slice(-2) as [number, number]);
  if (target.numel !== masks * height * width)
    throw expected('ERR_SHAPE', `a target of ${masks} masks of ${height}x${width} pixels`, 'target', target.shape);
  const planes = logits.reshape([masks, 1, h, w]);
  const flatTarget = target.reshape([masks, 1, height, width]);
  const upsampled = at === 'lowres' ? planes : bilinearResize(planes, height, width);
  try {
    const { loss, terms, grad } = fusedMaskLoss(upsampled, flatTarget, options);
    const lowRes = at === 'lowres' ? grad : bilinearResizeBackward(grad, h, w);
    if (lowRes !== grad) grad.dispose();
    const shaped = lowRes.reshape(shape);
    lowRes.dispose();
    return { loss, terms, grad: shaped };
  } finally {
    if (upsampled !== planes) upsampled.dispose();
    planes.dispose();
    flatTarget.dispose();
  }
}
