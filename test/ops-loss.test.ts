/**
 * The loss family: mask_loss (BCE-with-logits, soft Dice in its squared and plain forms, focal with
 * and without α, and their weighted sum) and mse_loss, against a plain-JS float64 reference of
 * cobot-method.md §10.7, with the fused gradient checked by finite differences of the total, in f32
 * against f64, on CUDA when a GPU answers; stability at large |z|; the upsampled path of
 * `maskLoss`; the official loss and d loss / d logits of tiny-cobot; bad arguments.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SamCobotError, Tensor, maskLoss } from '../lib/index.js';
import * as ops from '../lib/ops/index.js';
import { assertClose, checkOp, makeRng, numel, toF64 } from './helpers/check-op.js';
import { expectGolden, readGolden } from './helpers/golden.js';

interface LossConfig {
  bce: number;
  dice: number;
  focal: number;
  diceForm: 'squared' | 'plain';
  smooth: number;
  focalGamma: number;
  focalAlpha: number;
  gradScale: number;
}

const defaults: LossConfig = { bce: 1, dice: 1, focal: 0, diceForm: 'squared', smooth: 1e-5, focalGamma: 2, focalAlpha: 0.25, gradScale: 1 };

const softplus = (x: number): number => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));

/**
 * [total, terms (3), gradScale · ∂total/∂z] of §10.7 in float64, written from the formulas with
 * p = σ(z) directly (not from the kernel's algebra): BCE as −[g log p + (1 − g) log(1 − p)], the
 * Dice derivative of §10.7, and the focal term by the chain rule through p_t.
 */
function maskLossRef(z: Float64Array, g: Float64Array, masks: number, c: LossConfig): Float64Array[] {
  const M = z.length / masks;
  const terms = [0, 0, 0];
  const grad = new Float64Array(z.length);
  for (let m = 0; m < masks; ++m) {
    const pixels = Array.from({ length: M }, (_, j) => m * M + j);
    const p = pixels.map((i) => 1 / (1 + Math.exp(-z[i]!)));
    const gm = pixels.map((i) => g[i]!);
    // log p = −softplus(−z), log(1 − p) = −softplus(z): finite at any z.
    const ce = pixels.map((i, j) => gm[j]! * softplus(-z[i]!) + (1 - gm[j]!) * softplus(z[i]!));
    const pt = p.map((pj, j) => pj * gm[j]! + (1 - pj) * (1 - gm[j]!));
    const alphaT = gm.map((gj) => (c.focalAlpha < 0 ? 1 : c.focalAlpha * gj + (1 - c.focalAlpha) * (1 - gj)));
    const sum = (f: (j: number) => number) => pixels.reduce((s, _, j) => s + f(j), 0);
    const I = sum((j) => p[j]! * gm[j]!);
    const S = (c.diceForm === 'squared' ? sum((j) => p[j]! ** 2 + gm[j]! ** 2) : sum((j) => p[j]! + gm[j]!)) + c.smooth;
    const N = 2 * I + c.smooth;
    terms[0]! += sum((j) => ce[j]!) / M / masks;
    terms[1]! += (1 - N / S) / masks;
    terms[2]! += sum((j) => alphaT[j]! * ce[j]! * (1 - pt[j]!) ** c.focalGamma) / M / masks;
    pixels.forEach((i, j) => {
      const sigmoidSlope = p[j]! * (1 - p[j]!);
      const dBce = (p[j]! - gm[j]!) / M;
      const dDiceDp = c.diceForm === 'squared' ? -(2 * gm[j]! * S - 2 * p[j]! * N) / S ** 2 : -(2 * gm[j]! * S - N) / S ** 2;
      const dPt = (2 * gm[j]! - 1) * sigmoidSlope;
      const dModulation = c.focalGamma === 0 ? 0 : -c.focalGamma * (1 - pt[j]!) ** (c.focalGamma - 1) * dPt;
      const dFocal = (alphaT[j]! * ((p[j]! - gm[j]!) * (1 - pt[j]!) ** c.focalGamma + ce[j]! * dModulation)) / M;
      grad[i] = (c.gradScale * (c.bce * dBce + c.dice * dDiceDp * sigmoidSlope + c.focal * dFocal)) / masks;
    });
  }
  const total = c.bce * terms[0]! + c.dice * terms[1]! + c.focal * terms[2]!;
  return [Float64Array.of(total), Float64Array.from(terms), grad];
}

