/**
 * Layout and resampling ops (native/ops/layout.cc): permute, split, concat, slice, window
 * partitioning, and PyTorch-exact linear resizes. The data-movement ops take any dtype; the resizes
 * take floating-point tensors. Each backward is named in its forward's doc.
 */
import { expected } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { runOp } from './core.js';

/**
 * The permutation that undoes `dims`: `permute(permute(x, dims), inversePermutation(dims))` is `x`.
 * @throws SamCobotError (ERR_ARGUMENT) when `dims` is not a permutation of 0..n-1.
 */
export function inversePermutation(dims: readonly number[]): number[] {
  const inverse = new Array<number>(dims.length).fill(-1);
  dims.forEach((d, i) => {
    if (!Number.isInteger(d) || d < 0 || d >= dims.length || inverse[d] !== -1)
      throw expected('ERR_ARGUMENT', `a permutation of 0..${dims.length - 1}`, 'dims', dims);
    inverse[d] = i;
  });
  return inverse;
}

/**
 * Reorders the axes: `y.shape[i] = x.shape[dims[i]]` (rank 8 or less).
 * Backward: `permute(dy, inversePermutation(dims))`.
 */
export const permute = (x: Tensor, dims: readonly number[]): Tensor => runOp('permute', [x], { dims: [...dims] })[0]!;

/**
 * Cuts `x` along `axis` (negative counts from the end) into pieces of `sizes[k]` (summing to
 * `x.shape[axis]`), one output per size, in order. Backward: {@link concat} of the piece gradients.
 */
export const split = (x: Tensor, axis: number, sizes: readonly number[]): Tensor[] => runOp('split', [x], { axis, sizes: [...sizes] });

/**
 * Joins 1 to 64 tensors of one dtype along `axis`; their shapes agree except along `axis`.
 * Backward: {@link split} of `dy` with the inputs' sizes along `axis`.
 */
export const concat = (xs: readonly Tensor[], axis: number): Tensor => runOp('concat', [...xs], { axis })[0]!;

/**
 * The elements `start <= i < end` along `axis` (`0 <= start <= end <= x.shape[axis]`).
 * Backward: {@link sliceBackward} with `start` and `size = x.shape[axis]`.
 */
export const slice = (x: Tensor, axis: number, start: number, end: number): Tensor => runOp('slice', [x], { axis, start, end })[0]!;

/** The gradient of {@link slice}: zeros with `size` along `axis`, and `dy` placed at `start`. */
export const sliceBackward = (dy: Tensor, axis: number, start: number, size: number): Tensor =>
  runOp('slice_backward', [dy], { axis, start, size })[0]!;

/**
 * Splits tokens `x` (B, H, W, C) into windows (B·nW, ws, ws, C) with ws = `window`, after padding
 * the grid with zeros at the bottom/right to Hp = ⌈H/ws⌉·ws by Wp = ⌈W/ws⌉·ws; nW = (Hp/ws)(Wp/ws).
 * Window n = (b·Hp/ws + i)·Wp/ws + j holds x[b, i·ws + r, j·ws + c] at (r, c)
 * (sam-architecture.md section 2.2). It is the adjoint of {@link windowUnpartition}, so the
 * backward of each is the other: `dx = windowUnpartition(dy, window, H, W)`.
 */
export const windowPartition = (x: Tensor, window: number): Tensor => runOp('window_partition', [x], { window })[0]!;

/**
 * Reassembles windows (B·nW, ws, ws, C) into tokens (B, height, width, C), dropping the padded
 * positions (the crop). The adjoint of {@link windowPartition}, which is therefore its backward:
 * `dy = windowPartition(dx, window)` (zeros where the windows held padding).
 */
export const windowUnpartition = (y: Tensor, window: number, height: number, width: number): Tensor =>
  runOp('window_unpartition', [y], { window, height, width })[0]!;

/**
 * Resizes `x` (B, C, H, W) to (B, C, height, width) as PyTorch's
 * `F.interpolate(x, (height, width), mode='bilinear', align_corners=False)` (no antialias), up or
 * down: source coordinate s = max(0, (o + ½)·in/out − ½), neighbours ⌊s⌋ and min(⌊s⌋ + 1, in − 1),
 * separable in y and x (sam-architecture.md section 5). Backward: {@link bilinearResizeBackward}.
 */
export const bilinearResize = (x: Tensor, height: number, width: number): Tensor =>
  runOp('bilinear_resize', [x], { height, width })[0]!;

/**
 * The gradient of {@link bilinearResize}: `dy` (B, C, h, w) to `dx` (B, C, height, width), where
 * height and width are the forward input's. Deterministic (no atomics).
 */
export const bilinearResizeBackward = (dy: Tensor, height: number, width: number): Tensor =>
  runOp('bilinear_resize_backward', [dy], { height, width })[0]!;

/**
 * Resizes a table `t` (L, D) to (rows, D) along its rows, per column, as PyTorch's
 * `F.interpolate(mode='linear', align_corners=False)` (the rel-pos table resize,
 * sam-architecture.md section 2.3). Backward: {@link linearResizeRowsBackward}.
 */
export const linearResizeRows = (t: Tensor, rows: number): Tensor => runOp('linear_resize_rows', [t], { rows })[0]!;

/** The gradient of {@link linearResizeRows}: `dy` (rows', D) to (rows, D), `rows` being the table's L. */
export const linearResizeRowsBackward = (dy: Tensor, rows: number): Tensor =>
  runOp('linear_resize_rows_backward', [dy], { rows })[0]!;
