/**
 * The COBOT ops (cobot-method.md §3, §4, §10.3-10.6) and dropout: every op's forward against a
 * plain-JS float64 reference, its backward by finite differences on every input, f32 against f64,
 * and CUDA against the CPU when a GPU answers. The quaternion reference is built from the §4 table
 * of sign matrices, independently of the native sign rule. Then the §10.9 invariants (κ = 2 at
 * init, a zero diagonal when R = 0, a scaled orthogonal skew-symmetric Q for one quaternion), the
 * in-place accumulation of the bottleneck backward, the dropout mask (rate, scaling, the same mask in
 * backward and on both backends), and bad arguments.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SamCobotError, Tensor, backends, type TensorOptions } from '../lib/index.js';
import * as ops from '../lib/ops/index.js';
import { checkOp, randomArray, throwsCode } from './helpers/check-op.js';

type Coefficients = 'dual' | 'local' | 'shared';
type Head = 'quaternion' | 'linear' | 'none';
interface Mode {
  coefficients: Coefficients;
  relation: boolean;
  head: Head;
}

// ---------------------------------------------------------------------------------------------
// References

/** The §4 sign matrices E_r, E_i, E_j, E_k, entry by entry as the table lists them (all others 0). */
const E: number[][][] = [
  [[0, 0, 1], [1, 1, 1], [2, 2, 1], [3, 3, 1]],
  [[0, 1, 1], [1, 0, -1], [2, 3, 1], [3, 2, -1]],
  [[0, 2, 1], [1, 3, -1], [2, 0, -1], [3, 1, 1]],
  [[0, 3, 1], [1, 2, 1], [2, 1, -1], [3, 0, -1]],
].map((entries) => {
  const m = Array.from({ length: 4 }, () => [0, 0, 0, 0]);
  for (const [p, q, sign] of entries) m[p!]![q!] = sign!;
  return m;
});

const headsShape = (head: Head, V: number, T: number): number[] =>
  head === 'quaternion' ? [T, 4, V / 4, V / 4] : head === 'linear' ? [T, V, V] : [1];

/** [kappa (T, V), Q (T, V, V)] of cobot_prepare, from C (V, T), P (T, T), gamma (T, V) and the heads. */
function prepareRef(mode: Mode, C: Float64Array, P: Float64Array, gamma: Float64Array, heads: Float64Array, V: number, T: number): Float64Array[] {
  const kappa = new Float64Array(T * V);
  for (let t = 0; t < T; ++t)
    for (let v = 0; v < V; ++v) {
      let mixed = 0;
      if (mode.relation) for (let m = 0; m < T; ++m) mixed += C[v * T + m]! * P[m * T + t]!;
      else mixed = C[v * T + t]!;
      kappa[t * V + v] = (mode.coefficients === 'local' ? 0 : mixed) + (mode.coefficients === 'shared' ? 0 : gamma[t * V + v]!);
    }
  const Q = new Float64Array(T * V * V);
  const B = V / 4;
  for (let t = 0; t < T; ++t)
    for (let i = 0; i < V; ++i)
      for (let j = 0; j < V; ++j) {
        let value: number;
        if (mode.head === 'none') value = i === j ? 1 : 0;
        else if (mode.head === 'linear') value = heads[(t * V + i) * V + j]!;
        else {
          // Q = Σ_c E_c ⊗ W_c: block (p, q) is Σ_c E_c[p, q] · W_c.
          const p = Math.floor(i / B), q = Math.floor(j / B), a = i % B, b = j % B;
          value = 0;
          for (let c = 0; c < 4; ++c) value += E[c]![p]![q]! * heads[((t * 4 + c) * B + a) * B + b]!;
        }
        Q[(t * V + i) * V + j] = value;
      }
  return [kappa, Q];
}

/** The pre-activation H = (A ⊙ κ_t)·Q_t (N, V) of the bottleneck. */
function bottleneckPreRef(A: Float64Array, kappa: Float64Array, Q: Float64Array, N: number, V: number, t: number): Float64Array {
  const H = new Float64Array(N * V);
  for (let r = 0; r < N; ++r)
    for (let j = 0; j < V; ++j) {
      let h = 0;
      for (let v = 0; v < V; ++v) h += A[r * V + v]! * kappa[t * V + v]! * Q[(t * V + v) * V + j]!;
      H[r * V + j] = h;
    }
  return H;
}

