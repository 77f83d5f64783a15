/**
 * The conv family: conv2d and conv_transpose2d, forward against plain-JS float64 references
 * written from PyTorch's definitions (direct sums, not im2col), backward (dx, dw, db) by finite
 * differences, in f32 against f64, on CUDA when a GPU answers. Odd sizes, non-square kernels,
 * stride/padding combinations, SAM's own shapes in small; which gradients come back; the weight
 * gradient's determinism; bad arguments.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SamCobotError, Tensor } from '../lib/index.js';
import * as ops from '../lib/ops/index.js';
import { checkOp, throwsCode } from './helpers/check-op.js';

type Pair = [number, number];

/** PyTorch's conv2d: y[b, o, oh, ow] = bias[o] + Σ_{c,i,j} x[b, c, oh·sh − ph + i, ow·sw − pw + j] · w[o, c, i, j]. */
function conv2dRef(x: Float64Array, [B, C, H, W]: number[], w: Float64Array, [O, , kh, kw]: number[], bias: Float64Array | undefined, [sh, sw]: Pair, [ph, pw]: Pair): Float64Array {
  const Ho = Math.floor((H + 2 * ph - kh) / sh) + 1;
  const Wo = Math.floor((W + 2 * pw - kw) / sw) + 1;
  const y = new Float64Array(B * O * Ho * Wo);
  for (let b = 0; b < B; ++b)
    for (let o = 0; o < O; ++o)
      for (let oh = 0; oh < Ho; ++oh)
        for (let ow = 0; ow < Wo; ++ow) {
          let acc = bias ? bias[o]! : 0;
          for (let c = 0; c < C; ++c)
            for (let i = 0; i < kh; ++i)
              for (let j = 0; j < kw; ++j) {
                const ih = oh * sh - ph + i;
                const iw = ow * sw - pw + j;
                if (ih >= 0 && ih < H && iw >= 0 && iw < W) acc += x[((b * C + c) * H + ih) * W + iw]! * w[((o * C + c) * kh + i) * kw + j]!;
              }
          y[((b * O + o) * Ho + oh) * Wo + ow] = acc;
        }
  return y;
}

/**
 * PyTorch's conv_transpose2d, as its scatter definition: every x[b, c, h, w] adds x · w[c, o, i, j] to
 * y[b, o, h·sh − ph + i, w·sw − pw + j] (positions outside y are cropped away).
 */
function convTranspose2dRef(x: Float64Array, [B, C, H, W]: number[], w: Float64Array, [, O, kh, kw]: number[], bias: Float64Array | undefined, [sh, sw]: Pair, [ph, pw]: Pair): Float64Array {
  const Ho = (H - 1) * sh - 2 * ph + kh;
  const Wo = (W - 1) * sw - 2 * pw + kw;
  const y = new Float64Array(B * O * Ho * Wo);
  for (let b = 0; b < B; ++b) {
    for (let o = 0; o < O; ++o) y.fill(bias ? bias[o]! : 0, (b * O + o) * Ho * Wo, (b * O + o + 1) * Ho * Wo);
    for (let c = 0; c < C; ++c)
      for (let h = 0; h < H; ++h)
        for (let v = 0; v < W; ++v)
          for (let o = 0; o < O; ++o)
            for (let i = 0; i < kh; ++i)
              for (let j = 0; j < kw; ++j) {
                const oh = h * sh - ph + i;
                const ow = v * sw - pw + j;
                if (oh >= 0 && oh < Ho && ow >= 0 && ow < Wo) y[((b * O + o) * Ho + oh) * Wo + ow] += x[((b * C + c) * H + h) * W + v]! * w[((c * O + o) * kh + i) * kw + j]!;
              }
  }
  return y;
}

interface ConvCase {
  label: string;
  x: number[];
  w: number[];
  bias: boolean;
  stride: Pair;
  padding: Pair;
}

const pairOption = ([h, w]: Pair): number | Pair => (h === w ? h : [h, w]);

