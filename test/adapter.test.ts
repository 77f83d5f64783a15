/**
 * Adapter files and variants: save/load reproduces outputs exactly; the official repository's
 * full state dicts (wrapped names, `model.sam.` prefix, repeated C and P) load; a merged
 * LoRA(+COBOT) gives the unmerged outputs; the paper's ablation switches build and train.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readSafetensors, writeSafetensors } from '../lib/io/safetensors.js';
import { loadSam } from '../lib/load-sam.js';
import type { Sam } from '../lib/nn/sam.js';
import { loadAdapter, mergeAdapter, saveAdapter } from '../lib/peft/adapter-io.js';
import { applyPeft, countParameters, type PeftOptions } from '../lib/peft/apply.js';
import { Tensor } from '../lib/tensor.js';
import { loadCobotModel } from './helpers/cobot-model.js';
import { goldenPath, readGolden } from './helpers/golden.js';

const dir = mkdtempSync(join(tmpdir(), 'sam-cobot-adapter-'));

async function outputs(sam: Sam, image: Tensor): Promise<number[]> {
  const out = sam.forward({ image, boxes: [[20, 30, 90, 110]], multimaskOutput: false });
  const values = [...(await out.masks.toArray()), ...(await out.iouPred.toArray())];
  out.masks.dispose();
  out.iouPred.dispose();
  return values;
}

let image: Tensor;
test.before(async () => {
  const input = await readGolden('tiny', 'case.safetensors');
  image = input.get('input.image')!;
});

test('saveAdapter / loadAdapter: a fresh SAM with the saved tensors gives bit-identical outputs', async () => {
  for (const host of ['adaptformer', 'lora'] as const) {
    const trained = await loadCobotModel(host);
    // Make the decoder differ from the checkpoint, as after training.
    for (const [, p] of trained.maskDecoder.namedParameters()) p.value = Tensor.randn(p.shape, { seed: p.name.length, std: 0.05 });
    const expected = await outputs(trained, image);
    await saveAdapter(trained, join(dir, host));
    const fresh = await loadSam(goldenPath('tiny', 'weights.safetensors'), { device: 'cpu' });
    const loaded = await loadAdapter(fresh, join(dir, host));
    assert.ok(loaded > 0);
    assert.equal(await outputs(fresh, image), expected, host);
    assert.equal(countParameters(fresh).trainable, countParameters(trained).trainable);
    trained.dispose();
    fresh.dispose();
  }
});

test("the official repository's training checkpoint (model.sam. prefix, wrapped mlp.mlp / qkv.qkv names, repeated C and P) loads", async () => {
  for (const host of ['adaptformer', 'lora'] as const) {
    const reference = await loadCobotModel(host);
    const expected = await outputs(reference, image);
    const sam = (await readSafetensors(goldenPath('tiny', 'weights.safetensors'))).tensors;
    const adapter = (await readSafetensors(goldenPath('tiny-cobot', host, 'adapter.safetensors'))).tensors;
    const official = new Map<string, Tensor>();
    for (const [k, t] of sam) {
      const wrapped = host === 'adaptformer' ? k.replace(/\.mlp\.(lin[12])\./, '.mlp.mlp.$1.') : k.replace(/\.attn\.qkv\.(weight|bias)$/, '.attn.qkv.qkv.$1');
      official.set(`model.sam.${wrapped}`, t);
    }
    for (const [k, t] of adapter) official.set(`model.sam.${k}`, t);
    const file = join(dir, `${host}-official.safetensors`);
    await writeSafetensors(file, official);
    const fresh = await loadSam(goldenPath('tiny', 'weights.safetensors'), { device: 'cpu' });
    await loadAdapter(fresh, file); // applies the host inferred from the keys
    assert.equal(await outputs(fresh, image), expected, host);
    reference.dispose();
    fresh.dispose();
  }
});

test('mergeAdapter: merged LoRA+COBOT (and plain LoRA) outputs equal the unmerged ones; the merged model is plain SAM', async () => {
  for (const cobot of [true, false]) {
    const sam = cobot ? await loadCobotModel('lora') : await loadSam(goldenPath('tiny', 'weights.safetensors'), { device: 'cpu' });
    if (!cobot) applyPeft(sam, { host: 'lora', cobot: false, seed: 4 });
    const before = await outputs(sam, image);
    mergeAdapter(sam);
    const after = await outputs(sam, image);
    const scale = Math.max(...before.map(Math.abs));
    const worst = Math.max(...before.map((v, i) => Math.abs(v - after[i]!)));
    assert.ok(worst <= 1e-5 * scale, `merged vs unmerged: ${worst} (scale ${scale})`);
    assert.ok(![...sam.namedParameters()].some(([n]) => /linear_[ab]_|FacT|gamma/.test(n)), 'no adapter tensors left');
    sam.dispose();
  }
  const adaptformer = await loadCobotModel('adaptformer');
  assert.throws(() => mergeAdapter(adaptformer), /LoRA/);
  adaptformer.dispose();
});

test('ablations: relation off, local/shared coefficients, linear and no head, fixed relation: counts and a training step', async () => {
  const variants: Array<[PeftOptions, number]> = [
    // tiny AdaptFormer (V = 16, T = 4): C 64, P 16, γ 64, heads 256
    [{ host: 'adaptformer', cobot: true }, 400],
    [{ host: 'adaptformer', cobot: true, relation: false }, 384],
    [{ host: 'adaptformer', cobot: true, fixedRelation: true }, 384],
    [{ host: 'adaptformer', cobot: true, coefficients: 'local' }, 320],
    [{ host: 'adaptformer', cobot: true, coefficients: 'shared' }, 336],
    [{ host: 'adaptformer', cobot: true, head: 'linear' }, 400 - 256 + 4 * 256],
    [{ host: 'adaptformer', cobot: true, head: 'none' }, 144],
    [{ host: 'adaptformer', cobot: false }, 0],
  ];
  for (const [options, cobotCount] of variants) {
    const sam = await loadSam(goldenPath('tiny', 'weights.safetensors'), { device: 'cpu' });
    applyPeft(sam, { ...options, dropout: 0, seed: 1 });
    assert.is(countParameters(sam).cobot, cobotCount, JSON.stringify(options));
    sam.train();
    const out = sam.forward({ image, boxes: [[20, 30, 90, 110]], multimaskOutput: false });
    sam.backward({ masks: Tensor.ones(out.masks.shape), iouPred: null });
    const trainable = [...sam.imageEncoder.namedParameters()].filter(([, p]) => p.requiresGrad);
    assert.ok(trainable.every(([, p]) => p.grad !== null), `every trainable adapter tensor gets a gradient (${JSON.stringify(options)})`);
    out.masks.dispose();
    out.iouPred.dispose();
    sam.dispose();
  }
});

test.run();
