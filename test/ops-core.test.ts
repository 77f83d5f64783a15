/**
 * The first ops, forward and backward: GEMM (transposes, batching, a shared folded B, bias, alpha,
 * accumulation), broadcasting add/sub/mul/div, scale, sum, copy, fill, cast and the seeded random
 * fills; and their validation errors.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backends } from '../lib/device.js';
import { SamCobotError } from '../lib/errors.js';
import * as grad from '../lib/grad.js';
import * as ops from '../lib/ops/index.js';
import { Tensor, withScope, type DType } from '../lib/tensor.js';
import { assertClose, checkOp, numel, toF64 } from './helpers/check-op.js';

// ---------------------------------------------------------------------------------------------
// Plain-JS float64 references

/** Element (i, j) of op(X) for a row-major (rows, cols) matrix X. */
const at = (x: Float64Array, offset: number, cols: number, trans: boolean, i: number, j: number): number =>
  trans ? x[offset + j * cols + i]! : x[offset + i * cols + j]!;

/** alpha * op(A) @ op(B) (+ bias) for A (batch..., rows, cols) and a shared or batched B. */
function gemmReference(a: Float64Array, aShape: number[], b: Float64Array, bShape: number[], options: { transA?: boolean; transB?: boolean; alpha?: number }, bias?: Float64Array): Float64Array {
  const [ar, ac] = aShape.slice(-2) as [number, number];
  const [br, bc] = bShape.slice(-2) as [number, number];
  const shared = bShape.length === 2;
  const batch = numel(aShape.slice(0, -2));
  const M = options.transA ? ac : ar;
  const K = options.transA ? ar : ac;
  const N = options.transB ? br : bc;
  const out = new Float64Array(batch * M * N);
  for (let p = 0; p < batch; ++p)
    for (let i = 0; i < M; ++i)
      for (let j = 0; j < N; ++j) {
        let acc = 0;
        for (let k = 0; k < K; ++k) acc += at(a, p * ar * ac, ac, !!options.transA, i, k) * at(b, shared ? 0 : p * br * bc, bc, !!options.transB, k, j);
        out[(p * M + i) * N + j] = (options.alpha ?? 1) * acc + (bias ? bias[j]! : 0);
      }
  return out;
}

/** NumPy broadcasting of a binary function, with the output shape. */
function broadcastReference(a: Float64Array, aShape: number[], b: Float64Array, bShape: number[], f: (x: number, y: number) => number): Float64Array {
  const rank = Math.max(aShape.length, bShape.length);
  const pad = (s: number[]): number[] => [...Array<number>(rank - s.length).fill(1), ...s];
  const as = pad(aShape);
  const bs = pad(bShape);
  const os = as.map((d, i) => Math.max(d, bs[i]!));
  const out = new Float64Array(numel(os));
  for (let o = 0; o < out.length; ++o) {
    let rest = o;
    let ia = 0;
    let ib = 0;
    let sa = 1;
    let sb = 1;
    for (let d = rank - 1; d >= 0; --d) {
      const c = rest % os[d]!;
      rest = Math.floor(rest / os[d]!);
      if (as[d] !== 1) ia += c * sa;
      if (bs[d] !== 1) ib += c * sb;
      sa *= as[d]!;
      sb *= bs[d]!;
    }
    out[o] = f(a[ia]!, b[ib]!);
  }
  return out;
}