const conv2dCases: ConvCase[] = [
  { label: 'non-square 3x2 kernel, stride [2,1], padding [1,0], bias', x: [2, 3, 7, 6], w: [4, 3, 3, 2], bias: true, stride: [2, 1], padding: [1, 0] },
  { label: '3x3 padding 1 (the neck), no bias', x: [1, 5, 5, 7], w: [3, 5, 3, 3], bias: false, stride: [1, 1], padding: [1, 1] },
  { label: '1x1 (the neck), batch 2', x: [2, 5, 4, 3], w: [3, 5, 1, 1], bias: false, stride: [1, 1], padding: [0, 0] },
  { label: '1x1 with bias (the mask downscaling head)', x: [1, 4, 3, 3], w: [6, 4, 1, 1], bias: true, stride: [1, 1], padding: [0, 0] },
  { label: 'patch embedding 4x4 stride 4 with a remainder row', x: [1, 3, 9, 8], w: [5, 3, 4, 4], bias: true, stride: [4, 4], padding: [0, 0] },
  { label: '2x2 stride 2 (the mask prompt downscaling)', x: [3, 1, 6, 6], w: [4, 1, 2, 2], bias: true, stride: [2, 2], padding: [0, 0] },
  { label: 'padding 2 larger than stride 3 leaves taps in the padding', x: [1, 2, 5, 5], w: [2, 2, 3, 3], bias: true, stride: [3, 3], padding: [2, 2] },
  { label: 'kernel wider than the image but not the padded image', x: [2, 1, 3, 2], w: [2, 1, 2, 4], bias: false, stride: [1, 2], padding: [0, 1] },
];

for (const c of conv2dCases) {
  test(`conv2d ${c.label}`, () =>
    checkOp({
      name: `conv2d ${c.label}`,
      inputs: [{ shape: c.x }, { shape: c.w, scale: 0.5 }, ...(c.bias ? [{ shape: [c.w[0]!] }] : [])],
      forward: ([x, w, b]) => ops.conv2d(x!, w!, b, { stride: pairOption(c.stride), padding: pairOption(c.padding) }),
      reference: ([x, w, b], [xs, ws]) => conv2dRef(x!, xs!, w!, ws!, b, c.stride, c.padding),
      backward: ([x, w, b], _outputs, [dy]) => {
        const g = ops.conv2dBackward(dy!, x!, w!, { stride: c.stride, padding: c.padding, needBias: b !== undefined });
        return [g.dx!, g.dw!, ...(b ? [g.db!] : [])];
      },
    }));
}

const transposedCases: ConvCase[] = [
  { label: '2x2 stride 2 with bias (the decoder upscaling), batch 2', x: [2, 4, 3, 5], w: [4, 3, 2, 2], bias: true, stride: [2, 2], padding: [0, 0] },
  { label: 'non-square 3x4 kernel, stride [2,3], padding [1,0]', x: [1, 3, 4, 3], w: [3, 2, 3, 4], bias: false, stride: [2, 3], padding: [1, 0] },
  { label: '3x3 stride 1 padding 1 (overlapping taps)', x: [2, 2, 3, 4], w: [2, 3, 3, 3], bias: true, stride: [1, 1], padding: [1, 1] },
  { label: '1x1 with bias', x: [2, 3, 2, 3], w: [3, 5, 1, 1], bias: true, stride: [1, 1], padding: [0, 0] },
  { label: 'stride 3 larger than the kernel 2 (gaps of bias only)', x: [1, 2, 3, 2], w: [2, 2, 2, 2], bias: true, stride: [3, 3], padding: [0, 0] },
];

for (const c of transposedCases) {
  test(`conv_transpose2d ${c.label}`, () =>
    checkOp({
      name: `conv_transpose2d ${c.label}`,
      inputs: [{ shape: c.x }, { shape: c.w, scale: 0.5 }, ...(c.bias ? [{ shape: [c.w[1]!] }] : [])],
      forward: ([x, w, b]) => ops.convTranspose2d(x!, w!, b, { stride: pairOption(c.stride), padding: pairOption(c.padding) }),
      reference: ([x, w, b], [xs, ws]) => convTranspose2dRef(x!, xs!, w!, ws!, b, c.stride, c.padding),
      backward: ([x, w, b], _outputs, [dy]) => {
        const g = ops.convTranspose2dBackward(dy!, x!, w!, { stride: c.stride, padding: c.padding, needBias: b !== undefined });
        return [g.dx!, g.dw!, ...(b ? [g.db!] : [])];
      },
    }));
}

