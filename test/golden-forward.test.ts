/**
 * SAM forward against the official PyTorch code (test/golden tiny and small): every stored
 * intermediate within 1e-5 of its largest magnitude (the golden README's recommendation).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadSam } from '../lib/load-sam.js';
import { setActivationHook } from '../lib/nn/module.js';
import type { Sam } from '../lib/nn/sam.js';
import type { Tensor } from '../lib/tensor.js';
import { expectGolden, goldenPath, readGolden } from './helpers/golden.js';

const FORWARD_TOL = 1e-5;

async function hostArray(t: Tensor) {
  return { data: Array.from(await t.toArray()), shape: t.shape };
}

/** Runs the primary prompt set and checks every key of case.safetensors that the run produces. */
async function checkConfig(config: 'tiny' | 'small') {
  const sam: Sam = await loadSam(goldenPath(config, 'weights.safetensors'), { device: 'cpu' });
  const golden = await readGolden(config, 'case.safetensors');
  const captured = new Map<string, Tensor>();
  setActivationHook((path, t) => {
    captured.get(`act.${path}`)?.dispose();
    captured.set(`act.${path}`, t.reshape(t.shape));
  });
  try {
    const g = (k: string) => {
      const t = golden.get(k);
      assert.ok(t, `golden key ${k}`);
      return t!;
    };
    const embeddings = sam.imageEncoder.forward(g('input.image'));
    const pe = sam.promptEncoder.densePe();
    const prompts = {
      points: { coords: await hostArray(g('input.point_coords')), labels: await hostArray(g('input.point_labels')) },
      boxes: await hostArray(g('input.boxes')),
      masks: g('input.mask_input'),
    };
    const { sparse, dense } = sam.promptEncoder.forward(prompts);
    const outputs = new Map<string, Tensor>([
      ['out.image_embeddings', embeddings],
      ['out.dense_pe', pe],
      ['out.sparse_embeddings', sparse],
      ['out.dense_embeddings', dense],
    ]);
    const [inputH, inputW] = Array.from(await g('input.input_size').toArray()) as [number, number];
    const [origH, origW] = Array.from(await g('input.original_size').toArray()) as [number, number];
    for (const multimask of [true, false]) {
      const suffix = multimask ? 'multi' : 'single';
      const out = sam.maskDecoder.forward({ imageEmbeddings: embeddings, imagePe: pe, sparse, dense, multimaskOutput: multimask });
      outputs.set(`out.low_res_masks_${suffix}`, out.masks);
      outputs.set(`out.iou_predictions_${suffix}`, out.iouPred);
      outputs.set(`out.masks_${suffix}`, sam.postprocessMasks(out.masks, [inputH, inputW], [origH, origW]));
    }
    for (const [key, expected] of golden) {
      if (key.startsWith('input.') || key.startsWith('out.alt_')) continue;
      let actual = outputs.get(key) ?? captured.get(key);
      assert.ok(actual, `our run produced nothing for golden key ${key}`);
      if (actual!.shape.join() !== expected.shape.join()) actual = actual!.reshape(expected.shape); // hypernetwork outputs (B,1,C/8) vs (B,C/8)
      await expectGolden(`${config} ${key}`, actual!, expected, FORWARD_TOL);
    }
    if (config === 'tiny') await checkAltPrompts(sam, golden, embeddings, pe);
  } finally {
    setActivationHook(null);
    for (const t of captured.values()) t.dispose();
    for (const t of golden.values()) t.dispose();
    sam.dispose();
  }
}

async function checkAltPrompts(sam: Sam, golden: Map<string, Tensor>, embeddings: Tensor, pe: Tensor) {
  const sets = {
    alt_points: {
      points: {
        coords: await hostArray(golden.get('input.alt_points.point_coords')!),
        labels: await hostArray(golden.get('input.alt_points.point_labels')!),
      },
    },
    alt_box: { boxes: await hostArray(golden.get('input.alt_box.boxes')!) },
  };
  for (const [name, prompts] of Object.entries(sets)) {
    const { sparse, dense } = sam.promptEncoder.forward(prompts);
    await expectGolden(`tiny ${name} sparse`, sparse, golden.get(`out.${name}.sparse_embeddings`)!, FORWARD_TOL);
    await expectGolden(`tiny ${name} dense`, dense, golden.get(`out.${name}.dense_embeddings`)!, FORWARD_TOL);
    for (const multimask of [true, false]) {
      const suffix = multimask ? 'multi' : 'single';
      const out = sam.maskDecoder.forward({ imageEmbeddings: embeddings, imagePe: pe, sparse, dense, multimaskOutput: multimask });
      await expectGolden(`tiny ${name} masks ${suffix}`, out.masks, golden.get(`out.${name}.low_res_masks_${suffix}`)!, FORWARD_TOL);
      await expectGolden(`tiny ${name} iou ${suffix}`, out.iouPred, golden.get(`out.${name}.iou_predictions_${suffix}`)!, FORWARD_TOL);
      out.masks.dispose();
      out.iouPred.dispose();
    }
    sparse.dispose();
    dense.dispose();
  }
}

test('tiny: every forward intermediate matches the official code', async () => {
  await checkConfig('tiny');
});

test('small: every stored forward output matches the official code', async () => {
  await checkConfig('small');
});

test.run();
