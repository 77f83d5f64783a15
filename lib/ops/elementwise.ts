/** Elementwise ops, fills, casts and the sum reduction (native/ops/elementwise.cc). */
import { Tensor, type DType } from '../tensor.js';
import { runOp } from './core.js';

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