/** Finite differences across a ReLU kink are meaningless: the cases keep every pre-activation clear of 0. */
function assertAwayFromKink(H: Float64Array, label: string): void {
  const closest = H.reduce((m, h) => Math.min(m, Math.abs(h)), Infinity);
  if (closest < 1e-3) throw new Error(`${label}: a pre-activation is ${closest.toExponential(2)} from the ReLU kink; pick another seed`);
}

const relu = (H: Float64Array): Float64Array => H.map((h) => Math.max(h, 0));

// The counter-based uniform draw of native/core/random.h, in BigInt arithmetic.
const M64 = (1n << 64n) - 1n;
function mix64(z: bigint): bigint {
  z = (z + 0x9e3779b97f4a7c15n) & M64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
}
const uniform01 = (seed: number, index: number): number =>
  Number(mix64((mix64(BigInt(seed) ^ 0x5851f42d4c957f2dn) + BigInt(index) * 2n) & M64) >> 11n) / 2 ** 53;

const dropoutRef = (x: Float64Array, p: number, seed: number): Float64Array => x.map((v, i) => (uniform01(seed, i) >= p ? v * (1 / (1 - p)) : 0));

const like = (t: Tensor): TensorOptions => ({ dtype: t.dtype, device: t.device });

// ---------------------------------------------------------------------------------------------
// cobot_prepare and its backward

const prepareCases: Array<Mode & { V: number; T: number }> = [
  { V: 8, T: 3, coefficients: 'dual', relation: true, head: 'quaternion' },
  { V: 16, T: 4, coefficients: 'dual', relation: true, head: 'quaternion' },
  { V: 4, T: 6, coefficients: 'dual', relation: true, head: 'quaternion' },
  { V: 8, T: 5, coefficients: 'local', relation: true, head: 'quaternion' },
  { V: 8, T: 3, coefficients: 'shared', relation: true, head: 'quaternion' },
  { V: 8, T: 4, coefficients: 'dual', relation: false, head: 'quaternion' },
  { V: 4, T: 3, coefficients: 'shared', relation: false, head: 'quaternion' },
  { V: 6, T: 3, coefficients: 'dual', relation: true, head: 'linear' },
  { V: 5, T: 4, coefficients: 'dual', relation: true, head: 'none' },
  { V: 4, T: 5, coefficients: 'local', relation: false, head: 'linear' },
];

for (const c of prepareCases) {
  const label = `cobot_prepare V ${c.V} T ${c.T} ${c.coefficients}${c.relation ? ' relation' : ''} ${c.head}`;
  const mode: Mode = { coefficients: c.coefficients, relation: c.relation, head: c.head };
  test(label, () =>
    checkOp({
      name: label,
      inputs: [{ shape: [c.V, c.T] }, { shape: [c.T, c.T] }, { shape: [c.T, c.V] }, { shape: headsShape(c.head, c.V, c.T) }],
      forward: ([C, P, gamma, heads]) => {
        const { kappa, q } = ops.cobotPrepare(C!, P!, gamma!, heads!, mode);
        return [kappa, q];
      },
      reference: ([C, P, gamma, heads]) => prepareRef(mode, C!, P!, gamma!, heads!, c.V, c.T),
      backward: ([C, P], _outputs, [dKappa, dQ]) => {
        const g = ops.cobotPrepareBackward(C!, P!, dKappa!, dQ!, mode);
        return [g.dC, g.dP, g.dGamma, g.dHeads];
      },
    }));
}

// ---------------------------------------------------------------------------------------------
// cobot_bottleneck and its backward

const bottleneckCases = [
  { V: 8, T: 3, N: 5, head: 1, relu: true, seed: 1 },
  { V: 16, T: 4, N: 37, head: 3, relu: true, seed: 2 },
  { V: 16, T: 4, N: 37, head: 0, relu: false, seed: 3 },
  { V: 4, T: 6, N: 23, head: 4, relu: false, seed: 4 },
  { V: 4, T: 5, N: 31, head: 2, relu: true, seed: 8 },
  // More rows than one partial sum (64): the backward adds two partials.
  { V: 8, T: 3, N: 130, head: 2, relu: false, seed: 6 },
  { V: 12, T: 3, N: 13, head: 2, relu: true, seed: 7 },
];

