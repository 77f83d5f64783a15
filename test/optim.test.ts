/**
 * The optimizer family and the lib/optim classes: adam_step, sgd_step, global_norm and clip_scale
 * through checkOp (against plain-JS float64 versions of PyTorch's formulas, f32 against f64, CUDA
 * against the CPU when a GPU answers); Adam, AdamW and SGD over several steps with parameter groups,
 * weight decay, skipped (null) gradients and clipping, against the same JS formulas; a zero
 * gradient with zero state moving nothing; state dicts; schedules; bad arguments.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Adam, AdamW, LrScheduler, Parameter, SGD, SamCobotError, Tensor, clipGradNorm, schedules, type Optimizer } from '../lib/index.js';
import { backends } from '../lib/device.js';
import * as ops from '../lib/ops/index.js';
import { assertClose, checkOp, randomArray, throwsCode, toF64 } from './helpers/check-op.js';

// ---------------------------------------------------------------------------------------------
// PyTorch's formulas in float64, one tensor at a time (torch/optim/adam.py, adamw.py, sgd.py).

interface AdamRefOptions {
  lr: number;
  wd: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  step: number;
  decoupled?: boolean;
  scale?: number;
}

/** One Adam/AdamW step on copies of p, m, v: returns [p, m, v]. */
function adamRef(p0: ArrayLike<number>, g0: ArrayLike<number>, m0: ArrayLike<number>, v0: ArrayLike<number>, o: AdamRefOptions): Float64Array[] {
  const [b1, b2, eps, scale] = [o.beta1 ?? 0.9, o.beta2 ?? 0.999, o.eps ?? 1e-8, o.scale ?? 1];
  const p = Float64Array.from(p0);
  const m = Float64Array.from(m0);
  const v = Float64Array.from(v0);
  for (let i = 0; i < p.length; ++i) {
    let g = g0[i]! * scale;
    if (o.decoupled) p[i] = p[i]! * (1 - o.lr * o.wd);
    else g += o.wd * p[i]!;
    m[i] = b1 * m[i]! + (1 - b1) * g;
    v[i] = b2 * v[i]! + (1 - b2) * g * g;
    // PyTorch's denominator: √v / √(1 − β2^k) + eps (eps outside the bias correction).
    p[i] = p[i]! - ((o.lr / (1 - b1 ** o.step)) * m[i]!) / (Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** o.step) + eps);
  }
  return [p, m, v];
}

interface SgdRefOptions {
  lr: number;
  wd: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  step: number;
  scale?: number;
}

/** One SGD step on copies of p and buf: returns [p, buf]. */
function sgdRef(p0: ArrayLike<number>, g0: ArrayLike<number>, buf0: ArrayLike<number>, o: SgdRefOptions): Float64Array[] {
  const p = Float64Array.from(p0);
  const buf = Float64Array.from(buf0);
  for (let i = 0; i < p.length; ++i) {
    let d = g0[i]! * (o.scale ?? 1) + o.wd * p[i]!;
    if (o.momentum !== 0) {
      buf[i] = o.step === 1 ? d : o.momentum * buf[i]! + (1 - o.dampening) * d;
      d = o.nesterov ? d + o.momentum * buf[i]! : buf[i]!;
    }
    p[i] = p[i]! - o.lr * d;
  }
  return [p, buf];
}

// ---------------------------------------------------------------------------------------------
// The ops through checkOp (state copied first: the ops write in place).

/** Tensor sizes of a multi-tensor call: odd sizes, and one past two chunks of 16384 elements. */
const SIZES = [[3, 5], [7], [1], [33000]];

