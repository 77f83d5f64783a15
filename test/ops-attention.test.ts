/**
 * The attention family (native/ops/attention.cc): forward against a plain-JS float64 reference that
 * materialises the whole softmax and applies the relative-position index rule of
 * sam-architecture.md 2.3 pair by pair, f32 against f64, the backward against finite differences
 * (q, k, v and both tables), and CUDA against the CPU when a GPU answers. Shapes cross the CPU
 * kernel's tiles (64 queries, 256 keys forward; 64 keys, 256 queries in the dk/dv pass) at odd
 * sizes, cover the SAM window (3x3 golden, 7x7), non-square grids, odd head widths (8, 16, 20) and
 * the decoder's few-tokens-against-many and back, without tables.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SamCobotError, Tensor, memoryStats } from '../lib/index.js';
import * as ops from '../lib/ops/index.js';
import { assertClose, checkOp, randomArray, type OpCheck } from './helpers/check-op.js';

interface Geometry {
  BH: number;
  N: number;
  M: number;
  D: number;
  Dv: number;
  grid?: [number, number];
  scale?: number;
}

/** out (BH, N, Dv) and lse (BH, N) with every logit written out: logit[t,u] = scale q_t.k_u + q_t.Rh[r_t - r_u + gh - 1] + q_t.Rw[c_t - c_u + gw - 1]. */
function attentionReference(g: Geometry, [q, k, v, rh, rw]: Float64Array[]): [Float64Array, Float64Array] {
  const { BH, N, M, D, Dv } = g;
  const scale = g.scale ?? 1 / Math.sqrt(D);
  const dot = (a: Float64Array, ai: number, b: Float64Array, bi: number): number => {
    let s = 0;
    for (let d = 0; d < D; ++d) s += a[ai + d]! * b[bi + d]!;
    return s;
  };
  const out = new Float64Array(BH * N * Dv);
  const lse = new Float64Array(BH * N);
  const logit = new Float64Array(M);
  for (let b = 0; b < BH; ++b) {
    for (let t = 0; t < N; ++t) {
      const qi = (b * N + t) * D;
      for (let u = 0; u < M; ++u) {
        logit[u] = scale * dot(q!, qi, k!, (b * M + u) * D);
        if (g.grid) {
          const [gh, gw] = g.grid;
          const [rt, ct, ru, cu] = [Math.floor(t / gw), t % gw, Math.floor(u / gw), u % gw];
          logit[u] += dot(q!, qi, rh!, (rt - ru + gh - 1) * D) + dot(q!, qi, rw!, (ct - cu + gw - 1) * D);
        }
      }
      const max = Math.max(...logit);
      let sum = 0;
      for (let u = 0; u < M; ++u) sum += Math.exp(logit[u]! - max);
      lse[b * N + t] = max + Math.log(sum);
      for (let u = 0; u < M; ++u) {
        const p = Math.exp(logit[u]! - lse[b * N + t]!);
        for (let e = 0; e < Dv; ++e) out[(b * N + t) * Dv + e] += p * v![(b * M + u) * Dv + e]!;
      }
    }
  }
  return [out, lse];
}

function optionsOf(g: Geometry, inputs: Tensor[]): ops.AttentionOptions {
  const tables = g.grid ? { relPosH: inputs[3], relPosW: inputs[4], gridH: g.grid[0], gridW: g.grid[1] } : {};
  return { ...tables, scale: g.scale };
}

/** The checkOp description of one geometry: forward, the reference, and the backward of every input. */
function attentionCheck(name: string, g: Geometry, extra: Partial<OpCheck> = {}): OpCheck {
  const shapes = [[g.BH, g.N, g.D], [g.BH, g.M, g.D], [g.BH, g.M, g.Dv]];
  if (g.grid) shapes.push([2 * g.grid[0] - 1, g.D], [2 * g.grid[1] - 1, g.D]);
  return {
    name,
    inputs: shapes.map((shape, i) => ({ shape, scale: i >= 3 ? 0.3 : 1 })),
    forward: (inputs) => {
      const { out, lse } = ops.attention(inputs[0]!, inputs[1]!, inputs[2]!, optionsOf(g, inputs));
      return [out, lse];
    },
    reference: (values) => attentionReference(g, values),
    backward: (inputs, [out, lse], [dout]) => {
      const [q, k, v] = inputs as [Tensor, Tensor, Tensor];
      const grads = ops.attentionBackward(dout!, q, k, v, out!, lse!, optionsOf(g, inputs));
      return g.grid ? [grads.dq, grads.dk, grads.dv, grads.dRelPosH!, grads.dRelPosW!] : [grads.dq, grads.dk, grads.dv];
    },
    gradCheckOutputs: [0], // the backward takes dout only: lse is saved state, not a differentiable output
    fwdTol: 1e-5,
    gradTol: 1e-6,
    cudaTol: 1e-4,
    ...extra,
  };
}

