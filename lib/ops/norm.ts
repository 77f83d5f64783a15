/**
 * LayerNorm (native/ops/norm.cc): over the last axis of tokens, or over the channels of NCHW maps
 * (SAM's LayerNorm2d). Biased variance, as in sam-architecture.md (preamble).
 */
import type { Tensor } from '../tensor.js';
import { runOp } from './core.js';

export interface LayerNormOptions {
  /** Added to the variance (default 1e-5; SAM's encoder and LayerNorm2d use 1e-6). */
  eps?: number;
  /** -1: normalise the last axis of x (..., C) (default); 1: the C of x (B, C, H, W). */
  axis?: -1 | 1;
}

export interface LayerNormResult {
  /** x's shape: (x − mean) · rstd · weight + bias. */
  y: Tensor;
  /** x's shape without the normalised axis ((...) for axis -1, (B, H, W) for axis 1); f32 when x is bf16/f16. */
  mean: Tensor;
  /** 1 / √(var + eps), shaped like `mean`. */
  rstd: Tensor;
}

/**
 * LayerNorm of `x` with `weight` (C) and `bias` (C). `mean` and `rstd` are what
 * {@link layerNormBackward} needs besides x and weight.
 */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, options: LayerNormOptions = {}): LayerNormResult {
  const [y, mean, rstd] = runOp('layer_norm', [x, weight, bias], { eps: options.eps ?? 1e-5, axis: options.axis ?? -1 });
  return { y: y!, mean: mean!, rstd: rstd! };
}

export interface LayerNormBackwardOptions {
  /** The axis the forward normalised (default -1). */
  axis?: -1 | 1;
  /** Compute dweight and dbias (default true; false for a frozen LayerNorm). */
  needWeight?: boolean;
}

/**
 * Gradients of {@link layerNorm} from `dy` (x's shape): `dx` (x's shape), and when `needWeight`,
 * `dweight` (C) and `dbias` (C), summed over every position in a fixed order (deterministic).
 */
export function layerNormBackward(
  dy: Tensor,
  x: Tensor,
  weight: Tensor,
  mean: Tensor,
  rstd: Tensor,
  options: LayerNormBackwardOptions = {},
): { dx: Tensor; dweight?: Tensor; dbias?: Tensor } {
  const needWeight = options.needWeight ?? true;
  const [dx, dweight, dbias] = runOp('layer_norm_backward', [dy, x, weight, mean, rstd], { axis: options.axis ?? -1, needWeight });
  return needWeight ? { dx: dx!, dweight: dweight!, dbias: dbias! } : { dx: dx! };
}