for (const variant of [
  { label: 'Adam, coupled L2, step 1', step: 1, decoupled: false, wd: [0, 1e-2, 0.5, 0], scale: 1 },
  { label: 'Adam, step 7, clipping scale 0.3', step: 7, decoupled: false, wd: [1e-3, 0, 0, 2e-2], scale: 0.3 },
  { label: 'AdamW, step 3', step: 3, decoupled: true, wd: [1e-2, 0.1, 0, 1e-2], scale: 1 },
]) {
  test(`adam_step ${variant.label}: ${SIZES.length} tensors, their own lr and wd`, () => {
    const lr = [1e-3, 3e-2, 0.1, 1e-4];
    return checkOp({
      name: `adam_step ${variant.label}`,
      // Per tensor: p, g, m, v (v > 0: a state after earlier steps), then scale.
      inputs: [...SIZES.flatMap((shape) => [{ shape }, { shape }, { shape, scale: 0.1 }, { shape, scale: 0.01, positive: true }]), { shape: [1], data: [variant.scale] }],
      forward: (t) => {
        const tensors = SIZES.map((_, i) => ({ param: ops.copy(t[4 * i]!), grad: t[4 * i + 1]!, expAvg: ops.copy(t[4 * i + 2]!), expAvgSq: ops.copy(t[4 * i + 3]!) }));
        ops.adamStep(t[4 * SIZES.length]!, tensors, { lr, weightDecay: variant.wd, step: variant.step, decoupled: variant.decoupled });
        return tensors.flatMap((x) => [x.param, x.expAvg, x.expAvgSq]);
      },
      reference: (v) =>
        SIZES.flatMap((_, i) =>
          adamRef(v[4 * i]!, v[4 * i + 1]!, v[4 * i + 2]!, v[4 * i + 3]!, { lr: lr[i]!, wd: variant.wd[i]!, step: variant.step, decoupled: variant.decoupled, scale: variant.scale }),
        ),
      fwdTol: 1e-6,
    });
  });
}

for (const variant of [
  { label: 'plain, step 1', momentum: 0, dampening: 0, nesterov: false, step: 1 },
  { label: 'momentum 0.9, first step (buf ← g)', momentum: 0.9, dampening: 0.5, nesterov: false, step: 1 },
  { label: 'momentum 0.9, dampening 0.1, step 4', momentum: 0.9, dampening: 0.1, nesterov: false, step: 4 },
  { label: 'Nesterov, step 2', momentum: 0.8, dampening: 0, nesterov: true, step: 2 },
]) {
  test(`sgd_step ${variant.label}`, () => {
    const lr = [0.1, 0.01, 0.5, 1e-3];
    const wd = [0, 1e-2, 0, 5e-4];
    return checkOp({
      name: `sgd_step ${variant.label}`,
      inputs: [...SIZES.flatMap((shape) => [{ shape }, { shape }, { shape }]), { shape: [1], data: [0.7] }],
      forward: (t) => {
        const tensors = SIZES.map((_, i) => ({ param: ops.copy(t[3 * i]!), grad: t[3 * i + 1]!, momentumBuffer: ops.copy(t[3 * i + 2]!) }));
        ops.sgdStep(t[3 * SIZES.length]!, tensors, { lr, weightDecay: wd, ...variant });
        return tensors.flatMap((x) => [x.param, x.momentumBuffer]);
      },
      reference: (v) => SIZES.flatMap((_, i) => sgdRef(v[3 * i]!, v[3 * i + 1]!, v[3 * i + 2]!, { lr: lr[i]!, wd: wd[i]!, ...variant, scale: 0.7 })),
      fwdTol: 1e-6,
    });
  });
}

test('global_norm over tensors of odd sizes and more than one chunk, and its gradient', () =>
  checkOp({
    name: 'global_norm',
    inputs: SIZES.map((shape) => ({ shape })),
    forward: (t) => ops.globalNorm(t),
    reference: (v) => Float64Array.of(Math.sqrt(v.reduce((s, x) => s + x.reduce((a, b) => a + b * b, 0), 0))),
    backward: (t, [norm], [dNorm]) => t.map((x) => ops.mul(ops.div(x, norm!), dNorm!)),
  }));

test('clip_scale: min(1, maxNorm / (norm + 1e-6)), at, below and above the threshold', async () => {
  for (const [norm, maxNorm] of [
    [10, 1],
    [0.5, 1],
    [1, 1],
    [0, 2],
  ] as const)
    await checkOp({
      name: `clip_scale norm ${norm} max ${maxNorm}`,
      inputs: [{ shape: [1], data: [norm] }],
      forward: ([n]) => ops.clipScale(n!, maxNorm),
      reference: () => Float64Array.of(Math.min(1, maxNorm / (norm + 1e-6))),
    });
});