for (const c of bottleneckCases) {
  const label = `cobot_bottleneck N ${c.N} V ${c.V} T ${c.T} head ${c.head}${c.relu ? ' relu' : ''}`;
  const options = { head: c.head, relu: c.relu };
  test(label, () =>
    checkOp({
      name: label,
      seed: c.seed,
      inputs: [{ shape: [c.N, c.V] }, { shape: [c.T, c.V] }, { shape: [c.T, c.V, c.V], scale: 0.5 }],
      forward: ([a, kappa, q]) => ops.cobotBottleneck(a!, kappa!, q!, options),
      reference: ([a, kappa, q]) => {
        const H = bottleneckPreRef(a!, kappa!, q!, c.N, c.V, c.head);
        if (!c.relu) return H;
        assertAwayFromKink(H, label);
        return relu(H);
      },
      backward: ([a, kappa, q], [out], [dOut]) => {
        const dKappa = Tensor.zeros([c.T, c.V], like(a!));
        const dQ = Tensor.zeros([c.T, c.V, c.V], like(a!));
        const dA = ops.cobotBottleneckBackward(dOut!, a!, kappa!, q!, out!, dKappa, dQ, options);
        return [dA, dKappa, dQ];
      },
    }));
}

// The whole per-step chain of a LoRA host (T = 2L heads of V = 4 sharing C and P, no ReLU) and of
// an AdaptFormer host (V = 8, ReLU): the bottleneck backwards of every head accumulate into shared
// dKappa and dQ before the prepare backward scatters them, so every head's loss reaches C and P.
for (const host of [
  { name: 'LoRA', V: 4, T: 4, N: 9, relu: false, seed: 11 },
  { name: 'AdaptFormer', V: 8, T: 3, N: 7, relu: true, seed: 13 },
]) {
  const { V, T, N } = host;
  const mode: Mode = { coefficients: 'dual', relation: true, head: 'quaternion' };
  const label = `cobot chain ${host.name}: prepare, ${T} bottlenecks, their backwards, prepare backward`;
  test(label, () =>
    checkOp({
      name: label,
      seed: host.seed,
      inputs: [
        ...Array.from({ length: T }, () => ({ shape: [N, V] })),
        { shape: [V, T] },
        { shape: [T, T] },
        { shape: [T, V] },
        { shape: headsShape('quaternion', V, T), scale: 0.5 },
      ],
      forward: (inputs) => {
        const [C, P, gamma, heads] = inputs.slice(T);
        const { kappa, q } = ops.cobotPrepare(C!, P!, gamma!, heads!, mode);
        return inputs.slice(0, T).map((a, t) => ops.cobotBottleneck(a, kappa, q, { head: t, relu: host.relu }));
      },
      reference: (values) => {
        const [kappa, Q] = prepareRef(mode, values[T]!, values[T + 1]!, values[T + 2]!, values[T + 3]!, V, T);
        return values.slice(0, T).map((a, t) => {
          const H = bottleneckPreRef(a, kappa!, Q!, N, V, t);
          if (!host.relu) return H;
          assertAwayFromKink(H, label);
          return relu(H);
        });
      },
      backward: (inputs, outputs, gradOutputs) => {
        const [C, P, gamma, heads] = inputs.slice(T);
        const { kappa, q } = ops.cobotPrepare(C!, P!, gamma!, heads!, mode);
        const dKappa = Tensor.zeros([T, V], like(C!));
        const dQ = Tensor.zeros([T, V, V], like(C!));
        const dA = inputs
          .slice(0, T)
          .map((a, t) => ops.cobotBottleneckBackward(gradOutputs[t]!, a, kappa, q, outputs[t]!, dKappa, dQ, { head: t, relu: host.relu }));
        const g = ops.cobotPrepareBackward(C!, P!, dKappa, dQ, mode);
        return [...dA, g.dC, g.dP, g.dGamma, g.dHeads];
      },
    }));
}

