/**
 * The layout family: permute, split, concat, slice, window partitioning and the linear resizes.
 * Each op is checked by checkOp against a plain-JS reference (f64), in f32, by finite differences
 * of its backward, and on CUDA when a GPU answers; the data-movement ops again on integer dtypes;
 * bilinear_resize against values worked out by hand from PyTorch's documented formula.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SamCobotError, Tensor, backends, type DType } from '../lib/index.js';
import * as ops from '../lib/ops/index.js';
import { assertClose, checkOp, numel, throwsCode } from './helpers/check-op.js';
import { expectGolden, readGolden } from './helpers/golden.js';

// ---------------------------------------------------------------------------------------------
// Plain-JS references (row-major, float64)

const stridesOf = (shape: readonly number[]): number[] => {
  const strides = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; --d) strides[d] = strides[d + 1]! * shape[d + 1]!;
  return strides;
};

/** Calls fn(coords, flat) for every index of `shape` in row-major order. */
function forEachIndex(shape: readonly number[], fn: (coords: number[], flat: number) => void): void {
  const coords = new Array<number>(shape.length).fill(0);
  const n = numel(shape);
  for (let flat = 0; flat < n; ++flat) {
    fn(coords, flat);
    for (let d = shape.length - 1; d >= 0; --d) {
      if (++coords[d]! < shape[d]!) break;
      coords[d] = 0;
    }
  }
}

function permuteRef(x: ArrayLike<number>, shape: readonly number[], dims: readonly number[]): Float64Array {
  const inStrides = stridesOf(shape);
  const out = new Float64Array(x.length);
  forEachIndex(dims.map((d) => shape[d]!), (coords, flat) => {
    out[flat] = x[coords.reduce((offset, c, i) => offset + c * inStrides[dims[i]!]!, 0)]!;
  });
  return out;
}

/** The (outer, axis, inner) view of a shape. */
const axisView = (shape: readonly number[], axis: number) => ({
  outer: numel(shape.slice(0, axis)),
  size: shape[axis]!,
  inner: numel(shape.slice(axis + 1)),
});

function sliceRef(x: ArrayLike<number>, shape: readonly number[], axis: number, start: number, end: number): Float64Array {
  const { outer, size, inner } = axisView(shape, axis);
  const out = new Float64Array(outer * (end - start) * inner);
  let k = 0;
  for (let o = 0; o < outer; ++o) for (let a = start; a < end; ++a) for (let i = 0; i < inner; ++i) out[k++] = x[(o * size + a) * inner + i]!;
  return out;
}

function concatRef(xs: ArrayLike<number>[], shapes: number[][], axis: number): Float64Array {
  const outer = numel(shapes[0]!.slice(0, axis));
  const out: number[] = [];
  for (let o = 0; o < outer; ++o)
    xs.forEach((x, k) => {
      const row = shapes[k]![axis]! * numel(shapes[k]!.slice(axis + 1));
      for (let i = 0; i < row; ++i) out.push(x[o * row + i]!);
    });
  return Float64Array.from(out);
}

/** Window partition exactly as sam-architecture.md 2.2 states it: window n = (b·nh + i)·nw + j holds x[b, i·ws + r, j·ws + c]. */
function windowPartitionRef(x: ArrayLike<number>, [B, H, W, C]: number[], ws: number): Float64Array {
  const nh = Math.ceil(H / ws), nw = Math.ceil(W / ws);
  const out = new Float64Array(B * nh * nw * ws * ws * C);
  forEachIndex([B, nh, nw, ws, ws, C], ([b, i, j, r, c, ch], flat) => {
    const h = i! * ws + r!, w = j! * ws + c!;
    out[flat] = h < H && w < W ? x[((b! * H + h) * W + w) * C + ch!]! : 0;
  });
  return out;
}