test('attention with the tables: the golden 3x3 window, D = 16, BH = 2', async () => {
  await checkOp(attentionCheck('attention 3x3 D16', { BH: 2, N: 9, M: 9, D: 16, Dv: 16, grid: [3, 3] }));
});

test('attention with the tables: non-square grids (2x3, 3x2), BH = 3, D = 8 and 20, Dv != D', async () => {
  await checkOp(attentionCheck('attention 2x3 D8', { BH: 3, N: 6, M: 6, D: 8, Dv: 8, grid: [2, 3] }));
  await checkOp(attentionCheck('attention 3x2 D20 Dv12', { BH: 2, N: 6, M: 6, D: 20, Dv: 12, grid: [3, 2] }, { seed: 3 }));
});

test('attention with the tables: the small 7x7 window, an explicit scale', async () => {
  await checkOp(attentionCheck('attention 7x7 D16 scale 0.3', { BH: 2, N: 49, M: 49, D: 16, Dv: 16, grid: [7, 7], scale: 0.3 }, { seed: 1 }));
});

test('attention across the CPU tiles: a 10x13 grid (130 tokens), D = 20; a 24x24 grid (576 tokens)', async () => {
  await checkOp(attentionCheck('attention 10x13 D20', { BH: 2, N: 130, M: 130, D: 20, Dv: 20, grid: [10, 13] }, { seed: 2 }));
  await checkOp(attentionCheck('attention 24x24 D16', { BH: 1, N: 576, M: 576, D: 16, Dv: 16, grid: [24, 24] }, { seed: 4 }));
});

test('attention without tables, decoder-like: few queries against many keys and back (N != M, Dv != D)', async () => {
  await checkOp(attentionCheck('attention 7 x 300 D16', { BH: 2, N: 7, M: 300, D: 16, Dv: 16 }, { seed: 5 }));
  await checkOp(attentionCheck('attention 300 x 7 D16 Dv8', { BH: 2, N: 300, M: 7, D: 16, Dv: 8 }, { seed: 6 }));
  await checkOp(attentionCheck('attention 5 x 11 D8 scale 1', { BH: 3, N: 5, M: 11, D: 8, Dv: 6, scale: 1 }, { seed: 7 }));
});

test('attention forward on a 32x32 grid (1024 tokens, several key tiles per query tile) against the reference', async () => {
  const g: Geometry = { BH: 2, N: 1024, M: 1024, D: 16, Dv: 16, grid: [32, 32] };
  await checkOp({ ...attentionCheck('attention 32x32 D16 forward', g, { seed: 8 }), backward: undefined });
});

/** q, k, v and tables of one geometry as f32 CPU tensors. */
function makeInputs(g: Geometry, seed: number): Tensor[] {
  const shapes = [[g.BH, g.N, g.D], [g.BH, g.M, g.D], [g.BH, g.M, g.Dv]];
  if (g.grid) shapes.push([2 * g.grid[0] - 1, g.D], [2 * g.grid[1] - 1, g.D]);
  return shapes.map((shape, i) => Tensor.fromArray(randomArray(shape.reduce((a, b) => a * b), { seed: seed + i }), shape, { dtype: 'f32' }));
}

test('attention backward is deterministic, and needRelPos: false skips only the table gradients', async () => {
  const g: Geometry = { BH: 3, N: 130, M: 130, D: 20, Dv: 20, grid: [10, 13] };
  const inputs = makeInputs(g, 11);
  const [q, k, v] = inputs as [Tensor, Tensor, Tensor];
  const { out, lse } = ops.attention(q, k, v, optionsOf(g, inputs));
  const dout = Tensor.randn(out.shape, { seed: 12 });
  const first = ops.attentionBackward(dout, q, k, v, out, lse, optionsOf(g, inputs));
  const second = ops.attentionBackward(dout, q, k, v, out, lse, optionsOf(g, inputs));
  const frozen = ops.attentionBackward(dout, q, k, v, out, lse, { ...optionsOf(g, inputs), needRelPos: false });
  assert.is(frozen.dRelPosH, undefined);
  for (const key of ['dq', 'dk', 'dv', 'dRelPosH', 'dRelPosW'] as const)
    assert.equal(await second[key]!.toArray(), await first[key]!.toArray(), `${key} differs between two identical runs`);
  for (const key of ['dq', 'dk', 'dv'] as const) assert.equal(await frozen[key].toArray(), await first[key].toArray(), `${key} with needRelPos: false`);
  for (const t of [...inputs, out, lse, dout, ...Object.values(first), ...Object.values(second), ...Object.values(frozen)]) t.dispose();
});