test('cobot_bottleneck_backward adds into row t of dKappa and dQ, leaves the other rows, and is deterministic', async () => {
  const [N, V, T, t] = [1000, 16, 3, 1];
  const a = Tensor.randn([N, V], { seed: 1 });
  const kappa = Tensor.randn([T, V], { seed: 2 });
  const q = Tensor.randn([T, V, V], { seed: 3 });
  const dOut = Tensor.randn([N, V], { seed: 4 });
  const out = ops.cobotBottleneck(a, kappa, q, { head: t, relu: true });
  const runs = [] as Array<{ dA: number[]; dKappa: number[]; dQ: number[] }>;
  for (const start of ['zeros', 'zeros', 'random'] as const) {
    const dKappa = start === 'zeros' ? Tensor.zeros([T, V]) : Tensor.randn([T, V], { seed: 5 });
    const dQ = start === 'zeros' ? Tensor.zeros([T, V, V]) : Tensor.randn([T, V, V], { seed: 6 });
    const dA = ops.cobotBottleneckBackward(dOut, a, kappa, q, out, dKappa, dQ, { head: t, relu: true });
    runs.push({ dA: Array.from(await dA.toArray()), dKappa: Array.from(await dKappa.toArray()), dQ: Array.from(await dQ.toArray()) });
    for (const x of [dKappa, dQ, dA]) x.dispose();
  }
  const [first, second, accumulated] = runs as [(typeof runs)[0], (typeof runs)[0], (typeof runs)[0]];
  assert.equal(second, first, 'two runs give the same bits');
  const startKappa = Array.from(await Tensor.randn([T, V], { seed: 5 }).toArray());
  const startQ = Array.from(await Tensor.randn([T, V, V], { seed: 6 }).toArray());
  const inRow = (i: number, width: number): boolean => Math.floor(i / width) === t;
  accumulated.dKappa.forEach((v, i) => assert.ok(Math.abs(v - (startKappa[i]! + first.dKappa[i]!)) <= 1e-5 * (1 + Math.abs(v)), `dKappa[${i}]`));
  accumulated.dQ.forEach((v, i) => assert.ok(Math.abs(v - (startQ[i]! + first.dQ[i]!)) <= 1e-5 * (1 + Math.abs(v)), `dQ[${i}]`));
  first.dKappa.forEach((v, i) => assert.ok(inRow(i, V) || v === 0, `dKappa[${i}] outside row t stays 0`));
  first.dQ.forEach((v, i) => assert.ok(inRow(i, V * V) || v === 0, `dQ[${i}] outside row t stays 0`));
  assert.ok(first.dKappa.some((v) => v !== 0) && first.dQ.some((v) => v !== 0));
  for (const x of [a, kappa, q, dOut, out]) x.dispose();
});

// ---------------------------------------------------------------------------------------------
// Invariants of §10.9

test('at init (C = ones, P = I, γ = ones) κ = 2 everywhere, and R = 0 gives Q a zero diagonal', async () => {
  for (const [V, T] of [[16, 12], [4, 24], [8, 3]] as const) {
    const C = Tensor.ones([V, T]);
    const identity = new Float32Array(T * T);
    for (let i = 0; i < T; ++i) identity[i * T + i] = 1;
    const P = Tensor.fromArray(identity, [T, T]);
    const gamma = Tensor.ones([T, V]);
    const B = V / 4;
    const w = Float32Array.from(randomArray(T * 4 * B * B, { seed: V }), (x, i) => (Math.floor(i / (B * B)) % 4 === 0 ? 0 : Math.abs(x) % 1));
    const heads = Tensor.fromArray(w, [T, 4, B, B]);
    const { kappa, q } = ops.cobotPrepare(C, P, gamma, heads);
    assert.ok((await kappa.toArray()).every((k) => k === 2), `κ = 2 for V ${V} T ${T}`);
    const Q = await q.toArray();
    for (let t = 0; t < T; ++t) for (let i = 0; i < V; ++i) assert.ok(Q[(t * V + i) * V + i] === 0, `Q_${t}[${i}, ${i}] = 0`);
    for (const x of [C, P, gamma, heads, kappa, q]) x.dispose();
  }
});

test('one quaternion (V = 4, R = 0): Q is skew-symmetric with QᵀQ = (i² + j² + k²)·I', async () => {
  const T = 24;
  const w = Float64Array.from(randomArray(T * 4, { seed: 3 }), (x, i) => (i % 4 === 0 ? 0 : Math.abs(x) % 1));
  const heads = Tensor.fromArray(w, [T, 4, 1, 1]);
  const C = Tensor.randn([4, T], { dtype: 'f64', seed: 1 });
  const P = Tensor.randn([T, T], { dtype: 'f64', seed: 2 });
  const gamma = Tensor.randn([T, 4], { dtype: 'f64', seed: 3 });
  const { kappa, q } = ops.cobotPrepare(C, P, gamma, heads);
  const Q = await q.toArray();
  for (let t = 0; t < T; ++t) {
    const at = (i: number, j: number): number => Q[t * 16 + i * 4 + j]!;
    const norm = w[t * 4 + 1]! ** 2 + w[t * 4 + 2]! ** 2 + w[t * 4 + 3]! ** 2;
    for (let i = 0; i < 4; ++i)
      for (let j = 0; j < 4; ++j) {
        assert.ok(at(i, j) + at(j, i) === 0, `Q_${t} skew at (${i}, ${j})`);
        let qtq = 0;
        for (let k = 0; k < 4; ++k) qtq += at(k, i) * at(k, j);
        assert.ok(Math.abs(qtq - (i === j ? norm : 0)) <= 1e-12, `(QᵀQ)_${t}[${i}, ${j}] = ${qtq}`);
      }
  }
  for (const x of [heads, C, P, gamma, kappa, q]) x.dispose();
});