// ---------------------------------------------------------------------------------------------
// The classes over several steps.

function makeParam(name: string, values: Float64Array, shape: number[], device: 'cpu' | 'cuda' = 'cpu', dtype: 'f32' | 'f64' = 'f64'): Parameter {
  const p = new Parameter(name, shape);
  p.value = Tensor.fromArray(values, shape, { device, dtype });
  return p;
}

/** Gradient of `name` at `step` (seeded), or null where the test wants PyTorch's None. */
function gradOf(name: string, step: number, n: number): Float64Array | null {
  if (name === 'b' && step === 2) return null;
  return randomArray(n, { seed: 100 * step + name.charCodeAt(0) });
}

interface RefState {
  p: Float64Array;
  m: Float64Array;
  v: Float64Array;
  step: number;
}

const SHAPES: Record<string, number[]> = { a: [4, 3], b: [5], c: [2, 2, 2] };
const numelOf = (shape: number[]) => shape.reduce((x, y) => x * y, 1);

/** Runs `steps` steps of `make` over parameters a, b (group 0) and c (group 1); returns the params. */
async function runOptimizer(
  make: (groups: Array<{ params: Parameter[]; lr: number; weightDecay: number; name: string }>) => Optimizer,
  steps: number,
  options: { device?: 'cpu' | 'cuda'; dtype?: 'f32' | 'f64'; clip?: number } = {},
): Promise<{ params: Map<string, Parameter>; optimizer: Optimizer; norms: number[] }> {
  const params = new Map(Object.entries(SHAPES).map(([name, shape]) => [name, makeParam(name, randomArray(numelOf(shape), { seed: name.charCodeAt(0) }), shape, options.device, options.dtype)]));
  const optimizer = make([
    { name: 'g0', params: [params.get('a')!, params.get('b')!], lr: 0.05, weightDecay: 0.01 },
    { name: 'g1', params: [params.get('c')!], lr: 0.2, weightDecay: 0 },
  ]);
  const norms: number[] = [];
  for (let step = 1; step <= steps; ++step) {
    optimizer.zeroGrad();
    for (const [name, p] of params) {
      const g = gradOf(name, step, p.value.numel);
      if (g) p.grad = Tensor.fromArray(g, SHAPES[name]!, { device: options.device, dtype: options.dtype ?? 'f64' });
    }
    if (options.clip) {
      const { norm, scale } = clipGradNorm([...params.values()], options.clip);
      norms.push((await norm.toArray())[0]!);
      optimizer.step({ gradScale: scale });
      norm.dispose();
      scale.dispose();
    } else {
      optimizer.step();
    }
  }
  return { params, optimizer, norms };
}

/** The JS reference of the same run: per-parameter Adam state (a skipped step leaves b's state and count). */
function adamRun(steps: number, decoupled: boolean, clip?: number): { state: Map<string, RefState>; norms: number[] } {
  const groupOf = (name: string) => (name === 'c' ? { lr: 0.2, wd: 0 } : { lr: 0.05, wd: 0.01 });
  const state = new Map<string, RefState>(
    Object.entries(SHAPES).map(([name, shape]): [string, RefState] => {
      const n = numelOf(shape);
      return [name, { p: randomArray(n, { seed: name.charCodeAt(0) }), m: new Float64Array(n), v: new Float64Array(n), step: 0 }];
    }),
  );
  const norms: number[] = [];
  for (let step = 1; step <= steps; ++step) {
    const grads = new Map([...state].map(([name, s]) => [name, gradOf(name, step, s.p.length)]));
    let scale = 1;
    if (clip) {
      let sum = 0;
      for (const g of grads.values()) if (g) sum += g.reduce((a, b) => a + b * b, 0);
      norms.push(Math.sqrt(sum));
      scale = Math.min(1, clip / (Math.sqrt(sum) + 1e-6));
    }
    for (const [name, s] of state) {
      const g = grads.get(name);
      if (!g) continue;
      s.step += 1;
      const { lr, wd } = groupOf(name);
      [s.p, s.m, s.v] = adamRef(s.p, g, s.m, s.v, { lr, wd, step: s.step, decoupled, scale }) as [Float64Array, Float64Array, Float64Array];
    }
  }
  return { state, norms };
}