function windowUnpartitionRef(y: ArrayLike<number>, ws: number, [B, H, W, C]: number[]): Float64Array {
  const nh = Math.ceil(H / ws), nw = Math.ceil(W / ws);
  const out = new Float64Array(B * H * W * C);
  forEachIndex([B, H, W, C], ([b, h, w, ch], flat) => {
    const n = (b! * nh + Math.floor(h! / ws)) * nw + Math.floor(w! / ws);
    out[flat] = y[((n * ws + (h! % ws)) * ws + (w! % ws)) * C + ch!]!;
  });
  return out;
}

/** PyTorch's align_corners=False taps of output o (sam-architecture.md section 5). */
function tap(o: number, inSize: number, outSize: number): { i0: number; i1: number; lambda: number } {
  const s = Math.max(0, ((o + 0.5) * inSize) / outSize - 0.5);
  const i0 = Math.floor(s);
  return { i0, i1: Math.min(i0 + 1, inSize - 1), lambda: s - i0 };
}

/** Bilinear resize of the last two dims of `shape`, one output element at a time. */
function resizeRef(x: ArrayLike<number>, shape: readonly number[], height: number, width: number): Float64Array {
  const [H, W] = shape.slice(-2) as [number, number];
  const planes = numel(shape.slice(0, -2));
  const out = new Float64Array(planes * height * width);
  forEachIndex([planes, height, width], ([p, oy, ox], flat) => {
    const ty = tap(oy!, H, height), tx = tap(ox!, W, width);
    const at = (iy: number, ix: number): number => x[(p! * H + iy) * W + ix]!;
    const top = (1 - tx.lambda) * at(ty.i0, tx.i0) + tx.lambda * at(ty.i0, tx.i1);
    const bottom = (1 - tx.lambda) * at(ty.i1, tx.i0) + tx.lambda * at(ty.i1, tx.i1);
    out[flat] = (1 - ty.lambda) * top + ty.lambda * bottom;
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// permute

const permuteCases: Array<[string, number[], number[]]> = [
  ['rank 4', [2, 3, 4, 5], [0, 2, 3, 1]],
  ['qkv (B, N, 3, heads, D) -> (3, B, heads, N, D)', [2, 5, 3, 2, 4], [2, 0, 3, 1, 4]],
  ['(B, heads, H, W, D) -> (B, H, W, heads, D)', [2, 2, 3, 3, 4], [0, 2, 3, 1, 4]],
  ['last two dims, tiles with remainders', [2, 37, 33], [0, 2, 1]],
  ['size-1 dims and full reversal', [1, 5, 1, 6], [3, 2, 1, 0]],
  ['innermost moves to the middle', [3, 4, 35], [2, 0, 1]],
  ['identity', [3, 4], [0, 1]],
];

for (const [label, shape, dims] of permuteCases) {
  test(`permute ${label}`, () =>
    checkOp({
      name: `permute ${label}`,
      inputs: [{ shape }],
      forward: ([x]) => ops.permute(x!, dims),
      reference: ([x]) => permuteRef(x!, shape, dims),
      backward: (_, __, [dy]) => [ops.permute(dy!, ops.inversePermutation(dims))],
    }));
}

test('inversePermutation undoes a permutation and rejects a non-permutation', () => {
  assert.equal(ops.inversePermutation([2, 0, 3, 1, 4]), [1, 3, 0, 2, 4]);
  assert.throws(() => ops.inversePermutation([0, 0, 1]), /Expected a permutation of 0\.\.2 for dims but received \[0,0,1\]/);
});

// ---------------------------------------------------------------------------------------------
// split, concat, slice

test('split along a middle axis, with an empty piece', () => {
  const shape = [3, 7, 4];
  const sizes = [2, 0, 5];
  return checkOp({
    name: 'split',
    inputs: [{ shape }],
    forward: ([x]) => ops.split(x!, 1, sizes),
    reference: ([x]) => [sliceRef(x!, shape, 1, 0, 2), sliceRef(x!, shape, 1, 2, 2), sliceRef(x!, shape, 1, 2, 7)],
    backward: (_, __, dys) => [ops.concat(dys, 1)],
  });
});

for (const axis of [0, 1, -1]) {
  test(`concat along axis ${axis}`, () => {
    const positive = axis < 0 ? 2 : axis;
    const shapes = [3, 1, 5].map((n) => [2, 3, 4].map((d, i) => (i === positive ? n : d)));
    return checkOp({
      name: `concat axis ${axis}`,
      inputs: shapes.map((shape) => ({ shape })),
      forward: (xs) => ops.concat(xs, axis),
      reference: (xs) => concatRef(xs, shapes, positive),
      backward: (_, __, [dy]) => ops.split(dy!, axis, shapes.map((s) => s[positive]!)),
    });
  });
}

test('slice and slice_backward', () => {
  const shape = [4, 9, 3];
  return checkOp({
    name: 'slice',
    inputs: [{ shape }],
    forward: ([x]) => ops.slice(x!, 1, 2, 7),
    reference: ([x]) => sliceRef(x!, shape, 1, 2, 7),
    backward: (_, __, [dy]) => [ops.sliceBackward(dy!, 1, 2, 9)],
  });
});

test('slice_backward places dy at start and zeros elsewhere', () =>
  checkOp({
    name: 'slice_backward',
    inputs: [{ shape: [2, 3, 5] }],
    forward: ([dy]) => ops.sliceBackward(dy!, -1, 4, 11),
    reference: ([dy]) => {
      const out = new Float64Array(2 * 3 * 11);
      forEachIndex([2, 3, 5], ([a, b, c], flat) => (out[(a! * 3 + b!) * 11 + 4 + c!] = dy![flat]!));
      return out;
    },
    backward: (_, __, [g]) => [ops.slice(g!, -1, 4, 9)],
  }));

// ---------------------------------------------------------------------------------------------
// Windows: the golden tiny (8 -> 9, ws 3) and small (16 -> 21, ws 7) paddings, and H != W

const windowCases: Array<[string, number[], number]> = [
  ['tiny 8x8 ws 3 (pad to 9)', [1, 8, 8, 4], 3],
  ['small 16x16 ws 7 (pad to 21)', [2, 16, 16, 3], 7],
  ['non-square 5x7 ws 3', [2, 5, 7, 3], 3],
  ['exact fit 6x4 ws 2', [1, 6, 4, 2], 2],
];

for (const [label, shape, ws] of windowCases) {
  const [B, H, W, C] = shape as [number, number, number, number];
  const windows = B * Math.ceil(H / ws) * Math.ceil(W / ws);
  test(`window_partition ${label}`, () =>
    checkOp({
      name: `window_partition ${label}`,
      inputs: [{ shape }],
      forward: ([x]) => ops.windowPartition(x!, ws),
      reference: ([x]) => windowPartitionRef(x!, shape, ws),
      backward: (_, __, [dy]) => [ops.windowUnpartition(dy!, ws, H, W)],
    }));
  test(`window_unpartition ${label}`, () =>
    checkOp({
      name: `window_unpartition ${label}`,
      inputs: [{ shape: [windows, ws, ws, C] }],
      forward: ([y]) => ops.windowUnpartition(y!, ws, H, W),
      reference: ([y]) => windowUnpartitionRef(y!, ws, shape),
      backward: (_, __, [dx]) => [ops.windowPartition(dx!, ws)],
    }));
}

// ---------------------------------------------------------------------------------------------
// Resizes

const resizeCases: Array<[string, number[], number, number]> = [
  ['up 7x5 -> 16x11', [2, 2, 7, 5], 16, 11],
  ['down 16x11 -> 7x5', [1, 2, 16, 11], 7, 5],
  ['up by 16 (the 64 -> 1024 ratio), 4x3 -> 64x48', [1, 1, 4, 3], 64, 48],
  ['down by 16, 64x48 -> 4x3', [1, 1, 64, 48], 4, 3],
  ['mixed, 9x13 -> 4x20', [1, 3, 9, 13], 4, 20],
  ['unchanged size', [1, 2, 5, 6], 5, 6],
  ['to and from a single pixel', [1, 1, 1, 6], 3, 1],
];

for (const [label, shape, height, width] of resizeCases) {
  test(`bilinear_resize ${label}`, () =>
    checkOp({
      name: `bilinear_resize ${label}`,
      inputs: [{ shape }],
      forward: ([x]) => ops.bilinearResize(x!, height, width),
      reference: ([x]) => resizeRef(x!, shape, height, width),
      backward: (_, __, [dy]) => [ops.bilinearResizeBackward(dy!, shape[2]!, shape[3]!)],
    }));
}

for (const [L, rows] of [[5, 9], [27, 13], [4, 4]] as const) {
  test(`linear_resize_rows ${L} -> ${rows} rows`, () =>
    checkOp({
      name: `linear_resize_rows ${L} -> ${rows}`,
      inputs: [{ shape: [L, 3] }],
      forward: ([t]) => ops.linearResizeRows(t!, rows),
      reference: ([t]) => resizeRef(t!, [L, 3], rows, 3),
      backward: (_, __, [dy]) => [ops.linearResizeRowsBackward(dy!, L)],
    }));
}

test('bilinear_resize matches values worked out by hand from PyTorch\'s formula', async () => {
  // 2x2 -> 4x4: scale 1/2, s = (o + 1/2)/2 - 1/2 = -1/4 (clamped to 0), 1/4, 3/4, 5/4 (both taps at 1),
  // the values F.interpolate(..., mode='bilinear', align_corners=False) prints.
  const up = ops.bilinearResize(Tensor.fromArray([1, 2, 3, 4], [1, 1, 2, 2], { dtype: 'f64' }), 4, 4);
  assertClose(await up.toArray(), [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4], { tol: 1e-15, name: '2x2 -> 4x4' });
  // 4 -> 3 columns: scale 4/3, s = 1/6, 3/2, 17/6, so 0·5/6 + 1·1/6, (1 + 2)/2, 2·1/6 + 3·5/6.
  const down = ops.bilinearResize(Tensor.fromArray([0, 1, 2, 3], [1, 1, 1, 4], { dtype: 'f64' }), 1, 3);
  assertClose(await down.toArray(), [1 / 6, 1.5, 17 / 6], { tol: 1e-15, name: '1x4 -> 1x3' });
});

for (const config of ['tiny', 'small']) {
  test(`${config} golden: Sam.postprocess_masks is bilinear up, crop, bilinear down`, async () => {
    // sam-architecture.md section 5, on the official code's own low-res and final masks.
    const golden = await readGolden(config, 'case.safetensors');
    const imgSize = (golden.get('input.image')!.shape)[2]!;
    const [h, w] = Array.from(await golden.get('input.input_size')!.toArray());
    const [H, W] = Array.from(await golden.get('input.original_size')!.toArray());
    for (const which of ['multi', 'single']) {
      const up = ops.bilinearResize(golden.get(`out.low_res_masks_${which}`)!, imgSize, imgSize);
      const cropped = ops.slice(ops.slice(up, 2, 0, h!), 3, 0, w!);
      // Measured 1.0e-6 (tiny) and 1.5e-6 (small) of max |golden|: float32 rounding, not the formula.
      await expectGolden(`${config} masks_${which}`, ops.bilinearResize(cropped, H!, W!), golden.get(`out.masks_${which}`)!, 1e-5);
    }
    for (const t of golden.values()) t.dispose();
  });
}

// ---------------------------------------------------------------------------------------------
// Every dtype for the data-movement ops, on every backend here

const devices = backends().cuda.available ? (['cpu', 'cuda'] as const) : (['cpu'] as const);
const integerDtypes: DType[] = ['i32', 'u8'];

for (const device of devices) {
  for (const dtype of integerDtypes) {
    test(`data movement of ${dtype} on ${device}`, async () => {
      const shape = [2, 5, 7, 3];
      const values = Array.from({ length: numel(shape) }, (_, i) => (i * 7) % 251);
      const x = Tensor.fromArray(values, shape, { dtype, device });
      const expectValues = async (t: Tensor, expected: ArrayLike<number>, what: string): Promise<void> => {
        assert.is(t.dtype, dtype, what);
        assert.equal(Array.from(await t.toArray()), Array.from(expected), what);
      };
      await expectValues(ops.permute(x, [3, 0, 2, 1]), permuteRef(values, shape, [3, 0, 2, 1]), 'permute');
      await expectValues(ops.permute(x, [0, 1, 3, 2]), permuteRef(values, shape, [0, 1, 3, 2]), 'permute of the last two');
      const [a, b] = ops.split(x, 2, [3, 4]);
      await expectValues(a!, sliceRef(values, shape, 2, 0, 3), 'split');
      await expectValues(ops.concat([a!, b!], 2), values, 'concat');
      await expectValues(ops.slice(x, 1, 1, 4), sliceRef(values, shape, 1, 1, 4), 'slice');
      const windows = ops.windowPartition(x, 3);
      await expectValues(windows, windowPartitionRef(values, shape, 3), 'window_partition');
      await expectValues(ops.windowUnpartition(windows, 3, 5, 7), values, 'window_unpartition');
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Validation


test('bad arguments throw at the call with the op, the argument and what was expected', () => {
  const x = Tensor.zeros([2, 3, 4, 5]);
  const f64 = Tensor.zeros([2, 3], { dtype: 'f64' });
  const ints = Tensor.zeros([1, 1, 2, 2], { dtype: 'i32' });
  throwsCode(() => ops.permute(x, [0, 1, 1, 3]), 'ERR_ARGUMENT', /Expected a permutation of 0\.\.3 .* for attribute 'dims' but received \[0,1,1,3\]/);
  throwsCode(() => ops.permute(x, [0, 1, 2]), 'ERR_ARGUMENT', /permutation of 0\.\.3/);
  throwsCode(() => ops.split(x, 4, [1, 1]), 'ERR_ARGUMENT', /attribute 'axis'/);
  throwsCode(() => ops.split(x, 1, [1, 1]), 'ERR_ARGUMENT', /sizes summing to 3 .* for attribute 'sizes' but received \[1,1\]/);
  throwsCode(() => ops.concat([x, Tensor.zeros([2, 3, 5, 5])], 1), 'ERR_SHAPE', /except along axis 1 for input 1 but received \[2,3,5,5\]/);
  throwsCode(() => ops.concat([x, f64], 0), 'ERR_DTYPE', /input 1/);
  throwsCode(() => ops.slice(x, 2, 3, 5), 'ERR_ARGUMENT', /attribute 'end'/);
  throwsCode(() => ops.slice(x, 2, -1, 2), 'ERR_ARGUMENT', /attribute 'start'/);
  throwsCode(() => ops.sliceBackward(x, 1, 1, 3), 'ERR_ARGUMENT', /attribute 'start'/);
  throwsCode(() => ops.windowPartition(x, 0), 'ERR_ARGUMENT', /attribute 'window'/);
  throwsCode(() => ops.windowPartition(f64, 2), 'ERR_SHAPE', /rank-4/);
  throwsCode(() => ops.windowUnpartition(Tensor.zeros([5, 3, 3, 2]), 3, 8, 8), 'ERR_SHAPE', /B·9, 3, 3, C\) windows of a 8x8 grid/);
  throwsCode(() => ops.bilinearResize(x, 0, 4), 'ERR_ARGUMENT', /attribute 'height'/);
  throwsCode(() => ops.bilinearResize(ints, 4, 4), 'ERR_DTYPE', /floating-point/);
  throwsCode(() => ops.linearResizeRows(x, 4), 'ERR_SHAPE', /rank-2/);
  throwsCode(() => ops.linearResizeRowsBackward(f64, -1), 'ERR_ARGUMENT', /attribute 'rows'/);
});

test.run();