// ---------------------------------------------------------------------------------------------
// dropout

test('dropout: forward and backward by finite differences, against the counter-based mask', () =>
  checkOp({
    name: 'dropout (6, 7) p 0.3',
    inputs: [{ shape: [6, 7] }],
    forward: ([x]) => ops.dropout(x!, { p: 0.3, seed: 5 }),
    reference: ([x]) => dropoutRef(x!, 0.3, 5),
    backward: (_inputs, _outputs, [dy]) => [ops.dropoutBackward(dy!, { p: 0.3, seed: 5 })],
  }));

test('dropout: p = 0 is an exact copy', async () => {
  for (const dtype of ['f32', 'f64'] as const) {
    const x = Tensor.randn([333, 7], { dtype, seed: 1 });
    const y = ops.dropout(x, { p: 0, seed: 9 });
    assert.equal(Array.from(await y.toArray()), Array.from(await x.toArray()));
    x.dispose();
    y.dispose();
  }
});

test('dropout: drops a fraction p of 100k elements, scales the rest by 1/(1 − p), and backward uses the same mask', async () => {
  const n = 100_000;
  for (const [p, seed] of [[0.1, 1], [0.5, 2], [0.9, 3]] as const) {
    const ones = Tensor.ones([n]);
    const y = await ops.dropout(ones, { p, seed }).toArray();
    const dx = await ops.dropoutBackward(ones, { p, seed }).toArray();
    const scale = Math.fround(1 / (1 - p));
    const dropped = y.filter((v) => v === 0).length;
    assert.ok(y.every((v) => v === 0 || v === scale), `kept values are 1/(1 − p) = ${scale}`);
    // 5 standard deviations of the binomial count.
    assert.ok(Math.abs(dropped / n - p) <= 5 * Math.sqrt((p * (1 - p)) / n), `dropped ${dropped / n} for p ${p}`);
    assert.equal(Array.from(dx), Array.from(y), 'backward keeps the same elements');
    const other = await ops.dropout(ones, { p, seed: seed + 100 }).toArray();
    assert.not.equal(Array.from(other), Array.from(y), 'another seed drops other elements');
    ones.dispose();
  }
});

test('dropout: the mask is uniform01(seed, i) >= p on every backend (CPU and CUDA identical by construction)', async () => {
  const [n, p, seed] = [4096, 0.25, 77];
  const x = Tensor.randn([n], { seed: 1 });
  const cpu = await ops.dropout(x, { p, seed }).toArray();
  const values = await x.toArray();
  const expected = Float32Array.from(values, (v, i) => (uniform01(seed, i) >= p ? Math.fround(v * Math.fround(1 / (1 - p))) : 0));
  assert.equal(Array.from(cpu), Array.from(expected));
  if (backends().cuda.available) {
    const xc = Tensor.fromArray(values, [n], { device: 'cuda' });
    const yc = ops.dropout(xc, { p, seed });
    assert.equal(Array.from(await yc.toArray()), Array.from(cpu), 'CUDA keeps the same elements, same bits');
    xc.dispose();
    yc.dispose();
  }
  x.dispose();
});

// ---------------------------------------------------------------------------------------------
// Bad arguments


