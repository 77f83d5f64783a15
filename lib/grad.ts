/**
 * Backward passes of the primitive ops (GEMM, broadcasting arithmetic, scale, sum, cast), built from
 * the forward ops themselves. Modules call these in their `backward`; each takes the output gradient
 * and what the forward used, computes only the gradients asked for, and returns new tensors the
 * caller owns (a gradient equal to the output gradient is a new handle on the same storage, so each
 * can be disposed on its own).
 */
import { SamCobotError } from './errors.js';
import { Tensor, type DType } from './tensor.js';
import { accumulate, add, cast, div, mul, scale, sum } from './ops/elementwise.js';
import { gemm, gemmAccumulate } from './ops/gemm.js';

/** How the forward `gemm` was called. */
export interface GemmForward {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  hasBias?: boolean;
}

/** Which gradients to compute; a frozen operand gets none (no GEMM is run for it). */
export interface GemmNeeds {
  needA?: boolean;
  needB?: boolean;
  needBias?: boolean;
}

export interface GemmGradients {
  dA?: Tensor;
  dB?: Tensor;
  dBias?: Tensor;
}

/** A handle on the same storage, so the caller may dispose it independently of `t`. */
const alias = (t: Tensor): Tensor => t.reshape(t.shape);

/**
 * `alpha * op(x) @ op(y)` into a new tensor, or added into `target` when given. A rank-2 `x` with
 * a batched `y` (which gemm does not take) is broadcast over y's batch first.
 */
function product(x: Tensor, transX: boolean, y: Tensor, transY: boolean, alpha: number, target?: Tensor): Tensor {
  let first = x;
  if (x.shape.length === 2 && y.shape.length > 2) {
    const lead = y.shape.slice(0, -2);
    const zeros = Tensor.zeros([...lead, 1, 1], { dtype: x.dtype, device: x.device });
    first = add(zeros, x);
    zeros.dispose();
  }
  try {
    if (!target) return gemm(first, y, { transA: transX, transB: transY, alpha });
    gemmAccumulate(target, first, y, { transA: transX, transB: transY, alpha, beta: 1 });
    return target;
  } finally {
    if (first !== x) first.dispose();
  }
}

/**
 * Gradients of `out = alpha * op(a) @ op(b) (+ bias)` (see {@link gemm} for the shapes), given
 * `dOut` with out's shape:
 *  - dA = alpha * dOut @ op(b)^T (transposed back when transA), with a's shape;
 *  - dB = alpha * op(a)^T @ dOut (transposed back when transB), with b's shape; for a shared rank-2
 *    `b` it sums over a's batch: one GEMM over the folded rows (a and dOut viewed as 2-D) when a is
 *    not transposed, else one accumulating GEMM over the batch;
 *  - dBias = dOut summed over every axis but the last, shape (N).
 * With `into`, each requested gradient is added into the given tensor (gradient accumulation
 * without temporaries) and that tensor is returned.
 */
export function gemmBackward(a: Tensor, b: Tensor, dOut: Tensor, forward: GemmForward, need: GemmNeeds, into: GemmGradients = {}): GemmGradients {
  const transA = forward.transA ?? false;
  const transB = forward.transB ?? false;
  const alpha = forward.alpha ?? 1;
  if (need.needBias && !forward.hasBias)
    throw new SamCobotError('ERR_ARGUMENT', 'Expected hasBias: true for needBias (the forward had no bias) but received hasBias: false');
  const result: GemmGradients = {};
  if (need.needA) {
    result.dA = transA ? product(b, transB, dOut, true, alpha, into.dA) : product(dOut, false, b, !transB, alpha, into.dA);
  }
  if (need.needB) {
    const sharedB = b.shape.length === 2 && a.shape.length > 2;
    if (sharedB && !transA) {
      const rows = a.shape.slice(0, -1).reduce((m, d) => m * d, 1);
      const a2 = a.reshape([rows, a.shape.at(-1)!]);
      const dOut2 = dOut.reshape([rows, dOut.shape.at(-1)!]);
      result.dB = transB ? product(dOut2, true, a2, false, alpha, into.dB) : product(a2, true, dOut2, false, alpha, into.dB);
      a2.dispose();
      dOut2.dispose();
    } else if (sharedB) {
      const batch = a.shape.slice(0, -2).reduce((m, d) => m * d, 1);
      const options = { dtype: b.dtype, device: b.device };
      result.dB = into.dB ?? (batch === 0 ? Tensor.zeros(b.shape, options) : Tensor.empty(b.shape, options));
      if (batch > 0) {
        // gemm_accumulate sums a batched product into a rank-2 C only when there is a batch to sum.
        const target = batch > 1 ? result.dB : result.dB.reshape([...a.shape.slice(0, -2), ...b.shape]);
        const scaling = { alpha, beta: into.dB ? 1 : 0 };
        if (transB) gemmAccumulate(target, dOut, a, { ...scaling, transA: true, transB: true });
        else gemmAccumulate(target, a, dOut, scaling);
        if (target !== result.dB) target.dispose();
      }
    } else {
      result.dB = transB ? product(dOut, true, a, transA, alpha, into.dB) : product(a, !transA, dOut, false, alpha, into.dB);
    }
  }
  if (need.needBias) {
    const total = sum(dOut, dOut.shape.slice(0, -1).map((_, i) => i));
    if (into.dBias) {
      accumulate(into.dBias, total);
      total.dispose();
      result.dBias = into.dBias;
    } else {
      result.dBias = total;
    }
  }
  return result;
}