test('backward ops return only the requested gradients, and the same values either way', async () => {
  const x = Tensor.randn([2, 3, 5, 5], { seed: 1 });
  const w = Tensor.randn([4, 3, 3, 3], { seed: 2 });
  const dy = Tensor.randn([2, 4, 3, 3], { seed: 3 });
  const all = ops.conv2dBackward(dy, x, w, { stride: 2, padding: 1, needBias: true });
  assert.equal(Object.keys(all), ['dx', 'dw', 'db']);
  assert.equal([all.dx!.shape, all.dw!.shape, all.db!.shape], [[2, 3, 5, 5], [4, 3, 3, 3], [4]]);
  const frozen = ops.conv2dBackward(dy, x, w, { stride: 2, padding: 1, needWeight: false });
  assert.equal(Object.keys(frozen), ['dx']);
  assert.equal(Array.from(await frozen.dx!.toArray()), Array.from(await all.dx!.toArray()));
  const weightOnly = ops.conv2dBackward(dy, x, w, { stride: 2, padding: 1, needInput: false });
  assert.equal(Object.keys(weightOnly), ['dw']);
  // The batch is summed in a fixed order: the same bits on every run.
  assert.equal(Array.from(await weightOnly.dw!.toArray()), Array.from(await all.dw!.toArray()));
  const up = Tensor.randn([2, 4, 3, 3], { seed: 4 });
  const wt = Tensor.randn([4, 2, 2, 2], { seed: 5 });
  const dyUp = Tensor.randn([2, 2, 6, 6], { seed: 6 });
  const biasOnly = ops.convTranspose2dBackward(dyUp, up, wt, { stride: 2, needInput: false, needWeight: false, needBias: true });
  assert.equal(Object.keys(biasOnly), ['db']);
  assert.equal(biasOnly.db!.shape, [2]);
});


test('bad arguments throw at the call with the op, the argument and what was expected', () => {
  const x = Tensor.zeros([1, 3, 8, 8]);
  const w = Tensor.zeros([4, 3, 3, 3]);
  throwsCode(() => ops.conv2d(x, Tensor.zeros([4, 2, 3, 3])), 'ERR_SHAPE', /conv2d: Expected a weight \(Cout, 3, kh, kw\) matching x's channels for w but received \[4,2,3,3\]/);
  throwsCode(() => ops.conv2d(Tensor.zeros([3, 8, 8]), w), 'ERR_SHAPE', /rank-4 tensor for x \(B, C, H, W\) but received \[3,8,8\]/);
  throwsCode(() => ops.conv2d(x, w, undefined, { stride: 0 }), 'ERR_ARGUMENT', /integer in \[1, 1048576\] or a list \[h, w\] of them for attribute 'stride' but received 0/);
  throwsCode(() => ops.conv2d(x, w, undefined, { padding: -1 }), 'ERR_ARGUMENT', /for attribute 'padding' but received -1/);
  throwsCode(() => ops.conv2d(x, w, undefined, { padding: [1, 2, 3] as unknown as [number, number] }), 'ERR_ARGUMENT', /attribute 'padding' but received \[1,2,3\]/);
  throwsCode(() => ops.conv2d(x, w, undefined, { stride: [1.5, 1] }), 'ERR_ARGUMENT', /attribute 'stride' but received \[1.5,1\]/);
  throwsCode(() => ops.conv2d(Tensor.zeros([1, 3, 2, 8]), w), 'ERR_SHAPE', /image at least as large as the kernel after padding \(kernel \[3,3\], stride \[1,1\], padding \[0,0\]\) for x but received \[1,3,2,8\]/);
  throwsCode(() => ops.conv2d(x, w, Tensor.zeros([3])), 'ERR_SHAPE', /shape \[4\] for bias but received \[3\]/);
  throwsCode(() => ops.conv2d(x, Tensor.zeros([4, 3, 3, 3], { dtype: 'f64' })), 'ERR_DTYPE', /dtype f32 for w but received f64/);
  throwsCode(() => ops.conv2dBackward(Tensor.zeros([1, 4, 8, 8]), x, w), 'ERR_SHAPE', /shape \[1,4,6,6\] for dy but received \[1,4,8,8\]/);
  throwsCode(() => ops.conv2dBackward(Tensor.zeros([1, 4, 6, 6]), x, w, { needInput: false, needWeight: false }), 'ERR_ARGUMENT', /at least one of needInput, needWeight, needBias/);
  const wt = Tensor.zeros([3, 2, 2, 2]);
  throwsCode(() => ops.convTranspose2d(x, Tensor.zeros([2, 3, 2, 2])), 'ERR_SHAPE', /conv_transpose2d: Expected a weight \(3, Cout, kh, kw\)/);
  throwsCode(() => ops.convTranspose2d(Tensor.zeros([1, 3, 1, 1]), wt, undefined, { padding: 1 }), 'ERR_SHAPE', /an output of at least 1x1/);
  throwsCode(() => ops.convTranspose2d(x, wt, Tensor.zeros([3])), 'ERR_SHAPE', /shape \[2\] for bias but received \[3\]/);
  throwsCode(() => ops.convTranspose2dBackward(Tensor.zeros([1, 2, 8, 8]), x, wt, { stride: 2 }), 'ERR_SHAPE', /shape \[1,2,16,16\] for dy/);
});

test.run();