test('bad arguments throw at the call with the op, the argument and what was expected', () => {
  const C = Tensor.zeros([8, 3]);
  const P = Tensor.zeros([3, 3]);
  const gamma = Tensor.zeros([3, 8]);
  const heads = Tensor.zeros([3, 4, 2, 2]);
  throwsCode(() => ops.cobotPrepare(Tensor.zeros([6, 3]), P, Tensor.zeros([3, 6]), heads), 'ERR_SHAPE', /cobot_prepare: Expected a bottleneck width V divisible by 4 for the quaternion head for C \(V, T\) but received \[6,3\]/);
  throwsCode(() => ops.cobotPrepare(C, Tensor.zeros([3, 4]), gamma, heads), 'ERR_SHAPE', /Expected shape \[3,3\] for P \(T, T\) but received \[3,4\]/);
  throwsCode(() => ops.cobotPrepare(C, P, Tensor.zeros([8, 3]), heads), 'ERR_SHAPE', /shape \[3,8\] for gamma \(T, V\)/);
  throwsCode(() => ops.cobotPrepare(C, P, gamma, Tensor.zeros([3, 8, 8])), 'ERR_SHAPE', /shape \[3,4,2,2\] for heads \(T, 4, V\/4, V\/4\)/);
  throwsCode(() => ops.cobotPrepare(C, P, gamma, heads, { head: 'linear' }), 'ERR_SHAPE', /shape \[3,8,8\] for heads \(T, V, V\)/);
  throwsCode(() => ops.cobotPrepare(C, P, gamma, heads, { head: 'none' }), 'ERR_SHAPE', /one-element tensor for head 'none'/);
  throwsCode(() => ops.cobotPrepare(C, P, gamma, heads, { coefficients: 'both' as 'dual' }), 'ERR_ARGUMENT', /'dual', 'local' or 'shared' for attribute 'coefficients' but received both/);
  throwsCode(() => ops.cobotPrepare(C, P, gamma, heads, { head: 'phm' as 'none' }), 'ERR_ARGUMENT', /for attribute 'head' but received phm/);
  throwsCode(() => ops.cobotPrepare(C, P, gamma, Tensor.zeros([3, 4, 2, 2], { dtype: 'f64' })), 'ERR_DTYPE', /dtype f32 for heads but received f64/);
  throwsCode(() => ops.cobotPrepareBackward(C, P, Tensor.zeros([3, 8]), Tensor.zeros([3, 8, 7])), 'ERR_SHAPE', /shape \[3,8,8\] for dQ \(T, V, V\)/);

  const a = Tensor.zeros([5, 8]);
  const q = Tensor.zeros([3, 8, 8]);
  throwsCode(() => ops.cobotBottleneck(a, gamma, q, { head: 3, relu: true }), 'ERR_ARGUMENT', /cobot_bottleneck: Expected an integer in \[0, 2\] for attribute 'head' but received 3/);
  throwsCode(() => ops.cobotBottleneck(a, Tensor.zeros([3, 7]), q, { head: 0, relu: true }), 'ERR_SHAPE', /shape \[3,8\] for kappa \(T, V\) but received \[3,7\]/);
  throwsCode(() => ops.cobotBottleneck(a, gamma, Tensor.zeros([2, 8, 8]), { head: 0, relu: true }), 'ERR_SHAPE', /shape \[3,8,8\] for Q \(T, V, V\)/);
  throwsCode(() => ops.cobotBottleneck(Tensor.zeros([5, 65]), Tensor.zeros([1, 65]), Tensor.zeros([1, 65, 65]), { head: 0, relu: false }), 'ERR_SHAPE', /bottleneck width V in \[1, 64\] for A \(N, V\) but received \[5,65\]/);
  throwsCode(() => ops.cobotBottleneckBackward(a, a, gamma, q, Tensor.zeros([4, 8]), gamma, q, { head: 0, relu: true }), 'ERR_SHAPE', /shape \[5,8\] for out \(N, V\) but received \[4,8\]/);
  throwsCode(() => ops.cobotBottleneckBackward(a, a, gamma, q, a, Tensor.zeros([3, 8], { dtype: 'f64' }), q, { head: 0, relu: true }), 'ERR_DTYPE', /dtype f32 for dKappa but received f64/);

  throwsCode(() => ops.dropout(a, { p: 1, seed: 0 }), 'ERR_ARGUMENT', /dropout: Expected a probability in \[0, 1\) for attribute 'p' but received 1/);
  throwsCode(() => ops.dropoutBackward(a, { p: -0.1, seed: 0 }), 'ERR_ARGUMENT', /dropout_backward: Expected a probability/);
  throwsCode(() => ops.dropout(a, { p: 0.1, seed: 1.5 }), 'ERR_ARGUMENT', /integer in \[0, 9007199254740992\] for attribute 'seed' but received 1.5/);
  throwsCode(() => ops.dropout(Tensor.zeros([3], { dtype: 'i32' }), { p: 0.1, seed: 0 }), 'ERR_DTYPE', /floating-point dtype for x/);
  for (const x of [C, P, gamma, heads, a, q]) x.dispose();
});

test.run();
