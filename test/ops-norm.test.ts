/**
 * The norm family: layer_norm over the last axis (tokens) and over the channels of NCHW maps
 * (LayerNorm2d), forward against a plain-JS float64 reference, backward (dx, dweight, dbias) by
 * finite differences, in f32 against f64, on CUDA when a GPU answers; the weight gradient's
 * determinism, and bad arguments.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SamCobotError, Tensor } from '../lib/index.js';
import * as ops from '../lib/ops/index.js';
import { checkOp, numel, randomArray, throwsCode } from './helpers/check-op.js';

/** LayerNorm of x viewed as (O, C, I) (axis -1: I = 1; axis 1: x (B, C, H, W), I = H·W): [y, mean, rstd]. */
function layerNormRef(x: Float64Array, shape: number[], w: Float64Array, b: Float64Array, eps: number, axis: -1 | 1): Float64Array[] {
  const C = axis === 1 ? shape[1]! : shape.at(-1)!;
  const I = axis === 1 ? shape[2]! * shape[3]! : 1;
  const O = numel(shape) / (C * I);
  const y = new Float64Array(x.length);
  const mean = new Float64Array(O * I);
  const rstd = new Float64Array(O * I);
  for (let o = 0; o < O; ++o)
    for (let i = 0; i < I; ++i) {
      const at = (c: number): number => (o * C + c) * I + i;
      let mu = 0;
      for (let c = 0; c < C; ++c) mu += x[at(c)]! / C;
      let variance = 0;
      for (let c = 0; c < C; ++c) variance += (x[at(c)]! - mu) ** 2 / C;
      const rs = 1 / Math.sqrt(variance + eps);
      for (let c = 0; c < C; ++c) y[at(c)] = (x[at(c)]! - mu) * rs * w[c]! + b[c]!;
      mean[o * I + i] = mu;
      rstd[o * I + i] = rs;
    }
  return [y, mean, rstd];
}

interface NormCase {
  label: string;
  shape: number[];
  axis: -1 | 1;
  eps: number;
  needWeight?: boolean;
  data?: number[];
}

const cases: NormCase[] = [
  { label: 'tokens (2, 3, 5, 7), eps 1e-6', shape: [2, 3, 5, 7], axis: -1, eps: 1e-6 },
  { label: 'decoder tokens (3, 11), eps 1e-5', shape: [3, 11], axis: -1, eps: 1e-5 },
  { label: 'one row of 1 channel (y = bias)', shape: [1, 1], axis: -1, eps: 1e-5 },
  { label: 'LayerNorm2d (2, 5, 3, 4)', shape: [2, 5, 3, 4], axis: 1, eps: 1e-6 },
  { label: 'LayerNorm2d over more than one tile of positions (1, 3, 9, 9)', shape: [1, 3, 9, 9], axis: 1, eps: 1e-6 },
  { label: 'a large eps that visibly changes rstd', shape: [4, 6], axis: -1, eps: 0.5 },
  { label: 'frozen weight (needWeight false), axis 1', shape: [2, 4, 2, 3], axis: 1, eps: 1e-6, needWeight: false },
  // Channels far from zero mean: the centred second pass keeps the variance accurate in f32.
  { label: 'values offset by 10', shape: [3, 16], axis: -1, eps: 1e-6, data: Array.from(randomArray(48, { seed: 9 }), (v) => v + 10) },
];

for (const c of cases) {
  const C = c.axis === 1 ? c.shape[1]! : c.shape.at(-1)!;
  const needWeight = c.needWeight ?? true;
  test(`layer_norm ${c.label}`, () =>
    checkOp({
      name: `layer_norm ${c.label}`,
      inputs: [{ shape: c.shape, data: c.data }, { shape: [C], scale: 0.5 }, { shape: [C] }],
      forward: ([x, w, b]) => {
        const { y, mean, rstd } = ops.layerNorm(x!, w!, b!, { eps: c.eps, axis: c.axis });
        return [y, mean, rstd];
      },
      reference: ([x, w, b], [shape]) => layerNormRef(x!, shape!, w!, b!, c.eps, c.axis),
      gradCheckOutputs: [0],
      backward: ([x, w], [, mean, rstd], [dy]) => {
        const g = ops.layerNormBackward(dy!, x!, w!, mean!, rstd!, { axis: c.axis, needWeight });
        return [g.dx, g.dweight ?? null, g.dbias ?? null];
      },
      fwdTol: 2e-5,
      gradTol: 1e-6,
    }));
}