/** Sum over `axes` of a row-major tensor (the output keeps size-1 axes; same values either way). */
function sumReference(x: Float64Array, shape: number[], axes: number[]): Float64Array {
  const reduced = new Set(axes.map((a) => (a < 0 ? a + shape.length : a)));
  const outShape = shape.map((d, i) => (reduced.has(i) ? 1 : d));
  const out = new Float64Array(numel(outShape));
  for (let i = 0; i < x.length; ++i) {
    let rest = i;
    let o = 0;
    let stride = 1;
    for (let d = shape.length - 1; d >= 0; --d) {
      const c = rest % shape[d]!;
      rest = Math.floor(rest / shape[d]!);
      if (!reduced.has(d)) o += c * stride;
      stride *= outShape[d]!;
    }
    out[o] += x[i]!;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// GEMM

interface GemmCase {
  label: string;
  a: number[];
  b: number[];
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  bias?: boolean;
}

const gemmCases: GemmCase[] = [
  { label: 'plain', a: [5, 7], b: [7, 3] },
  { label: 'transA', a: [7, 5], b: [7, 3], transA: true },
  { label: 'transB', a: [5, 7], b: [3, 7], transB: true },
  { label: 'transA transB', a: [7, 5], b: [3, 7], transA: true, transB: true, alpha: -0.75 },
  { label: 'batched', a: [2, 3, 4, 5], b: [2, 3, 5, 6] },
  { label: 'batched transA transB', a: [3, 5, 4], b: [3, 6, 5], transA: true, transB: true },
  { label: 'batched transB alpha', a: [3, 4, 5], b: [3, 6, 5], transB: true, alpha: 0.5 },
  { label: 'shared B folded, bias', a: [2, 3, 4, 5], b: [5, 6], bias: true },
  { label: 'shared B folded transB, bias, alpha', a: [3, 4, 5], b: [6, 5], transB: true, alpha: 2, bias: true },
  { label: 'shared B, batched transA', a: [3, 5, 4], b: [5, 6], transA: true },
  { label: 'shared B, batched transA transB', a: [2, 5, 4], b: [6, 5], transA: true, transB: true, alpha: 1.5 },
  { label: 'batch of one, shared B transA', a: [1, 5, 4], b: [5, 6], transA: true },
  { label: 'larger folded', a: [3, 37, 29], b: [29, 41], bias: true },
];

for (const c of gemmCases) {
  test(`gemm ${c.label}: forward, backward, f32, CUDA`, async () => {
    const N = c.transB ? c.b.at(-2)! : c.b.at(-1)!;
    await checkOp({
      name: `gemm ${c.label}`,
      inputs: [{ shape: c.a }, { shape: c.b }, ...(c.bias ? [{ shape: [N] }] : [])],
      forward: ([a, b, bias]) => ops.gemm(a!, b!, { transA: c.transA, transB: c.transB, alpha: c.alpha, bias }),
      reference: ([a, b, bias], [aShape, bShape]) => gemmReference(a!, aShape!, b!, bShape!, c, bias),
      backward: ([a, b], _, [dOut]) => {
        const g = grad.gemmBackward(a!, b!, dOut!, { ...c, hasBias: c.bias }, { needA: true, needB: true, needBias: c.bias });
        return c.bias ? [g.dA!, g.dB!, g.dBias!] : [g.dA!, g.dB!];
      },
    });
  });
}

test('gemmBackward computes only the gradients asked for, and accumulates into given tensors', async () => {
  const configs: Array<{ a: number[]; b: number[]; forward: { transA?: boolean; transB?: boolean; alpha?: number } }> = [
    { a: [2, 3, 4], b: [4, 5], forward: {} },
    { a: [2, 4, 3], b: [5, 4], forward: { transA: true, transB: true, alpha: 0.5 } },
    { a: [2, 3, 4], b: [2, 4, 5], forward: { transA: false, alpha: 2 } },
  ];
  for (const { a: aShape, b: bShape, forward } of configs) {
    const label = `a [${aShape}] b [${bShape}] ${JSON.stringify(forward)}`;
    const a = Tensor.randn(aShape, { seed: 1, dtype: 'f64' });
    const b = Tensor.randn(bShape, { seed: 2, dtype: 'f64' });
    const out = ops.gemm(a, b, forward);
    const dOut = Tensor.randn(out.shape, { seed: 3, dtype: 'f64' });
    const onlyB = grad.gemmBackward(a, b, dOut, forward, { needB: true });
    assert.equal(Object.keys(onlyB), ['dB'], label);
    const all = { needA: true, needB: true, needBias: true };
    const into = { dA: Tensor.full(aShape, 1, { dtype: 'f64' }), dB: Tensor.full(bShape, 2, { dtype: 'f64' }), dBias: Tensor.full([out.shape.at(-1)!], 3, { dtype: 'f64' }) };
    const accumulated = grad.gemmBackward(a, b, dOut, { ...forward, hasBias: true }, all, into);
    assert.ok(accumulated.dA === into.dA && accumulated.dB === into.dB && accumulated.dBias === into.dBias, label);
    const fresh = grad.gemmBackward(a, b, dOut, { ...forward, hasBias: true }, all);
    for (const [key, offset] of [['dA', 1], ['dB', 2], ['dBias', 3]] as const) {
      const expected = (await toF64(fresh[key]!)).map((v) => v + offset);
      assertClose(await toF64(accumulated[key]!), expected, { tol: 1e-12, name: `${label}: accumulated ${key}` });
    }
    assertClose(await toF64(onlyB.dB!), await toF64(fresh.dB!), { tol: 0, name: `${label}: dB alone` });
    for (const t of [a, b, out, dOut, onlyB.dB!, into.dA, into.dB, into.dBias, fresh.dA!, fresh.dB!, fresh.dBias!]) t.dispose();
  }
  const [x, w] = [Tensor.zeros([2, 3]), Tensor.zeros([3, 4])];
  assert.throws(() => grad.gemmBackward(x, w, Tensor.zeros([2, 4]), {}, { needBias: true }), /Expected hasBias: true for needBias/);
  x.dispose();
  w.dispose();
});

interface AccumulateCase {
  label: string;
  a: number[];
  b: number[];
  c: number[];
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
}

const accumulateCases: AccumulateCase[] = [
  { label: 'rank 2, beta 1', a: [5, 7], b: [7, 3], c: [5, 3] },
  { label: 'rank 2 transA transB, alpha, beta', a: [7, 5], b: [3, 7], c: [5, 3], transA: true, transB: true, alpha: 0.5, beta: -2 },
  { label: 'batched', a: [3, 4, 5], b: [3, 5, 2], c: [3, 4, 2], beta: 0.25 },
  { label: 'batched, C reduced over the batch', a: [3, 5, 4], b: [3, 5, 2], c: [4, 2], transA: true, alpha: 1.5, beta: 0.5 },
  { label: 'folded, shared B transB', a: [2, 3, 5], b: [4, 5], c: [2, 3, 4], transB: true },
];

for (const c of accumulateCases) {
  test(`gemmAccumulate ${c.label}: forward, backward, f32, CUDA`, async () => {
    const beta = c.beta ?? 1;
    const reduced = c.c.length === 2 && c.a.length > 2 && c.b.length > 2;
    await checkOp({
      name: `gemmAccumulate ${c.label}`,
      inputs: [{ shape: c.a }, { shape: c.b }, { shape: c.c }],
      forward: ([a, b, cIn]) => {
        const out = ops.copy(cIn!);
        ops.gemmAccumulate(out, a!, b!, c);
        return out;
      },
      reference: ([a, b, cIn], [aShape, bShape]) => {
        const product = gemmReference(a!, aShape!, b!, bShape!, c);
        const out = Float64Array.from(cIn!, (v) => beta * v);
        product.forEach((v, i) => (out[i % out.length] += v));
        return out;
      },
      backward: ([a, b, cIn], _, [dOut]) => {
        // A reduced C receives every batch's product: its gradient reaches each batch unchanged.
        const zeros = reduced ? Tensor.zeros([c.a[0]!, 1, 1], { dtype: dOut!.dtype, device: dOut!.device }) : undefined;
        const dProduct = zeros ? ops.add(zeros, dOut!) : dOut!;
        const g = grad.gemmBackward(a!, b!, dProduct, c, { needA: true, needB: true });
        return [g.dA!, g.dB!, grad.scaleBackward(dOut!, beta)];
      },
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Elementwise with broadcasting

const binaryShapes: Array<[number[], number[]]> = [
  [[2, 3, 4], [2, 3, 4]],
  [[2, 3, 4], [4]],
  [[2, 3, 4], [3, 1]],
  [[2, 3, 4], [1, 3, 4]],
  [[3, 1], [2, 1, 5]],
  [[], [2, 3]],
];
const binaryFunctions = {
  add: (x: number, y: number) => x + y,
  sub: (x: number, y: number) => x - y,
  mul: (x: number, y: number) => x * y,
  div: (x: number, y: number) => x / y,
};

for (const kind of ['add', 'sub', 'mul', 'div'] as const) {
  for (const [aShape, bShape] of binaryShapes) {
    test(`${kind} [${aShape}] with [${bShape}]: forward, backward, f32, CUDA`, async () => {
      await checkOp({
        name: `${kind} [${aShape}] [${bShape}]`,
        inputs: [{ shape: aShape }, { shape: bShape, positive: kind === 'div' }],
        forward: ([a, b]) => ops[kind](a!, b!),
        reference: ([a, b], [as, bs]) => broadcastReference(a!, as!, b!, bs!, binaryFunctions[kind]),
        backward: ([a, b], _, [dOut]) => {
          const g = grad.binaryBackward(kind, a!, b!, dOut!, { needA: true, needB: true });
          return [g.dA!, g.dB!];
        },
      });
    });
  }
}

test('scale: alpha * x + beta, forward, backward, f32, CUDA', async () => {
  await checkOp({
    name: 'scale',
    inputs: [{ shape: [3, 5, 7] }],
    forward: ([x]) => ops.scale(x!, -1.5, 0.25),
    reference: ([x]) => x!.map((v) => -1.5 * v + 0.25),
    backward: (_, __, [dOut]) => [grad.scaleBackward(dOut!, -1.5)],
  });
});

const sumCases: Array<{ shape: number[]; axes: number[]; keepDims?: boolean }> = [
  { shape: [2, 3, 4], axes: [0] },
  { shape: [2, 3, 4], axes: [1], keepDims: true },
  { shape: [2, 3, 4], axes: [-1] },
  { shape: [2, 3, 4], axes: [0, 2], keepDims: true },
  { shape: [2, 3, 4], axes: [2, 0] },
  { shape: [2, 3, 4], axes: [0, 1, 2] },
  { shape: [2, 3, 4], axes: [] },
  { shape: [3, 1, 5, 2], axes: [1, 3], keepDims: true },
  { shape: [7, 300], axes: [1] },
  // The CPU fast paths: leading axes (column sums, rows split into blocks of 256, 256-column chunks)
  // and trailing axes (row sums split into blocks), at odd sizes across those boundaries.
  { shape: [600, 257], axes: [0] },
  { shape: [3, 333, 5], axes: [1, 0], keepDims: true },
  { shape: [1, 5], axes: [0] },
  { shape: [5, 1], axes: [1] },
  { shape: [1, 300, 1, 7], axes: [0, 1, 2] },
  { shape: [5, 17001], axes: [1] },
  { shape: [70001], axes: [0] },
  { shape: [6, 1, 4, 3], axes: [1, 2, 3] },
];

for (const c of sumCases) {
  test(`sum [${c.shape}] over [${c.axes}]${c.keepDims ? ' keepDims' : ''}: forward, backward, f32, CUDA`, async () => {
    await checkOp({
      name: `sum [${c.shape}] axes [${c.axes}]`,
      inputs: [{ shape: c.shape }],
      forward: ([x]) => {
        const y = ops.sum(x!, c.axes, c.keepDims);
        const rank = c.shape.length;
        const axes = new Set(c.axes.map((a) => (a < 0 ? a + rank : a)));
        const expectedShape = c.shape.flatMap((d, i) => (axes.has(i) ? (c.keepDims ? [1] : []) : [d]));
        assert.equal(y.shape, expectedShape, 'output shape');
        return y;
      },
      reference: ([x], [shape]) => sumReference(x!, shape!, c.axes),
      backward: (_, __, [dOut]) => [grad.sumBackward(dOut!, c.shape, c.axes)],
    });
  });
}

test('sum: the same bits under 1, 2 and 3 CPU threads (fast paths and the general one)', async () => {
  const child = fileURLToPath(new URL('./fixtures/sum-child.js', import.meta.url));
  const run = (threads: string): string => execFileSync(process.execPath, [child], { env: { ...process.env, SAM_COBOT_THREADS: threads }, encoding: 'utf8' }).trim();
  const one = run('1');
  assert.ok(one.startsWith('[['), `child output: ${one.slice(0, 200)}`);
  assert.equal(run('2'), one, '2 threads vs 1');
  assert.equal(run('3'), one, '3 threads vs 1');
});

test('copy: same values, new storage; backward is the identity', async () => {
  await checkOp({
    name: 'copy',
    inputs: [{ shape: [4, 9] }],
    forward: ([x]) => ops.copy(x!),
    reference: ([x]) => Float64Array.from(x!),
    backward: (_, __, [dOut]) => [ops.copy(dOut!)],
  });
  const x = Tensor.fromArray(new Float32Array([1, 2, 3]), [3]);
  const y = ops.copy(x);
  ops.fill(x, 9);
  assert.equal(Array.from(await y.toArray()), [1, 2, 3], 'the copy does not share storage');
  x.dispose();
  y.dispose();
});

test('fill: every dtype, and the value converted as cast converts it', async () => {
  for (const [dtype, value, expected] of [
    ['f32', 0.1, Math.fround(0.1)],
    ['f64', 0.1, 0.1],
    ['i32', -7.9, -7],
    ['u8', 200, 200],
    ['u8', 300, 255],
    ['u8', -1, 0],
  ] as Array<[DType, number, number]>) {
    const t = Tensor.empty([3, 5], { dtype });
    ops.fill(t, value);
    assert.equal(Array.from(await t.toArray()), Array(15).fill(expected), `fill ${dtype}`);
    t.dispose();
  }
  await checkOp({
    name: 'fill (no gradient reaches the filled tensor)',
    inputs: [{ shape: [2, 3] }],
    forward: ([x]) => {
      const y = ops.copy(x!);
      ops.fill(y, 2.5);
      return y;
    },
    reference: ([x]) => x!.map(() => 2.5),
    backward: ([x]) => [Tensor.zeros(x!.shape, { dtype: x!.dtype, device: x!.device })],
  });
});

// ---------------------------------------------------------------------------------------------
// Casts

test('cast between f32 and f64 (through the wide type): forward, backward, f32, CUDA', async () => {
  await checkOp({
    name: 'cast round trip',
    inputs: [{ shape: [3, 7] }],
    forward: ([x]) => {
      const wide = ops.cast(x!, x!.device === 'cpu' ? 'f64' : 'f32');
      const back = ops.cast(wide, x!.dtype);
      return back;
    },
    reference: ([x]) => Float64Array.from(x!),
    backward: ([x], _, [dOut]) => {
      const wide = grad.castBackward(dOut!, x!.device === 'cpu' ? 'f64' : 'f32');
      return [grad.castBackward(wide, x!.dtype)];
    },
  });
});

test('cast values: float to integer truncates toward zero and saturates (NaN to 0); integer to float is exact', async () => {
  const floats = [-1e10, -300.7, -2.5, -1.7, -0.5, 0, 0.49, 1.5, 2.5, 254.9, 255.5, 300.2, 2147483647.5, 1e10, NaN, Infinity, -Infinity];
  const toI32 = [-2147483648, -300, -2, -1, 0, 0, 0, 1, 2, 254, 255, 300, 2147483647, 2147483647, 0, 2147483647, -2147483648];
  const toU8 = [0, 0, 0, 0, 0, 0, 0, 1, 2, 254, 255, 255, 255, 255, 0, 255, 0];
  for (const source of ['f32', 'f64'] as const) {
    const x = Tensor.fromArray(new Float64Array(floats), [floats.length], { dtype: source });
    const i = ops.cast(x, 'i32');
    const u = ops.cast(x, 'u8');
    assert.equal(Array.from(await i.toArray()), toI32, `${source} -> i32`);
    assert.equal(Array.from(await u.toArray()), toU8, `${source} -> u8`);
    for (const t of [x, i, u]) t.dispose();
  }
  const ints = [-2147483648, -70000, -1, 0, 1, 255, 256, 16777217, 2147483647];
  const x = Tensor.fromArray(new Int32Array(ints), [ints.length]);
  const asF64 = ops.cast(x, 'f64');
  const asF32 = ops.cast(x, 'f32');
  const asU8 = ops.cast(x, 'u8');
  assert.equal(Array.from(await asF64.toArray()), ints, 'i32 -> f64 is exact');
  assert.equal(Array.from(await asF32.toArray()), ints.map(Math.fround), 'i32 -> f32 rounds to nearest');
  assert.equal(Array.from(await asU8.toArray()), [0, 0, 0, 0, 1, 255, 255, 255, 255], 'i32 -> u8 saturates');
  const bytes = Tensor.fromArray(new Uint8Array([0, 1, 128, 255]), [4]);
  const bytesAsI32 = ops.cast(bytes, 'i32');
  const bytesAsF32 = ops.cast(bytes, 'f32');
  assert.equal(Array.from(await bytesAsI32.toArray()), [0, 1, 128, 255], 'u8 -> i32');
  assert.equal(Array.from(await bytesAsF32.toArray()), [0, 1, 128, 255], 'u8 -> f32');
  const narrowed = ops.cast(Tensor.fromArray(new Float64Array([0.1, 1 / 3, 1e-50, 1e300]), [4]), 'f32');
  assert.equal(Array.from(await narrowed.toArray()), [Math.fround(0.1), Math.fround(1 / 3), 0, Infinity], 'f64 -> f32 rounds to nearest');
  for (const t of [x, asF64, asF32, asU8, bytes, bytesAsI32, bytesAsF32, narrowed]) t.dispose();
});

test('cast to bf16 and f16 on CUDA rounds to nearest even (skipped without a GPU)', async () => {
  if (!backends().cuda.available) return;
  const values = [1, 1.00390625, 1.005859375, -2.5, 65504, 1e-8, 3.14159];
  const x = Tensor.fromArray(new Float32Array(values), [values.length], { device: 'cuda' });
  for (const dtype of ['bf16', 'f16'] as const) {
    const y = ops.cast(x, dtype);
    const back = ops.cast(y, 'f32');
    const expected = values.map((v) => roundTo(v, dtype === 'bf16' ? 8 : 11, dtype === 'bf16' ? -126 : -14));
    assert.equal(Array.from(await back.toArray()), expected, `f32 -> ${dtype} -> f32`);
    y.dispose();
    back.dispose();
  }
  x.dispose();
});

/** Rounds to `bits` significant bits, nearest even, with subnormals below 2^minExponent. */
function roundTo(v: number, bits: number, minExponent: number): number {
  if (v === 0) return 0;
  const exponent = Math.max(Math.floor(Math.log2(Math.abs(v))), minExponent);
  const ulp = 2 ** (exponent - bits + 1);
  const q = v / ulp;
  const r = Math.round(q);
  const even = Math.abs(q - Math.trunc(q)) === 0.5 ? 2 * Math.round(q / 2) : r;
  return Math.fround(even * ulp);
}

// ---------------------------------------------------------------------------------------------
// Random fills

/** The values of a freshly made tensor, which is disposed. */
async function valuesOf(make: () => Tensor): Promise<Float64Array | Float32Array> {
  const t = make();
  const values = (await t.toArray()) as Float64Array | Float32Array;
  t.dispose();
  return values;
}

test('randn: same seed same bits, different seeds differ, mean and std of 100k samples', async () => {
  const a = await valuesOf(() => Tensor.randn([100_000], { seed: 42 }));
  const b = await valuesOf(() => Tensor.randn([100_000], { seed: 42 }));
  const c = await valuesOf(() => Tensor.randn([100_000], { seed: 43 }));
  assert.equal(Buffer.compare(Buffer.from(a.buffer), Buffer.from(b.buffer)), 0, 'same seed, same bits');
  let differ = 0;
  for (let i = 0; i < a.length; ++i) if (a[i] !== c[i]) ++differ;
  assert.ok(differ > 99_900, `different seeds differ almost everywhere (${differ})`);
  let mean = 0;
  for (const v of a) mean += v;
  mean /= a.length;
  let variance = 0;
  for (const v of a) variance += (v - mean) ** 2;
  const std = Math.sqrt(variance / a.length);
  // The standard error of the mean of 100k samples is 0.0032, of the std 0.0022: 5 sigma bounds.
  assert.ok(Math.abs(mean) < 0.016, `mean ${mean}`);
  assert.ok(Math.abs(std - 1) < 0.011, `std ${std}`);
  const shifted = await valuesOf(() => Tensor.randn([100_000], { seed: 42, mean: 3, std: 0.5, dtype: 'f64' }));
  assertClose(shifted, Float64Array.from(a, (v) => 3 + 0.5 * v), { tol: 1e-6, name: 'mean and std' });
  const prefix = await valuesOf(() => Tensor.randn([1000], { seed: 42 }));
  assert.equal(Array.from(prefix), Array.from(a.subarray(0, 1000)), 'element i depends only on (seed, i)');
});

test('rand: values in [low, high), uniform', async () => {
  const values = await valuesOf(() => Tensor.rand([100_000], { seed: 7, low: -2, high: 3 }));
  let mean = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    mean += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  mean /= values.length;
  assert.ok(min >= -2 && max < 3, `range [${min}, ${max}]`);
  assert.ok(min < -1.99 && max > 2.99, `covers the range [${min}, ${max}]`);
  // Uniform on [-2, 3): mean 0.5, std 5/sqrt(12); 5 sigma of the mean of 100k samples is 0.023.
  assert.ok(Math.abs(mean - 0.5) < 0.023, `mean ${mean}`);
});

test('empty dimensions: a product over K = 0 is zero (plus the bias), a sum over nothing is zero', async () => {
  for (const dtype of ['f32', 'f64'] as const) {
    const [a, b, bias] = [Tensor.zeros([2, 0], { dtype }), Tensor.zeros([0, 3], { dtype }), Tensor.fromArray([1, 2, 3], [3], { dtype })];
    const poisoned = Tensor.full([2, 3], NaN, { dtype });
    ops.gemmAccumulate(poisoned, a, b, { beta: 0 });
    assert.equal(Array.from(await valuesOf(() => ops.gemm(a, b))), [0, 0, 0, 0, 0, 0], `${dtype} gemm`);
    assert.equal(Array.from(await valuesOf(() => ops.gemm(a, b, { bias }))), [1, 2, 3, 1, 2, 3], `${dtype} gemm with bias`);
    assert.equal(Array.from(await poisoned.toArray()), [0, 0, 0, 0, 0, 0], `${dtype} beta 0 ignores NaN in C`);
    assert.equal(Array.from(await valuesOf(() => withScope(() => ops.sum(Tensor.zeros([0, 3], { dtype }), [0])))), [0, 0, 0], `${dtype} sum`);
    for (const t of [a, b, bias, poisoned]) t.dispose();
  }
});

// ---------------------------------------------------------------------------------------------
// Validation: every op throws SamCobotError with a stable code and the project's message shape

async function expectError(fn: () => unknown, code: string, message?: string | RegExp): Promise<void> {
  try {
    await fn();
  } catch (error) {
    assert.instance(error, SamCobotError, `${String(error)}`);
    assert.is((error as SamCobotError).code, code, (error as Error).message);
    assert.match((error as Error).message, /Expected .+ for .+ but received .+/);
    if (typeof message === 'string') assert.is((error as Error).message, message);
    else if (message) assert.match((error as Error).message, message);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

test('validation: bad shapes, dtypes, devices, disposed inputs and attributes throw typed errors', async () => {
  const a = Tensor.zeros([2, 3]);
  const b = Tensor.zeros([4, 5]);
  const ints = Tensor.zeros([2, 3], { dtype: 'i32' });
  const f64 = Tensor.zeros([2, 3], { dtype: 'f64' });
  const gone = Tensor.zeros([2, 3]);
  gone.dispose();

  await expectError(() => ops.gemm(a, b), 'ERR_SHAPE', 'gemm: Expected B with 3 along its inner dimension (A is [2,3]) for B but received [4,5]');
  await expectError(() => ops.gemm(a, Tensor.zeros([3])), 'ERR_SHAPE', 'gemm: Expected a tensor of rank 2 or more for B but received [3]');
  await expectError(() => ops.gemm(Tensor.zeros([2, 2, 3]), Tensor.zeros([3, 3, 4])), 'ERR_SHAPE', /B's batch dims equal to A's \[2\]/);
  await expectError(() => ops.gemm(a, f64.reshape([3, 2])), 'ERR_DTYPE', 'gemm: Expected dtype f32 for B but received f64');
  await expectError(() => ops.gemm(ints, ints.reshape([3, 2])), 'ERR_DTYPE', 'gemm: Expected a floating-point dtype for A but received i32');
  await expectError(() => ops.gemm(a, a, { transB: true, bias: Tensor.zeros([3]) }), 'ERR_SHAPE', 'gemm: Expected shape [2] for bias but received [3]');
  await expectError(() => ops.gemmAccumulate(Tensor.zeros([3, 3]), a, a, { transB: true }), 'ERR_SHAPE', 'gemm_accumulate: Expected C of shape [2,2] for C but received [3,3]');
  await expectError(() => ops.gemm(gone, a), 'ERR_DISPOSED');
  await expectError(() => ops.add(a, b), 'ERR_SHAPE', 'add: Expected shapes that broadcast against [2,3] for input 1 but received [4,5]');
  await expectError(() => ops.mul(a, f64), 'ERR_DTYPE', 'mul: Expected dtype f32 for input 1 but received f64');
  await expectError(() => ops.sub(ints, ints), 'ERR_DTYPE', 'sub: Expected a floating-point dtype for input 0 but received i32');
  await expectError(() => ops.div(a, gone), 'ERR_DISPOSED', 'Expected a live tensor for div input 1 but received a disposed tensor');
  await expectError(() => ops.scale(ints, 2), 'ERR_DTYPE');
  await expectError(() => ops.sum(a, [2]), 'ERR_ARGUMENT', 'sum: Expected distinct axes in [-2, 2) for axes but received 2');
  await expectError(() => ops.sum(a, [1, -1]), 'ERR_ARGUMENT');
  await expectError(() => ops.sum(a, [0.5]), 'ERR_ARGUMENT');
  await expectError(() => ops.sum(ints, [0]), 'ERR_DTYPE');
  await expectError(() => ops.accumulate(a, Tensor.zeros([3, 2])), 'ERR_SHAPE', 'accumulate: Expected shape [2,3] for the source but received [3,2]');
  await expectError(() => ops.cast(a, 'f8' as DType), 'ERR_DTYPE', 'cast: Expected one of f32, f64, bf16, f16, i32, u8 for dtype but received f8');
  await expectError(() => ops.cast(a, 'bf16'), 'ERR_DTYPE');
  await expectError(() => ops.copy(gone), 'ERR_DISPOSED');
  await expectError(() => ops.fill(gone, 1), 'ERR_DISPOSED');
  await expectError(() => ops.runOp('random_fill', [a], { distribution: 'cauchy' }), 'ERR_ARGUMENT', "random_fill: Expected 'normal' or 'uniform' for distribution but received cauchy");
  await expectError(() => Tensor.randn([3], { seed: -1 }), 'ERR_ARGUMENT');
  await expectError(() => Tensor.randn([3], { seed: 0.5 }), 'ERR_ARGUMENT');
  await expectError(() => Tensor.randn([3], { dtype: 'i32' }), 'ERR_DTYPE');
  await expectError(() => ops.runOp('no_such_op', [a]), 'ERR_ARGUMENT', 'Expected a registered op name for op but received \'no_such_op\'');
  await expectError(() => ops.runOp('add', [a]), 'ERR_ARGUMENT', 'add: Expected 2 inputs for the inputs but received 1');
  await expectError(() => ops.runOp('scale', [a], { alpha: 'two' }), 'ERR_ARGUMENT');
  await expectError(() => ops.runOp('scale', [a], { alpha: NaN }), 'ERR_ARGUMENT');
  await expectError(() => ops.runOp('add', [a, {} as Tensor]), 'ERR_ARGUMENT');
  if (!backends().cuda.available) await expectError(() => Tensor.zeros([2], { device: 'cuda' }), 'ERR_NO_CUDA');
  else {
    const onGpu = a.to('cuda');
    await expectError(() => ops.add(a, onGpu), 'ERR_DEVICE', 'add: Expected every input on cpu for input 1 but received a tensor on cuda');
    onGpu.dispose();
  }
  for (const t of [a, b, ints, f64]) t.dispose();
});

test.run();