async function expectRun(label: string, params: Map<string, Parameter>, optimizer: Optimizer, expected: Map<string, RefState>, tol: number): Promise<void> {
  const dict = optimizer.stateDict();
  for (const [name, s] of expected) {
    assertClose(await toF64(params.get(name)!.value), s.p, { tol, name: `${label}: ${name}` });
    assertClose(await toF64(dict.tensors[`${name}.exp_avg`]!), s.m, { tol, name: `${label}: ${name}.exp_avg` });
    assertClose(await toF64(dict.tensors[`${name}.exp_avg_sq`]!), s.v, { tol, name: `${label}: ${name}.exp_avg_sq` });
    assert.is(dict.values.steps[name], s.step, `${label}: ${name} step count`);
  }
}

function disposeRun(run: { params: Map<string, Parameter>; optimizer: Optimizer }): void {
  run.optimizer.dispose();
  for (const p of run.params.values()) p.dispose();
}

const devices: Array<'cpu' | 'cuda'> = backends().cuda.available ? ['cpu', 'cuda'] : ['cpu'];

for (const [label, decoupled] of [
  ['Adam', false],
  ['AdamW', true],
] as const) {
  test(`${label}: 4 steps, two groups with their own lr and weight decay, a skipped None gradient, against PyTorch's formulas`, async () => {
    const make = (groups: Parameters<Parameters<typeof runOptimizer>[0]>[0]) => (decoupled ? new AdamW(groups) : new Adam(groups));
    const expected = adamRun(4, decoupled);
    const f64 = await runOptimizer(make, 4);
    await expectRun(`${label} f64`, f64.params, f64.optimizer, expected.state, 1e-12);
    disposeRun(f64);
    for (const device of devices) {
      const f32 = await runOptimizer(make, 4, { device, dtype: 'f32' });
      await expectRun(`${label} ${device} f32`, f32.params, f32.optimizer, expected.state, 1e-5);
      disposeRun(f32);
    }
  });
}

test('Adam with clipGradNorm: the norm of the gradients that exist, and the scale applied inside the step', async () => {
  const expected = adamRun(3, false, 2.5);
  const run = await runOptimizer((groups) => new Adam(groups), 3, { clip: 2.5 });
  assertClose(run.norms, expected.norms, { tol: 1e-14, name: 'global norms' });
  assert.ok(expected.norms.every((n) => n > 2.5), 'every step is clipped');
  await expectRun('clipped Adam', run.params, run.optimizer, expected.state, 1e-12);
  disposeRun(run);
});

test('SGD: momentum, dampening, Nesterov and weight decay over 4 steps, against PyTorch', async () => {
  for (const settings of [
    { momentum: 0, dampening: 0, nesterov: false },
    { momentum: 0.9, dampening: 0.1, nesterov: false },
    { momentum: 0.9, dampening: 0, nesterov: true },
  ]) {
    const run = await runOptimizer((groups) => new SGD(groups, { lr: 1, ...settings }), 4);
    const groupOf = (name: string) => (name === 'c' ? { lr: 0.2, wd: 0 } : { lr: 0.05, wd: 0.01 });
    for (const [name, shape] of Object.entries(SHAPES)) {
      let p: Float64Array = randomArray(numelOf(shape), { seed: name.charCodeAt(0) });
      let buf: Float64Array = new Float64Array(p.length);
      let count = 0;
      for (let step = 1; step <= 4; ++step) {
        const g = gradOf(name, step, p.length);
        if (!g) continue;
        count += 1;
        [p, buf] = sgdRef(p, g, buf, { ...groupOf(name), ...settings, step: count }) as [Float64Array, Float64Array];
      }
      assertClose(await toF64(run.params.get(name)!.value), p, { tol: 1e-12, name: `SGD ${JSON.stringify(settings)} ${name}` });
    }
    disposeRun(run);
  }
});

