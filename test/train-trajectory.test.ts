/**
 * The 5-step Adam trajectories of tiny-cobot (test/golden/tiny-cobot/<host>/train.safetensors),
 * through the bare optimizer: each step zeroGrad → forward (train mode, box prompt, single mask) →
 * BCE + squared Dice on the low-res logits → backward → Adam step, with the official two groups
 * (every tensor whose name contains 'FacT' at its own lr). Checked as the golden README recommends:
 * the losses at θ0..θ5 within 1e-5 relative; θ5 of every trainable tensor within
 * 0.05·lr_group + 2e-6·max|golden|; the k_proj biases (noise-driven in float32) only within 5·lr of
 * θ0; the IoU head (no gradient) and hypernetwork MLPs 1-3 (zero gradient) bit-identical to θ0.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Adam, maskLoss } from '../lib/index.js';
import { loadSam } from '../lib/load-sam.js';
import type { Sam } from '../lib/nn/sam.js';
import { applyPeft } from '../lib/peft/apply.js';
import { loadAdapter } from '../lib/peft/adapter-io.js';
import { goldenPath, readGolden } from './helpers/golden.js';

const TRAJECTORIES = {
  medical: { fact: 1.25e-4, rest: 1.25e-6 },
  fast: { fact: 1e-2, rest: 1e-3 },
} as const;

async function loadCobotModel(host: 'adaptformer' | 'lora'): Promise<Sam> {
  const sam = await loadSam(goldenPath('tiny', 'weights.safetensors'), { device: 'cpu' });
  applyPeft(sam, { host, cobot: true, dropout: 0 });
  await loadAdapter(sam, goldenPath('tiny-cobot', host, 'adapter.safetensors'));
  return sam;
}

function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; ++i) m = Math.max(m, Math.abs(values[i]!));
  return m;
}

for (const host of ['adaptformer', 'lora'] as const) {
  for (const tag of ['medical', 'fast'] as const) {
    test(`${host}, ${tag}: 5 Adam steps reproduce the official losses and θ5`, async () => {
      const sam = await loadCobotModel(host);
      const input = await readGolden(`tiny-cobot/${host}`, 'case.safetensors');
      const golden = await readGolden(`tiny-cobot/${host}`, 'train.safetensors');
      const image = input.get('input.image')!;
      const target = input.get('input.target')!;
      const boxes = { data: Array.from(await input.get('input.boxes')!.toArray()), shape: input.get('input.boxes')!.shape };
      const lr = TRAJECTORIES[tag];
      const trainable = [...sam.namedParameters()].filter(([, p]) => p.requiresGrad);
      const groupLr = (name: string): number => (name.includes('FacT') ? lr.fact : lr.rest);
      const officialNames = [...golden.keys()].filter((k) => k.startsWith(`${tag}.param.`)).map((k) => k.slice(`${tag}.param.`.length));
      assert.equal(trainable.map(([n]) => n).sort(), officialNames.sort(), 'the trainable tensors are the official ones');
      const adam = new Adam([
        { name: 'FacT', params: trainable.filter(([n]) => n.includes('FacT')).map(([, p]) => p), lr: lr.fact },
        { name: 'rest', params: trainable.filter(([n]) => !n.includes('FacT')).map(([, p]) => p), lr: lr.rest },
      ]);
      const theta0 = new Map<string, Float32Array>();
      for (const [name, p] of trainable) theta0.set(name, Float32Array.from(await p.value.toArray()));
      try {
        sam.train();
        const losses: number[] = [];
        const forwardLoss = (): ReturnType<typeof maskLoss> => {
          const out = sam.forward({ image, boxes, multimaskOutput: false });
          const result = maskLoss(out.masks, target);
          out.masks.dispose();
          out.iouPred.dispose();
          return result;
        };
        for (let step = 0; step < 5; ++step) {
          adam.zeroGrad();
          const { loss, terms, grad } = forwardLoss();
          losses.push((await loss.toArray())[0]!);
          sam.backward({ masks: grad, iouPred: null });
          adam.step();
          for (const t of [loss, terms, grad]) t.dispose();
        }
        sam.eval();
        const last = forwardLoss();
        losses.push((await last.loss.toArray())[0]!);
        for (const t of [last.loss, last.terms, last.grad]) t.dispose();

        const expected = Array.from(await golden.get(`${tag}.loss`)!.toArray());
        losses.forEach((l, i) => assert.ok(Math.abs(l - expected[i]!) <= 1e-5 * Math.abs(expected[i]!), `loss at θ${i}: ${l} vs official ${expected[i]} (all: ${losses.join(' ')})`));

        const failures: string[] = [];
        for (const [name, p] of trainable) {
          const ours = await p.value.toArray();
          const before = theta0.get(name)!;
          const rate = groupLr(name);
          if (/^mask_decoder\.(iou_prediction_head|output_hypernetworks_mlps\.[123])\./.test(name)) {
            if (!ours.every((v, i) => Object.is(v, before[i]))) failures.push(`${name}: moved, but its gradient is None or zero`);
          } else if (/k_proj\.bias$/.test(name)) {
            const moved = maxAbs(Float64Array.from(ours, (v, i) => v - before[i]!));
            if (moved > 5 * rate) failures.push(`${name}: |θ5 − θ0| = ${moved} > 5·lr`);
          } else {
            const official = await golden.get(`${tag}.param.${name}`)!.toArray();
            const error = maxAbs(Float64Array.from(ours, (v, i) => v - official[i]!));
            const bound = 0.05 * rate + 2e-6 * maxAbs(official);
            if (error > bound) failures.push(`${name}: max|θ5 − official| = ${error.toExponential(3)} > ${bound.toExponential(3)} (${(error / rate).toFixed(3)} lr)`);
          }
        }
        assert.ok(failures.length === 0, `${failures.length} tensors off:\n${failures.slice(0, 10).join('\n')}`);
      } finally {
        adam.dispose();
        for (const t of [...input.values(), ...golden.values()]) t.dispose();
        sam.dispose();
      }
    });
  }
}

test.run();