/** Targets in {0, 1} (or soft ones in [0, 1]), seeded. */
function targets(n: number, seed: number, soft = false): number[] {
  const rng = makeRng(seed);
  return Array.from({ length: n }, () => (soft ? rng() : rng() < 0.3 ? 1 : 0));
}

interface LossCase {
  label: string;
  shape: number[];
  config: Partial<LossConfig>;
  soft?: boolean;
  scale?: number;
}

const cases: LossCase[] = [
  { label: 'BCE only', shape: [2, 3, 5], config: { dice: 0 } },
  { label: 'squared Dice only', shape: [2, 3, 5], config: { bce: 0 } },
  { label: 'plain Dice only', shape: [3, 11], config: { bce: 0, diceForm: 'plain' } },
  { label: 'plain Dice, smooth 1', shape: [2, 7], config: { bce: 0, diceForm: 'plain', smooth: 1 } },
  { label: 'focal only, α 0.25, γ 2', shape: [2, 4, 4], config: { bce: 0, dice: 0, focal: 1 } },
  { label: 'focal without α, γ 1.5', shape: [2, 9], config: { bce: 0, dice: 0, focal: 1, focalAlpha: -1, focalGamma: 1.5 } },
  { label: 'focal, γ 0 (α-weighted BCE)', shape: [1, 13], config: { bce: 0, dice: 0, focal: 1, focalGamma: 0 } },
  { label: 'focal, γ 0.5 (the (1 − p_t)^(γ−1) branch)', shape: [2, 6], config: { bce: 0, dice: 0, focal: 1, focalGamma: 0.5 } },
  { label: 'BCE + squared Dice (the medical recipe), soft targets', shape: [3, 2, 4], config: {}, soft: true },
  { label: 'weighted sum of all three, gradScale 0.25', shape: [2, 1, 3, 3], config: { bce: 0.7, dice: 1.3, focal: 2, gradScale: 0.25 } },
  { label: 'one mask of one pixel', shape: [1], config: { focal: 1 } },
  { label: 'large logits (|z| up to ~40)', shape: [2, 8], config: { focal: 1, diceForm: 'plain' }, scale: 20 },
  // More than one chunk of kLossChunk (4096) pixels per mask: the chunked sums and their order.
  { label: 'masks of 5000 pixels (two chunks)', shape: [2, 50, 100], config: { focal: 0.5 } },
];

for (const c of cases) {
  const config = { ...defaults, ...c.config };
  test(`mask_loss ${c.label}`, () =>
    checkOp({
      name: `mask_loss ${c.label}`,
      inputs: [{ shape: c.shape, scale: c.scale ?? 1.5 }, { shape: c.shape, data: targets(numel(c.shape), 7, c.soft) }],
      forward: ([z, g]) => {
        const r = ops.maskLoss(z!, g!, config);
        return [r.loss, r.terms, r.grad];
      },
      reference: ([z, g], [shape]) => maskLossRef(z!, g!, shape![0]!, config),
      // The gradient output is gradScale · ∂total/∂z: finite differences of the total check it.
      gradCheckOutputs: [0],
      backward: (_inputs, [, , grad], [dTotal]) => [ops.scale(ops.mul(grad!, dTotal!), 1 / config.gradScale), null],
      fwdTol: 1e-5,
      gradTol: 1e-6,
    }));
}

test('mask_loss is stable at |z| = 100 and 1e4: finite loss, exact limits, finite gradient', async () => {
  const z = [100, -100, 1e4, -1e4, 100, -100, 1e4, -1e4];
  const g = [1, 0, 1, 0, 0, 1, 0, 1];
  for (const dtype of ['f32', 'f64'] as const) {
    const { loss, terms, grad } = ops.maskLoss(Tensor.fromArray(z, [2, 4], { dtype }), Tensor.fromArray(g, [2, 4], { dtype }), { focal: 1, focalAlpha: -1 });
    const t = await toF64(terms);
    const d = await toF64(grad);
    const expectedTerms = maskLossRef(Float64Array.from(z), Float64Array.from(g), 2, { ...defaults, focal: 1, focalAlpha: -1 })[1]!;
    // Mask 0 is right everywhere (BCE ≈ 0), mask 1 wrong everywhere (BCE = mean |z| = 5050).
    assertClose(t, expectedTerms, { tol: 1e-6, name: `${dtype} terms at large |z|` });
    assert.ok(Number.isFinite((await toF64(loss))[0]!), `${dtype} loss is finite`);
    assert.ok(d.every(Number.isFinite), `${dtype} gradient is finite: ${Array.from(d)}`);
    // The BCE slope (p − g)/M/P saturates at ±1/8 on the wrong mask; the right mask's is 0.
    for (let i = 0; i < 4; ++i) assert.ok(Math.abs(d[i]!) < 1e-12, `${dtype} right mask gradient ${d[i]}`);
    for (const t of [loss, terms, grad]) t.dispose();
  }
});

