/**
 * Training mechanics of the whole model: freezing changes nothing but cost, gradients accumulate
 * until zeroGrad, inference keeps nothing for backward, frozen weights get no gradient tensor,
 * and activation checkpointing gives the same gradients with fewer saved bytes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadSam } from '../lib/load-sam.js';
import type { Sam } from '../lib/nn/sam.js';
import { applyPeft } from '../lib/peft/apply.js';
import type { Tensor } from '../lib/tensor.js';
import { goldenPath, readGolden } from './helpers/golden.js';

async function hostArray(t: Tensor) {
  return { data: Array.from(await t.toArray()), shape: t.shape };
}

async function step(sam: Sam, golden: Map<string, Tensor>, grads: Map<string, Tensor>) {
  const out = sam.forward({
    image: golden.get('input.image')!,
    points: { coords: await hostArray(golden.get('input.point_coords')!), labels: await hostArray(golden.get('input.point_labels')!) },
    boxes: await hostArray(golden.get('input.boxes')!),
    masks: golden.get('input.mask_input')!,
    multimaskOutput: true,
  });
  const bytes = sam.activationBytes();
  const d = sam.backward({ masks: grads.get('loss.R1')!, iouPred: grads.get('loss.R2')! });
  out.masks.dispose();
  out.iouPred.dispose();
  d.image?.dispose();
  d.masks?.dispose();
  return bytes;
}

async function gradsOf(sam: Sam, pattern: RegExp): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const [name, p] of sam.namedParameters()) if (pattern.test(name) && p.grad) out.set(name, Array.from(await p.grad.toArray()));
  return out;
}

let golden: Map<string, Tensor>;
let grads: Map<string, Tensor>;
test.before(async () => {
  golden = await readGolden('tiny', 'case.safetensors');
  grads = await readGolden('tiny', 'grads.safetensors');
});
test.after(() => {
  for (const t of [...golden.values(), ...grads.values()]) t.dispose();
});

test('freezing changes nothing but cost: decoder gradients are bit-identical with the encoder frozen or not', async () => {
  const full = (await loadSam(goldenPath('tiny', 'weights.safetensors'), { device: 'cpu' })).train();
  await step(full, golden, grads);
  const frozen = (await loadSam(goldenPath('tiny', 'weights.safetensors'), { device: 'cpu' })).train();
  assert.ok(frozen.setRequiresGrad('image_encoder.*', false) > 0);
  frozen.setRequiresGrad('prompt_encoder.*', false);
  await step(frozen, golden, grads);
  const a = await gradsOf(full, /^mask_decoder\./);
  const b = await gradsOf(frozen, /^mask_decoder\./);
  assert.equal([...a.keys()], [...b.keys()]);
  for (const [k, v] of a) assert.equal(b.get(k), v, k);
  for (const [name, p] of frozen.namedParameters()) if (!name.startsWith('mask_decoder.')) assert.is(p.grad, null, `${name} is frozen: no gradient tensor at all`);
  full.dispose();
  frozen.dispose();
});

test('gradients accumulate across backward calls until zeroGrad', async () => {
  const sam = (await loadSam(goldenPath('tiny', 'weights.safetensors'), { device: 'cpu' })).train();
  await step(sam, golden, grads);
  const once = await gradsOf(sam, /./);
  await step(sam, golden, grads);
  const twice = await gradsOf(sam, /./);
  for (const [k, v] of once) {
    const w = twice.get(k)!;
    // Doubling in float32 is exact, so 2·g equals g + g bit for bit.
    assert.equal(w, v.map((x) => Math.fround(2 * x)), k);
  }
  sam.zeroGrad();
  assert.ok([...sam.namedParameters()].every(([, p]) => p.grad === null));
  sam.dispose();
});

test('inference saves nothing; training reports its activation bytes and frees them in backward', async () => {
  const sam = await loadSam(goldenPath('tiny', 'weights.safetensors'), { device: 'cpu' });
  const out = sam.forward({ image: golden.get('input.image')!, boxes: await hostArray(golden.get('input.boxes')!), multimaskOutput: false });
  assert.is(sam.activationBytes(), 0, 'eval mode keeps nothing');
  out.masks.dispose();
  out.iouPred.dispose();
  sam.train();
  const bytes = await step(sam, golden, grads);
  assert.ok(bytes > 100_000, `training keeps activations (${bytes} bytes)`);
  assert.is(sam.activationBytes(), 0, 'backward released them');
  sam.dispose();
});

test('activation checkpointing: the same gradients (adapter and image), fewer bytes kept', async () => {
  const run = async (checkpointing: boolean) => {
    const sam = await loadSam(goldenPath('tiny', 'weights.safetensors'), { device: 'cpu' });
    applyPeft(sam, { host: 'adaptformer', cobot: true, dropout: 0.2, seed: 5 });
    sam.imageEncoder.setCheckpointing(checkpointing);
    sam.train();
    const bytes = await step(sam, golden, grads);
    const g = await gradsOf(sam, /mlp\.(down_proj|up_proj|FacT|gamma)/);
    sam.dispose();
    return { bytes, g };
  };
  const plain = await run(false);
  const checkpointed = await run(true);
  assert.ok(checkpointed.bytes < plain.bytes, `${checkpointed.bytes} < ${plain.bytes}`);
  assert.ok(plain.g.size > 0);
  for (const [k, v] of plain.g) assert.equal(checkpointed.g.get(k), v, k);
});

test.run();
