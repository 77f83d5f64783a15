/** Matrix products (native/ops/gemm.cc). */
import { Tensor } from '../tensor.js';
import { runOp } from './core.js';

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