/** Sums a broadcast gradient back to `shape` (the axes broadcasting added or stretched from 1). */
export function reduceToShape(grad: Tensor, shape: readonly number[]): Tensor {
  const gradShape = grad.shape;
  if (gradShape.length === shape.length && gradShape.every((d, i) => d === shape[i])) return alias(grad);
  const offset = gradShape.length - shape.length;
  const axes = gradShape.map((_, i) => i).filter((i) => i < offset || (shape[i - offset] === 1 && gradShape[i] !== 1));
  if (axes.length === 0) return grad.reshape(shape);
  const summed = sum(grad, axes, true);
  const reshaped = summed.reshape(shape);
  summed.dispose();
  return reshaped;
}

export type BinaryKind = 'add' | 'sub' | 'mul' | 'div';

/**
 * Gradients of the broadcasting `add`, `sub`, `mul` or `div` of `a` and `b`, each summed back to
 * its input's shape:
 *  add: dA = dOut, dB = dOut;  sub: dB = -dOut;  mul: dA = dOut * b, dB = dOut * a;
 *  div: dA = dOut / b, dB = -dOut * a / b^2.
 */
export function binaryBackward(kind: BinaryKind, a: Tensor, b: Tensor, dOut: Tensor, need: { needA?: boolean; needB?: boolean }): { dA?: Tensor; dB?: Tensor } {
  const result: { dA?: Tensor; dB?: Tensor } = {};
  const owned: Tensor[] = [];
  const keep = (t: Tensor): Tensor => (owned.push(t), t);
  try {
    if (need.needA) {
      const full = kind === 'mul' ? keep(mul(dOut, b)) : kind === 'div' ? keep(div(dOut, b)) : dOut;
      result.dA = reduceToShape(full, a.shape);
    }
    if (need.needB) {
      let full: Tensor;
      if (kind === 'add') full = dOut;
      else if (kind === 'sub') full = keep(scale(dOut, -1));
      else if (kind === 'mul') full = keep(mul(dOut, a));
      else full = keep(scale(keep(div(keep(mul(keep(div(dOut, b)), a)), b)), -1));
      result.dB = reduceToShape(full, b.shape);
    }
    return result;
  } finally {
    for (const t of owned) t.dispose();
  }
}

/** Gradient of `scale(x, alpha, beta)`: alpha * dOut (beta is a constant). */
export const scaleBackward = (dOut: Tensor, alpha: number): Tensor => scale(dOut, alpha);

/**
 * Gradient of `sum(x, axes, keepDims)`: dOut broadcast back over the summed axes, with x's shape
 * `inputShape` (dOut is first given the kept size-1 axes when keepDims was false).
 */
export function sumBackward(dOut: Tensor, inputShape: readonly number[], axes: readonly number[]): Tensor {
  const rank = inputShape.length;
  const summed = new Set(axes.map((axis) => (axis < 0 ? axis + rank : axis)));
  const keptShape = inputShape.map((d, i) => (summed.has(i) ? 1 : d));
  const kept = dOut.reshape(keptShape);
  const zeros = Tensor.zeros(inputShape, { dtype: dOut.dtype, device: dOut.device });
  const grad = add(zeros, kept);
  zeros.dispose();
  kept.dispose();
  return grad;
}

/** Gradient of `cast(x, ...)`: dOut cast back to x's dtype `inputDtype` (a float dtype). */
export function castBackward(dOut: Tensor, inputDtype: DType): Tensor {
  if (inputDtype !== 'f32' && inputDtype !== 'f64' && inputDtype !== 'bf16' && inputDtype !== 'f16')
    throw new SamCobotError('ERR_DTYPE', `Expected a floating-point dtype for the input of cast (integers have no gradient) but received "${inputDtype}"`);
  return cast(dOut, inputDtype);
}
