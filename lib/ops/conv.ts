/**
 * 2-D convolutions on NCHW maps (native/ops/conv.cc): conv2d and conv_transpose2d with symmetric
 * zero padding, each with a backward told which gradients are needed. f64/f32 on the CPU, f32 on CUDA.
 */
import type { Tensor } from '../tensor.js';
import { runOp } from './core.js';

/** One value for both axes, or [h, w]. */
export type ConvPair = number | readonly [number, number];

export interface ConvOptions {
  /** Default 1. */
  stride?: ConvPair;
  /** Zero padding on each side (default 0). */
  padding?: ConvPair;
}

export interface ConvBackwardOptions extends ConvOptions {
  /** Compute dx (default true). */
  needInput?: boolean;
  /** Compute dw (default true; false for a frozen weight). */
  needWeight?: boolean;
  /** Compute db (default false). */
  needBias?: boolean;
}

export interface ConvGradients {
  dx?: Tensor;
  dw?: Tensor;
  db?: Tensor;
}

const pair = (p: ConvPair | undefined): number | number[] | undefined => (typeof p === 'object' ? [...p] : p);

function backward(op: string, dy: Tensor, x: Tensor, w: Tensor, options: ConvBackwardOptions): ConvGradients {
  const needInput = options.needInput ?? true;
  const needWeight = options.needWeight ?? true;
  const needBias = options.needBias ?? false;
  const outputs = runOp(op, [dy, x, w], { stride: pair(options.stride), padding: pair(options.padding), needInput, needWeight, needBias });
  const grads: ConvGradients = {};
  if (needInput) grads.dx = outputs.shift();
  if (needWeight) grads.dw = outputs.shift();
  if (needBias) grads.db = outputs.shift();
  return grads;
}

/**
 * Cross-correlation of x (B, Cin, H, W) with w (Cout, Cin, kh, kw) [+ bias (Cout)], as PyTorch's
 * conv2d: y (B, Cout, Ho, Wo) with Ho = ⌊(H + 2·ph − kh) / sh⌋ + 1 (likewise Wo).
 */
export function conv2d(x: Tensor, w: Tensor, bias?: Tensor, options: ConvOptions = {}): Tensor {
  const inputs = bias ? [x, w, bias] : [x, w];
  return runOp('conv2d', inputs, { stride: pair(options.stride), padding: pair(options.padding) })[0]!;
}

/**
 * Gradients of {@link conv2d} from dy (B, Cout, Ho, Wo): dx like x, dw like w (summed over the
 * batch, deterministic), db (Cout); only those requested.
 */
export const conv2dBackward = (dy: Tensor, x: Tensor, w: Tensor, options: ConvBackwardOptions = {}): ConvGradients =>
  backward('conv2d_backward', dy, x, w, options);

/**
 * Transposed convolution (PyTorch's conv_transpose2d, no output padding) of x (B, Cin, H, W) with
 * w stored (Cin, Cout, kh, kw) [+ bias (Cout)]: y (B, Cout, (H − 1)·sh − 2·ph + kh, (W − 1)·sw − 2·pw + kw).
 * With stride = kernel and no padding, y[b, o, s·y + a, s·x + c] = bias[o] + Σ_i x[b, i, y, x] · w[i, o, a, c].
 */
export function convTranspose2d(x: Tensor, w: Tensor, bias?: Tensor, options: ConvOptions = {}): Tensor {
  const inputs = bias ? [x, w, bias] : [x, w];
  return runOp('conv_transpose2d', inputs, { stride: pair(options.stride), padding: pair(options.padding) })[0]!;
}

/**
 * Gradients of {@link convTranspose2d} from dy (y's shape): dx like x, dw like w (summed over the
 * batch, deterministic), db (Cout); only those requested.
 */
export const convTranspose2dBackward = (dy: Tensor, x: Tensor, w: Tensor, options: ConvBackwardOptions = {}): ConvGradients =>
  backward('conv_transpose2d_backward', dy, x, w, options);
