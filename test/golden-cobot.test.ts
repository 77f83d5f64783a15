/**
 * COBOT on both hosts against the official SAM-COBOT code (test/golden/tiny-cobot): the adapted
 * forward, every trainable gradient and the image gradient, given d loss / d logits from the
 * golden data (the loss itself is checked in the training tests), plus parameter counts and
 * the initialisation invariants of cobot-method.md §10.9.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadSam } from '../lib/load-sam.js';
import { setActivationHook } from '../lib/nn/module.js';
import { Sam } from '../lib/nn/sam.js';
import { resolveSamConfig } from '../lib/nn/sam-config.js';
import { applyPeft, countParameters } from '../lib/peft/apply.js';
import { Tensor } from '../lib/tensor.js';
import { loadCobotModel } from './helpers/cobot-model.js';
import { expectGolden, goldenPath, readGolden } from './helpers/golden.js';

const FORWARD_TOL = 1e-5;
const GRAD_TOL = 3e-5;

async function hostArray(t: Tensor) {
  return { data: Array.from(await t.toArray()), shape: t.shape };
}

async function maxAbs(t: Tensor): Promise<number> {
  let m = 0;
  for (const v of await t.toArray()) m = Math.max(m, Math.abs(v));
  return m;
}

for (const host of ['adaptformer', 'lora'] as const) {
  test(`${host}+COBOT: forward, gradients and image gradient match the official code`, async () => {
    const sam = await loadCobotModel(host);
    const input = await readGolden(`tiny-cobot/${host}`, 'case.safetensors');
    const grads = await readGolden(`tiny-cobot/${host}`, 'grads.safetensors');
    const captured = new Map<string, Tensor>();
    setActivationHook((path, t) => {
      if (/^image_encoder(\.blocks\.\d+)?$/.test(path)) {
        captured.get(path)?.dispose();
        captured.set(path, t.reshape(t.shape));
      }
    });
    try {
      sam.train();
      const out = sam.forward({ image: input.get('input.image')!, boxes: await hostArray(input.get('input.boxes')!), multimaskOutput: false });
      setActivationHook(null);
      await expectGolden(`${host} low_res_masks`, out.masks, input.get('out.low_res_masks')!, FORWARD_TOL);
      await expectGolden(`${host} iou_predictions`, out.iouPred, input.get('out.iou_predictions')!, FORWARD_TOL);
      await expectGolden(`${host} image_embeddings`, captured.get('image_encoder')!, input.get('out.image_embeddings')!, FORWARD_TOL);
      for (let b = 0; b < 4; b++)
        await expectGolden(`${host} block ${b}`, captured.get(`image_encoder.blocks.${b}`)!, input.get(`act.image_encoder.blocks.${b}`)!, FORWARD_TOL);
      const d = sam.backward({ masks: grads.get('grad.low_res_masks')!, iouPred: null }, { inputGrad: true });
      await expectGolden(`${host} grad.image`, d.image!, grads.get('grad.image')!, GRAD_TOL);
      const trainable = [...sam.namedParameters()].filter(([, p]) => p.requiresGrad);
      const expectedNames = [...grads.keys()].filter((k) => k.startsWith('grad.') && k !== 'grad.image' && k !== 'grad.low_res_masks').map((k) => k.slice(5));
      assert.equal(trainable.map(([n]) => n).sort(), [...expectedNames].sort(), 'trainable tensors are exactly the official ones');
      const quaternionHeads = new Map<string, Array<[string, Tensor]>>();
      for (const [name, p] of trainable) {
        const expected = grads.get(`grad.${name}`)!;
        const actual = p.grad ?? Tensor.zeros(p.shape);
        if (/k_proj\.bias$/.test(name)) {
          const bound = 1e-4 * (await maxAbs(grads.get(`grad.${name.replace(/bias$/, 'weight')}`)!));
          assert.ok((await maxAbs(actual)) <= bound, `${name}: zero in theory`);
        } else if (host === 'lora' && /FacT_d[12]\.[rijk]_weight$/.test(name)) {
          const head = name.replace(/\.[rijk]_weight$/, '');
          quaternionHeads.set(head, [...(quaternionHeads.get(head) ?? []), [name, actual]]);
        } else {
          await expectGolden(`${host} grad.${name}`, actual, expected, GRAD_TOL);
        }
      }
      // 1×1 quaternion components: compare the four of a head together, scaled by the largest.
      for (const [head, parts] of quaternionHeads) {
        let scale = 0;
        for (const [name] of parts) scale = Math.max(scale, await maxAbs(grads.get(`grad.${name}`)!));
        for (const [name, actual] of parts) {
          const a = (await actual.toArray())[0]!;
          const e = (await grads.get(`grad.${name}`)!.toArray())[0]!;
          assert.ok(Math.abs(a - e) <= GRAD_TOL * scale, `${head}: ${name} ${a} vs ${e} (scale ${scale})`);
        }
      }
      out.masks.dispose();
      out.iouPred.dispose();
      d.image?.dispose();
    } finally {
      setActivationHook(null);
      for (const t of [...captured.values(), ...input.values(), ...grads.values()]) t.dispose();
      sam.dispose();
    }
  });
}

test('parameter counts: tiny and ViT-B, both hosts, as the official classes count them', async () => {
  const expected = {
    tiny: { adaptformer: { host: 6784, cobot: 400, decoder: 44896 }, lora: { host: 3072, cobot: 160, decoder: 44896 } },
    vit_b: { adaptformer: { host: 322752, cobot: 1296, decoder: 4058340 }, lora: { host: 147456, cobot: 864, decoder: 4058340 } },
  };
  const tinyConfig = JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(goldenPath('tiny', 'config.json'), 'utf8')));
  for (const [name, config] of [['tiny', resolveSamConfig(tinyConfig)], ['vit_b', resolveSamConfig('vit_b')]] as const) {
    for (const host of ['adaptformer', 'lora'] as const) {
      const sam = new Sam(config);
      applyPeft(sam, { host, cobot: true });
      const c = countParameters(sam);
      const e = expected[name][host];
      assert.is(c.host, e.host, `${name} ${host} host`);
      assert.is(c.cobot, e.cobot, `${name} ${host} COBOT`);
      assert.is(c.decoder, e.decoder, `${name} ${host} decoder`);
      assert.is(c.promptEncoder, 0);
      sam.dispose();
    }
  }
});

test('invariants at the official init: AdaptFormer+COBOT equals plain SAM; κ = 2; Q has a zero diagonal', async () => {
  const plain = await loadSam(goldenPath('tiny', 'weights.safetensors'), { device: 'cpu' });
  const adapted = await loadSam(goldenPath('tiny', 'weights.safetensors'), { device: 'cpu' });
  const handle = applyPeft(adapted, { host: 'adaptformer', cobot: true, seed: 3 });
  const input = await readGolden('tiny', 'case.safetensors');
  const image = input.get('input.image')!;
  const a = plain.imageEncoder.forward(image);
  const b = adapted.imageEncoder.forward(image);
  assert.equal(Array.from(await a.toArray()), Array.from(await b.toArray()), 'W_u = 0: the adapter adds exactly 0');
  const pass = handle.cobot!.pass();
  assert.ok(Array.from(await pass.kappa.toArray()).every((v) => v === 2), 'κ = C·P + γ = 1 + 1');
  const q = await pass.q.toArray();
  const V = 16;
  for (let t = 0; t < 4; t++) for (let i = 0; i < V; i++) assert.is(q[t * V * V + i * V + i], 0, 'R = 0 gives a zero diagonal');
  for (const t of [a, b, ...input.values()]) t.dispose();
  plain.dispose();
  adapted.dispose();
});

test.run();
