/** Gradient clipping by global norm (torch.nn.utils.clip_grad_norm_), without a host sync. */
import type { Parameter } from '../nn/parameter.js';
import { clipScale, globalNorm } from '../ops/optim.js';
import { Tensor } from '../tensor.js';
import { expected } from '../errors.js';

/**
 * The global L2 norm of the gradients of `params` (those whose grad is null are left out), and the
 * clipping coefficient `scale` = min(1, maxNorm / (norm + 1e-6)), both (1) tensors on the
 * gradients' device. The gradients are not modified: pass `scale` to the next step,
 * `optimizer.step({ gradScale: scale })`, which multiplies every gradient by it inside the fused
 * update (the same result as PyTorch's in-place clipping followed by step(), one pass fewer, and
 * no host sync: nothing is read back). The caller owns both tensors.
 */
export function clipGradNorm(params: Parameter[], maxNorm: number): { norm: Tensor; scale: Tensor } {
  if (!(Number.isFinite(maxNorm) && maxNorm > 0)) throw expected('ERR_ARGUMENT', 'a finite number > 0', 'maxNorm', maxNorm);
  const grads = params.flatMap((p) => (p.grad ? [p.grad] : []));
  if (grads.length === 0) {
    // PyTorch returns a norm of 0 when no parameter has a gradient; the coefficient is then 1.
    const like = params[0]?.value;
    return { norm: Tensor.zeros([1], { device: like?.device, dtype: like?.dtype }), scale: Tensor.ones([1], { device: like?.device, dtype: like?.dtype }) };
  }
  const norm = globalNorm(grads);
  return { norm, scale: clipScale(norm, maxNorm) };
}