test('a zero gradient with zero state moves nothing, exactly (the loss never touched the tensor)', async () => {
  for (const device of devices) {
    const values = Float32Array.from(randomArray(40, { seed: 9 }), (v) => v * 3);
    const p = makeParam('head', Float64Array.from(values), [40], device, 'f32');
    const adam = new Adam([{ params: [p], lr: 1e-2 }]);
    for (let step = 0; step < 5; ++step) {
      adam.zeroGrad();
      p.grad = Tensor.zeros([40], { device });
      adam.step();
    }
    const after = await p.value.toArray();
    assert.ok(
      after.every((v, i) => Object.is(v, values[i])),
      `${device}: moved`,
    );
    adam.dispose();
    p.dispose();
  }
});

test('stateDict / loadStateDict: 2 steps, save, restore into a fresh optimizer, 2 more = 4 uninterrupted steps, bit for bit', async () => {
  const straight = await runOptimizer((groups) => new Adam(groups), 4, { dtype: 'f32' });
  const first = await runOptimizer((groups) => new Adam(groups), 2, { dtype: 'f32' });
  const saved = first.optimizer.stateDict();
  const json = JSON.parse(JSON.stringify(saved.values));
  const values = new Map([...first.params].map(([name, p]) => [name, p.value]));
  const resumed = new Map(Object.entries(SHAPES).map(([name, shape]) => [name, makeParam(name, new Float64Array(numelOf(shape)), shape, 'cpu', 'f32')]));
  for (const [name, p] of resumed) p.value = ops.copy(values.get(name)!);
  const adam = new Adam([
    { name: 'g0', params: [resumed.get('a')!, resumed.get('b')!], lr: 0.05, weightDecay: 0.01 },
    { name: 'g1', params: [resumed.get('c')!], lr: 0.2 },
  ]);
  adam.paramGroups[1]!.lr = 123;
  adam.loadStateDict({ tensors: saved.tensors, values: json });
  assert.is(adam.paramGroups[1]!.lr, 0.2, 'group lr restored');
  disposeRun(first);
  for (let step = 3; step <= 4; ++step) {
    adam.zeroGrad();
    for (const [name, p] of resumed) {
      const g = gradOf(name, step, p.value.numel);
      if (g) p.grad = Tensor.fromArray(g, SHAPES[name]!, { dtype: 'f32' });
    }
    adam.step();
  }
  for (const [name, p] of resumed) assert.equal(Array.from(await p.value.toArray()), Array.from(await straight.params.get(name)!.value.toArray()), name);
  disposeRun(straight);
  disposeRun({ params: resumed, optimizer: adam });
});

// ---------------------------------------------------------------------------------------------
// Schedules.

test('schedules: values at key steps, composition, and LrScheduler on an optimizer', () => {
  const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);
  const warm = schedules.linearWarmup(4);
  [0, 0.25, 0.5, 0.75, 1, 1].forEach((v, k) => close(warm(k), v, `linearWarmup(4)(${k})`));
  close(schedules.linearWarmup(4, 0.2)(2), 0.6, 'warm-up from 0.2');
  const cos = schedules.cosine(10, 0.1);
  close(cos(0), 1, 'cosine start');
  close(cos(5), 0.55, 'cosine midpoint');
  close(cos(10), 0.1, 'cosine end');
  close(cos(20), 0.1, 'cosine after the end');
  const stepped = schedules.step(3, 0.5);
  [1, 1, 1, 0.5, 0.5, 0.5, 0.25].forEach((v, k) => close(stepped(k), v, `step(3, 0.5)(${k})`));
  const wc = schedules.warmupCosine(12, 2, 0);
  [0, 0.5, 1].forEach((v, k) => close(wc(k), v, `warmupCosine(${k})`));
  close(wc(7), 0.5, 'warmupCosine midpoint of the cosine');
  close(wc(12), 0, 'warmupCosine end');
  close(schedules.product(schedules.step(2, 0.1), schedules.constant())(5), 0.01, 'product');

  const params = [makeParam('x', new Float64Array(2), [2]), makeParam('y', new Float64Array(2), [2])];
  const adam = new Adam([
    { name: 'fact', params: [params[0]!], lr: 1e-2 },
    { name: 'rest', params: [params[1]!], lr: 1e-4 },
  ]);
  const scheduler = new LrScheduler(adam, { fact: schedules.linearWarmup(2) });
  assert.equal(scheduler.currentLrs(), [0, 1e-4], 'step 0 applies from construction; groups without a schedule keep theirs');
  scheduler.step();
  assert.equal(scheduler.currentLrs(), [0.5e-2, 1e-4]);
  scheduler.step();
  assert.equal(scheduler.currentLrs(), [1e-2, 1e-4]);
  const both = new LrScheduler(adam, schedules.step(1, 0.5));
  both.step();
  assert.equal(both.currentLrs(), [0.5e-2, 0.5e-4], 'one schedule for every group, from the current lrs');
  adam.dispose();
  for (const p of params) p.dispose();
});