test('mse_loss: value, gradient by finite differences, gradScale', () =>
  checkOp({
    name: 'mse_loss',
    inputs: [{ shape: [3, 4] }, { shape: [3, 4], scale: 0.5 }],
    forward: ([p, t]) => {
      const r = ops.mseLoss(p!, t!, { gradScale: 3 });
      return [r.loss, r.grad];
    },
    reference: ([p, t]) => {
      let s = 0;
      p!.forEach((v, i) => (s += (v - t![i]!) ** 2));
      return [Float64Array.of(s / p!.length), Float64Array.from(p!, (v, i) => (3 * 2 * (v - t![i]!)) / p!.length)];
    },
    gradCheckOutputs: [0],
    backward: (_inputs, [, grad], [dLoss]) => [ops.scale(ops.mul(grad!, dLoss!), 1 / 3), null],
  }));

test('mse_loss over more than one chunk (10000 elements)', () =>
  checkOp({
    name: 'mse_loss 10000',
    inputs: [{ shape: [10000] }, { shape: [10000] }],
    forward: ([p, t]) => {
      const r = ops.mseLoss(p!, t!);
      return [r.loss, r.grad];
    },
    gradCheckOutputs: [0],
    backward: (_inputs, [, grad], [dLoss]) => [ops.mul(grad!, dLoss!), null],
  }));

test('mask_loss and mse_loss give the same bits on every run', async () => {
  const z = Tensor.randn([3, 70, 70], { seed: 4 });
  const g = Tensor.rand([3, 70, 70], { seed: 5 });
  const runs = [];
  for (let r = 0; r < 2; ++r) {
    const { loss, terms, grad } = ops.maskLoss(z, g, { focal: 1 });
    runs.push([await loss.toArray(), await terms.toArray(), await grad.toArray()]);
    for (const t of [loss, terms, grad]) t.dispose();
  }
  assert.equal(runs[0], runs[1]);
  z.dispose();
  g.dispose();
});

test("maskLoss 'upsampled': the loss of the resized logits, the gradient mapped back through the resize", async () => {
  const logits = Tensor.randn([2, 1, 4, 5], { seed: 11, dtype: 'f64' });
  const target = Tensor.fromArray(targets(2 * 9 * 7, 3), [2, 1, 9, 7], { dtype: 'f64' });
  const out = maskLoss(logits, target, { at: 'upsampled', focal: 0.5 });
  const up = ops.bilinearResize(logits, 9, 7);
  const expected = maskLossRef(await toF64(up), await toF64(target), 2, { ...defaults, focal: 0.5 });
  assertClose(await toF64(out.loss), expected[0]!, { tol: 1e-12, name: 'upsampled loss' });
  assert.equal(out.grad.shape, [2, 1, 4, 5]);
  // Finite differences through the resize, on a few low-res logits.
  const base = await toF64(logits);
  const grad = await toF64(out.grad);
  for (const j of [0, 7, 19, 33]) {
    const at = async (delta: number): Promise<number> => {
      const moved = Float64Array.from(base);
      moved[j] = moved[j]! + delta;
      const l = Tensor.fromArray(moved, [2, 1, 4, 5]);
      const r = maskLoss(l, target, { at: 'upsampled', focal: 0.5 });
      const v = (await toF64(r.loss))[0]!;
      for (const t of [l, r.loss, r.terms, r.grad]) t.dispose();
      return v;
    };
    const numeric = ((await at(1e-6)) - (await at(-1e-6))) / 2e-6;
    assert.ok(Math.abs(numeric - grad[j]!) < 1e-7, `d loss / d logit ${j}: ${grad[j]} vs finite differences ${numeric}`);
  }
  // SAM's (P, M, h, w) with M = 2: every plane is its own mask.
  const two = maskLoss(Tensor.fromArray(await toF64(logits), [1, 2, 4, 5]), Tensor.fromArray(await toF64(target), [1, 2, 9, 7]), { at: 'upsampled', focal: 0.5 });
  assertClose(await toF64(two.loss), await toF64(out.loss), { tol: 1e-14, name: '(1, 2, h, w) = two masks' });
  for (const t of [logits, target, up, out.loss, out.terms, out.grad, two.loss, two.terms, two.grad]) t.dispose();
});

