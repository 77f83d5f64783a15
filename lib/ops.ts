/**
 * Typed entry points to the native op table. Each call validates synchronously (a bad shape
 * throws here) and queues the work on the inputs' device.
 */
import { call, type Attrs } from './native.js';
import { Tensor, type DType } from './tensor.js';
import type { Device } from './device.js';

/** Runs a native op by name and wraps its outputs. */
export function runOp(name: string, inputs: Tensor[], attrs: Attrs = {}, device?: Device): Tensor[] {
  return call((a) => a.op(name, inputs.map((t) => t.handle), attrs, device)).map((h) => new Tensor(h));
}

export interface GemmOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  bias?: Tensor;
}

/**
 * `alpha * op(a) @ op(b) (+ bias)`. `a` is (..., M, K) (or (..., K, M) with transA); `b` is (K, N)
 * shared by every batch (then a's leading dims fold into M) or batched like `a`.
 */
export function gemm(a: Tensor, b: Tensor, options: GemmOptions = {}): Tensor {
  const inputs = options.bias ? [a, b, options.bias] : [a, b];
  return runOp('gemm', inputs, { transA: options.transA, transB: options.transB, alpha: options.alpha })[0]!;
}

/** In place: `c = alpha * op(a) @ op(b) + beta * c`; a rank-2 `c` with batched inputs sums over the batch. */
export function gemmAccumulate(c: Tensor, a: Tensor, b: Tensor, options: { transA?: boolean; transB?: boolean; alpha?: number; beta?: number } = {}): void {
  runOp('gemm_accumulate', [a, b, c], options);
}

/** Elementwise with NumPy broadcasting. */
export const add = (a: Tensor, b: Tensor): Tensor => runOp('add', [a, b])[0]!;
export const sub = (a: Tensor, b: Tensor): Tensor => runOp('sub', [a, b])[0]!;
export const mul = (a: Tensor, b: Tensor): Tensor => runOp('mul', [a, b])[0]!;
export const div = (a: Tensor, b: Tensor): Tensor => runOp('div', [a, b])[0]!;

/** `alpha * x + beta`. */
export const scale = (x: Tensor, alpha: number, beta = 0): Tensor => runOp('scale', [x], { alpha, beta })[0]!;

/** Sum over `axes` (negative counts from the end). */
export const sum = (x: Tensor, axes: number[], keepDims = false): Tensor => runOp('sum', [x], { axes, keepDims })[0]!;

/** In place: `target += alpha * source` (same shape). */
export function accumulate(target: Tensor, source: Tensor, alpha = 1): void {
  runOp('accumulate', [target, source], { alpha });
}

/** In place: every element of `t` set to `value`. */
export function fill(t: Tensor, value: number): void {
  runOp('fill', [t], { value });
}

/** A new tensor with the same values. */
export const copy = (x: Tensor): Tensor => runOp('copy', [x])[0]!;

/** The values converted to `dtype` (bf16/f16 round to nearest even). */
export const cast = (x: Tensor, dtype: DType): Tensor => (x.dtype === dtype ? copy(x) : runOp('cast', [x], { dtype })[0]!);