test('layer_norm_backward: dweight and dbias are the same bits on every run, and only dx when frozen', async () => {
  const x = Tensor.randn([64, 96], { seed: 1 });
  const w = Tensor.randn([96], { seed: 2 });
  const b = Tensor.randn([96], { seed: 3 });
  const dy = Tensor.randn([64, 96], { seed: 4 });
  const { mean, rstd } = ops.layerNorm(x, w, b, { eps: 1e-6 });
  const first = ops.layerNormBackward(dy, x, w, mean, rstd);
  const second = ops.layerNormBackward(dy, x, w, mean, rstd);
  assert.equal(Array.from(await first.dweight!.toArray()), Array.from(await second.dweight!.toArray()));
  assert.equal(Array.from(await first.dbias!.toArray()), Array.from(await second.dbias!.toArray()));
  const frozen = ops.layerNormBackward(dy, x, w, mean, rstd, { needWeight: false });
  assert.equal(Object.keys(frozen), ['dx']);
  assert.equal(Array.from(await frozen.dx.toArray()), Array.from(await first.dx.toArray()));
  for (const t of [x, w, b, dy, mean, rstd, first.dx, first.dweight!, first.dbias!, second.dx, second.dweight!, second.dbias!, frozen.dx]) t.dispose();
});

test('layer_norm statistics drop the normalised axis', () => {
  const x = Tensor.zeros([2, 6, 3, 5]);
  const w = Tensor.ones([6]);
  const { y, mean, rstd } = ops.layerNorm(x, w, Tensor.zeros([6]), { axis: 1 });
  assert.equal([y.shape, mean.shape, rstd.shape], [[2, 6, 3, 5], [2, 3, 5], [2, 3, 5]]);
  const tokens = ops.layerNorm(Tensor.zeros([2, 3, 5]), Tensor.ones([5]), Tensor.zeros([5]));
  assert.equal(tokens.mean.shape, [2, 3]);
});


test('bad arguments throw at the call with the op, the argument and what was expected', () => {
  const x = Tensor.zeros([2, 4, 3, 3]);
  const w4 = Tensor.ones([4]);
  const w3 = Tensor.ones([3]);
  throwsCode(() => ops.layerNorm(x, w4, w4), 'ERR_SHAPE', /layer_norm: Expected shape \[3\] for weight but received \[4\]/);
  throwsCode(() => ops.layerNorm(x, w3, w4, { axis: 1 }), 'ERR_SHAPE', /Expected shape \[4\] for weight but received \[3\]/);
  throwsCode(() => ops.layerNorm(x, w4, w3, { axis: 1 }), 'ERR_SHAPE', /for bias but received \[3\]/);
  throwsCode(() => ops.layerNorm(Tensor.zeros([4, 3]), w4, w4, { axis: 1 }), 'ERR_SHAPE', /rank-4 .* but received \[4,3\]/);
  throwsCode(() => ops.layerNorm(x, w3, w3, { axis: 2 as -1 }), 'ERR_ARGUMENT', /-1 \(the last axis\) or 1 .* for attribute 'axis' but received 2/);
  throwsCode(() => ops.layerNorm(x, w3, w3, { eps: -1 }), 'ERR_ARGUMENT', /for attribute 'eps' but received -1/);
  throwsCode(() => ops.layerNorm(x, Tensor.ones([3], { dtype: 'f64' }), w3), 'ERR_DTYPE', /dtype f32 for weight but received f64/);
  throwsCode(() => ops.layerNorm(Tensor.zeros([2, 3], { dtype: 'i32' }), w3, w3), 'ERR_DTYPE', /floating-point dtype for x/);
  throwsCode(() => ops.layerNorm(Tensor.zeros([2, 0]), Tensor.zeros([0]), Tensor.zeros([0])), 'ERR_SHAPE', /at least one channel/);
  const { mean, rstd } = ops.layerNorm(x, w3, w3);
  throwsCode(() => ops.layerNormBackward(x, x, w3, rstd.reshape([2, 4, 1, 3]), rstd), 'ERR_SHAPE', /shape \[2,4,3\] for mean but received \[2,4,1,3\]/);
  throwsCode(() => ops.layerNormBackward(Tensor.zeros([2, 4, 3, 2]), x, w3, mean, rstd), 'ERR_SHAPE', /for dy but received \[2,4,3,2\]/);
  throwsCode(() => ops.layerNormBackward(x, x, w3, mean, rstd, { axis: 1 }), 'ERR_SHAPE', /shape \[4\] for weight/);
});

test.run();