test('attention validates shapes, tables, grid and dtypes at the call', () => {
  const t = (shape: number[], dtype: 'f32' | 'f64' = 'f32'): Tensor => Tensor.zeros(shape, { dtype });
  const q = t([2, 6, 8]);
  const k = t([2, 6, 8]);
  const v = t([2, 6, 4]);
  const throwsWith = (fn: () => unknown, code: string, pattern: RegExp): void => {
    try {
      fn();
    } catch (error) {
      assert.instance(error, SamCobotError);
      assert.is((error as SamCobotError).code, code);
      assert.match((error as Error).message, pattern);
      return;
    }
    assert.unreachable(`expected ${code} ${pattern}`);
  };
  throwsWith(() => ops.attention(q, t([2, 6, 7]), v), 'ERR_SHAPE', /Expected shape \[2,6,8\] for k/);
  throwsWith(() => ops.attention(q, k, t([2, 5, 4])), 'ERR_SHAPE', /for v but received \[2,5,4\]/);
  throwsWith(() => ops.attention(t([6, 8]), k, v), 'ERR_SHAPE', /rank-3 tensor for q/);
  throwsWith(() => ops.attention(q, t([2, 0, 8]), t([2, 0, 4])), 'ERR_SHAPE', /at least one key/);
  throwsWith(() => ops.attention(q, k, t([2, 6, 4], 'f64')), 'ERR_DTYPE', /dtype f32 for v/);
  throwsWith(() => ops.attention(q, k, v, { scale: NaN }), 'ERR_ARGUMENT', /finite number for attribute 'scale'/);
  const rh = t([3, 8]);
  const rw = t([5, 8]);
  throwsWith(() => ops.attention(q, k, v, { relPosH: rh, relPosW: rw, gridH: 2, gridW: 4 }), 'ERR_SHAPE', /8 queries and keys \(gridH \* gridW = 2 \* 4\)/);
  throwsWith(() => ops.attention(q, k, v, { relPosH: rh, relPosW: rw, gridH: 3, gridW: 2 }), 'ERR_SHAPE', /shape \[5,8\] .* for rel_pos_h but received \[3,8\]/);
  throwsWith(() => ops.attention(q, k, v, { relPosH: rh, relPosW: t([5, 7]), gridH: 2, gridW: 3 }), 'ERR_SHAPE', /for rel_pos_w but received \[5,7\]/);
  throwsWith(() => ops.attention(q, k, v, { relPosH: rh, gridH: 2, gridW: 3 }), 'ERR_ARGUMENT', /both relPosH and relPosW/);
  throwsWith(() => ops.attention(q, k, v, { relPosH: rh, relPosW: rw }), 'ERR_ARGUMENT', /gridH and gridW with the tables/);
  throwsWith(() => ops.attention(q, k, v, { gridH: 2, gridW: 3 }), 'ERR_ARGUMENT', /only together with rel_pos_h and rel_pos_w/);
  throwsWith(() => ops.runOp('attention', [q, k, v, rh]), 'ERR_ARGUMENT', /both rel_pos_h and rel_pos_w, or neither/);
  throwsWith(() => ops.attentionBackward(t([2, 6, 5]), q, k, v, t([2, 6, 4]), t([2, 6])), 'ERR_SHAPE', /shape \[2,6,4\] for dout/);
  throwsWith(() => ops.attentionBackward(t([2, 6, 4]), q, k, v, t([2, 6, 4]), t([2, 5])), 'ERR_SHAPE', /shape \[2,6\] for lse/);
  for (const x of [q, k, v, rh, rw]) x.dispose();
});

test('attention backward of a 64x64 global block keeps its scratch to O(BH N (gh + gw)), far below BH N M', async () => {
  // The op's arena scratch is delta (BH, N) and the relative logits (BH, N, gh + gw); the N x M
  // scores alone would be 64 MiB here. The arena's peak is process-wide, so this can only catch a
  // regression when nothing earlier in the process peaked higher (true when this file runs alone).
  const g: Geometry = { BH: 1, N: 4096, M: 4096, D: 8, Dv: 8, grid: [64, 64] };
  const inputs = makeInputs(g, 31);
  const [q, k, v] = inputs as [Tensor, Tensor, Tensor];
  const { out, lse } = ops.attention(q, k, v, optionsOf(g, inputs));
  const dout = Tensor.randn(out.shape, { seed: 32, dtype: 'f32' });
  await lse.toArray();
  const before = memoryStats('cpu');
  const grads = ops.attentionBackward(dout, q, k, v, out, lse, optionsOf(g, inputs));
  await grads.dq.toArray();
  const outputs = Object.values(grads).reduce((sum, t) => sum + t!.numel * 4, 0);
  const scratch = 4 * g.N * (1 + 64 + 64);
  const allowed = before.bytesInUse + 1.25 * (outputs + scratch) + (1 << 20);
  const peak = memoryStats('cpu').peakBytesInUse;
  assert.ok(peak <= Math.max(before.peakBytesInUse, allowed), `arena peak ${peak} bytes during the backward, allowed ${allowed}`);
  for (const t of [...inputs, out, lse, dout, ...Object.values(grads)]) t!.dispose();
});

test.run();