for (const host of ['adaptformer', 'lora'] as const) {
  test(`${host}: the official loss, its BCE and Dice terms, and d loss / d logits of tiny-cobot`, async () => {
    const input = await readGolden(`tiny-cobot/${host}`, 'case.safetensors');
    const grads = await readGolden(`tiny-cobot/${host}`, 'grads.safetensors');
    const { loss, terms, grad } = maskLoss(input.get('out.low_res_masks')!, input.get('input.target')!);
    const [bce, dice] = await terms.toArray();
    const rel = (a: number, e: number) => Math.abs(a - e) / Math.abs(e);
    const expectedLoss = (await grads.get('loss')!.toArray())[0]!;
    assert.ok(rel((await loss.toArray())[0]!, expectedLoss) <= 1e-5, `loss ${(await loss.toArray())[0]} vs ${expectedLoss}`);
    assert.ok(rel(bce!, (await grads.get('loss.bce')!.toArray())[0]!) <= 1e-5, `bce ${bce}`);
    assert.ok(rel(dice!, (await grads.get('loss.dice')!.toArray())[0]!) <= 1e-5, `dice ${dice}`);
    await expectGolden(`${host} grad.low_res_masks`, grad, grads.get('grad.low_res_masks')!, 1e-5);
    for (const t of [loss, terms, grad, ...input.values(), ...grads.values()]) t.dispose();
  });
}

test('bad arguments: shapes, dtypes, attributes', () => {
  const z = Tensor.zeros([2, 3]);
  const throwsCode = (fn: () => unknown, code: string, pattern: RegExp) => {
    try {
      fn();
    } catch (error) {
      assert.instance(error, SamCobotError);
      assert.is((error as SamCobotError).code, code);
      assert.match((error as Error).message, pattern);
      return;
    }
    assert.unreachable(`expected ${code}`);
  };
  throwsCode(() => ops.maskLoss(z, Tensor.zeros([3, 2])), 'ERR_SHAPE', /Expected shape \[2, ?3\] for target/);
  throwsCode(() => ops.maskLoss(z, Tensor.zeros([2, 3], { dtype: 'f64' })), 'ERR_DTYPE', /target/);
  throwsCode(() => ops.maskLoss(Tensor.zeros([0, 3]), Tensor.zeros([0, 3])), 'ERR_SHAPE', /at least one mask/);
  throwsCode(() => ops.maskLoss(z, z, { diceForm: 'cubed' as 'plain' }), 'ERR_ARGUMENT', /'squared' or 'plain'.*diceForm/);
  throwsCode(() => ops.maskLoss(z, z, { focalGamma: -1 }), 'ERR_ARGUMENT', /focalGamma/);
  throwsCode(() => ops.maskLoss(z, z, { focalAlpha: 2 }), 'ERR_ARGUMENT', /focalAlpha/);
  throwsCode(() => ops.maskLoss(z, z, { bce: NaN }), 'ERR_ARGUMENT', /bce/);
  throwsCode(() => ops.mseLoss(z, Tensor.zeros([6])), 'ERR_SHAPE', /target/);
  throwsCode(() => maskLoss(Tensor.zeros([1, 1, 4, 4]), Tensor.zeros([1, 1, 8, 9]), { at: 'upsampled', upsampleTo: [8, 8] }), 'ERR_SHAPE', /target/);
  throwsCode(() => maskLoss(z, z, { at: 'middle' as 'lowres' }), 'ERR_ARGUMENT', /'lowres' or 'upsampled'/);
  z.dispose();
});

test.run();
