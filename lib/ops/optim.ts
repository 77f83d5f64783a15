/**
 * The fused optimizer ops (native/ops/optim.cc; cobot-method.md §10.8): one op updates every
 * tensor of a call in place, each with its own learning rate and weight decay, in PyTorch's
 * arithmetic order. The gradients are multiplied by `scale` (1, or {@link clipScale}'s coefficient),
 * a (1) tensor read on the device, so clipping needs no host sync. The classes of lib/optim/ are
 * the usual way to call these.
 */
import type { Tensor } from '../tensor.js';
import { runOp } from './core.js';

/** One tensor of an {@link adamStep}: the parameter, its gradient and its two moments (all one shape). */
export interface AdamTensors {
  param: Tensor;
  grad: Tensor;
  expAvg: Tensor;
  expAvgSq: Tensor;
}

export interface AdamStepOptions {
  /** One learning rate per tensor. */
  lr: number[];
  /** One weight decay per tensor (coupled L2 for Adam, decoupled for AdamW). */
  weightDecay: number[];
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** The step number k >= 1 of every tensor of the call (bias corrections 1 − β^k). */
  step: number;
  /** AdamW: p ← p·(1 − lr·wd) before the update; otherwise Adam: g ← g + wd·p (default false). */
  decoupled?: boolean;
}

/**
 * One Adam (or AdamW) step over `tensors`, in place: m ← β1·m + (1 − β1)·g, v ← β2·v + (1 − β2)·g²,
 * p ← p − lr/(1 − β1^k) · m / (√v/√(1 − β2^k) + eps), with g = scale·grad (plus wd·p for Adam).
 * `scale` is (1), same dtype as the parameters.
 */
export function adamStep(scale: Tensor, tensors: AdamTensors[], options: AdamStepOptions): void {
  const inputs = [scale, ...tensors.flatMap((t) => [t.param, t.grad, t.expAvg, t.expAvgSq])];
  runOp('adam_step', inputs, {
    lr: options.lr,
    weightDecay: options.weightDecay,
    beta1: options.beta1 ?? 0.9,
    beta2: options.beta2 ?? 0.999,
    eps: options.eps ?? 1e-8,
    step: options.step,
    decoupled: options.decoupled ?? false,
  });
}

/** One tensor of an {@link sgdStep}: the parameter, its gradient and its momentum buffer (all one shape). */
export interface SgdTensors {
  param: Tensor;
  grad: Tensor;
  momentumBuffer: Tensor;
}

export interface SgdStepOptions {
  lr: number[];
  weightDecay: number[];
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  /** 1 on a tensor's first step: the buffer is set to the gradient rather than decayed. */
  step: number;
}

/**
 * One SGD step over `tensors`, in place (torch.optim.SGD): g = scale·grad + wd·p; with momentum μ,
 * buf ← g on step 1, else μ·buf + (1 − dampening)·g, and g ← buf (or g + μ·buf, Nesterov); p ← p − lr·g.
 */
export function sgdStep(scale: Tensor, tensors: SgdTensors[], options: SgdStepOptions): void {
  const inputs = [scale, ...tensors.flatMap((t) => [t.param, t.grad, t.momentumBuffer])];
  runOp('sgd_step', inputs, {
    lr: options.lr,
    weightDecay: options.weightDecay,
    momentum: options.momentum ?? 0,
    dampening: options.dampening ?? 0,
    nesterov: options.nesterov ?? false,
    step: options.step,
  });
}

/** √(Σ g²) over every element of every tensor (one dtype), as (1); summed in double in a fixed order. */
export const globalNorm = (tensors: Tensor[]): Tensor => runOp('global_norm', tensors)[0]!;

/** min(1, maxNorm / (norm + 1e-6)) from a (1) `norm`, as (1): PyTorch's clip_grad_norm_ coefficient. */
export const clipScale = (norm: Tensor, maxNorm: number): Tensor => runOp('clip_scale', [norm], { maxNorm })[0]!;