// ---------------------------------------------------------------------------------------------
// Bad arguments.


test('bad arguments: aliasing, list lengths, shapes, dtypes, hyper-parameters', () => {
  const t = () => Tensor.zeros([3]);
  const one = Tensor.ones([1]);
  const p = t();
  const [g, m, v] = [t(), t(), t()];
  const base = { lr: [1e-3], weightDecay: [0], step: 1 };
  throwsCode(() => ops.adamStep(one, [{ param: p, grad: g, expAvg: p, expAvgSq: v }], base), 'ERR_ARGUMENT', /share no storage/);
  throwsCode(() => ops.adamStep(one, [{ param: p, grad: p, expAvg: m, expAvgSq: v }], base), 'ERR_ARGUMENT', /not also updated in place/);
  throwsCode(() => ops.adamStep(one, [{ param: p, grad: g, expAvg: m, expAvgSq: v }], { ...base, lr: [1, 2] }), 'ERR_ARGUMENT', /list of 1 numbers.*lr/);
  throwsCode(() => ops.adamStep(one, [{ param: p, grad: g, expAvg: m, expAvgSq: v }], { ...base, step: 0 }), 'ERR_ARGUMENT', /step/);
  throwsCode(() => ops.adamStep(one, [{ param: p, grad: g, expAvg: m, expAvgSq: v }], { ...base, beta2: 1 }), 'ERR_ARGUMENT', /\[0, 1\).*beta2/);
  throwsCode(() => ops.adamStep(one, [{ param: p, grad: Tensor.zeros([4]), expAvg: m, expAvgSq: v }], base), 'ERR_SHAPE', /g of tensor 0/);
  throwsCode(() => ops.adamStep(Tensor.ones([2]), [{ param: p, grad: g, expAvg: m, expAvgSq: v }], base), 'ERR_SHAPE', /scale/);
  throwsCode(() => ops.adamStep(one, [{ param: p, grad: g, expAvg: m, expAvgSq: Tensor.zeros([3], { dtype: 'f64' }) }], base), 'ERR_DTYPE', /v of tensor 0/);
  throwsCode(() => ops.sgdStep(one, [{ param: p, grad: g, momentumBuffer: m }], { ...base, nesterov: true }), 'ERR_ARGUMENT', /Nesterov/);
  throwsCode(() => ops.globalNorm([]), 'ERR_ARGUMENT', /at least one tensor/);
  throwsCode(() => ops.clipScale(one, 0), 'ERR_ARGUMENT', /maxNorm/);
  const param = makeParam('w', new Float64Array(3), [3]);
  throwsCode(() => new Adam([{ params: [param] }, { params: [param] }]), 'ERR_ARGUMENT', /one group only/);
  throwsCode(() => new Adam([param], { lr: -1 }), 'ERR_ARGUMENT', /lr/);
  throwsCode(() => new Adam([param], { betas: [0.9, 1] }), 'ERR_ARGUMENT', /betas\[1\]/);
  throwsCode(() => clipGradNorm([param], 0), 'ERR_ARGUMENT', /maxNorm/);
  throwsCode(() => schedules.warmupCosine(5, 5), 'ERR_ARGUMENT', /warmupSteps/);
  const adam = new Adam([param]);
  throwsCode(() => adam.loadStateDict({ tensors: {}, values: { kind: 'SGD', settings: {}, groups: [], steps: {} } }), 'ERR_ARGUMENT', /Adam state dict/);
  param.grad = Tensor.zeros([4], { dtype: 'f64' });
  throwsCode(() => adam.step(), 'ERR_SHAPE', /gradient of w/);
  adam.dispose();
  param.dispose();
  for (const x of [one, p, g, m, v]) x.dispose();
});

test.run();
