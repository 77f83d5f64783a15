/**
 * SAM backward against the official PyTorch code: with the golden README's loss
 * Σ(low_res_masks_multi ⊙ R1) + Σ(iou_predictions_multi ⊙ R2), every parameter gradient and the
 * image and mask-input gradients within 3e-5 of their largest magnitude; the mathematically zero
 * key-bias gradients within 1e-4 of the matching key-weight gradient's largest magnitude.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadSam } from '../lib/load-sam.js';
import type { Sam } from '../lib/nn/sam.js';
import { Tensor } from '../lib/tensor.js';
import { expectGolden, goldenPath, readGolden } from './helpers/golden.js';

const GRAD_TOL = 3e-5;
const ZERO_GRAD_TOL = 1e-4;

async function hostArray(t: Tensor) {
  return { data: Array.from(await t.toArray()), shape: t.shape };
}

async function maxAbs(t: Tensor): Promise<number> {
  let m = 0;
  for (const v of await t.toArray()) m = Math.max(m, Math.abs(v));
  return m;
}

function thirds(values: ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> }, part: number): Tensor {
  const n = values.length / 3;
  return Tensor.fromArray(Float32Array.from(values.subarray(part * n, (part + 1) * n)), [n]);
}

export async function runGoldenBackward(config: 'tiny' | 'small'): Promise<{ sam: Sam; grads: Map<string, Tensor>; image: Tensor; masks: Tensor }> {
  const sam = await loadSam(goldenPath(config, 'weights.safetensors'), { device: 'cpu' });
  const input = await readGolden(config, 'case.safetensors');
  const grads = await readGolden(config, 'grads.safetensors');
  sam.train();
  const out = sam.forward({
    image: input.get('input.image')!,
    points: { coords: await hostArray(input.get('input.point_coords')!), labels: await hostArray(input.get('input.point_labels')!) },
    boxes: await hostArray(input.get('input.boxes')!),
    masks: input.get('input.mask_input')!,
    multimaskOutput: true,
  });
  const d = sam.backward({ masks: grads.get('loss.R1')!, iouPred: grads.get('loss.R2')! }, { inputGrad: true });
  out.masks.dispose();
  out.iouPred.dispose();
  for (const t of input.values()) t.dispose();
  return { sam, grads, image: d.image!, masks: d.masks! };
}

async function checkGradients(config: 'tiny' | 'small') {
  const { sam, grads, image, masks } = await runGoldenBackward(config);
  try {
    await expectGolden(`${config} grad.image`, image, grads.get('grad.image')!, GRAD_TOL);
    await expectGolden(`${config} grad.mask_input`, masks, grads.get('grad.mask_input')!, GRAD_TOL);
    const params = sam.parameterMap({ buffers: false });
    let checked = 0;
    for (const [name, p] of params) {
      const expected = grads.get(`grad.${name}`);
      assert.ok(expected, `golden has grad.${name}`);
      const actual = p.grad ?? Tensor.zeros(p.shape);
      if (/mask_decoder\..*k_proj\.bias$/.test(name)) {
        const bound = ZERO_GRAD_TOL * (await maxAbs(grads.get(`grad.${name.replace(/bias$/, 'weight')}`)!));
        assert.ok((await maxAbs(actual)) <= bound, `${name}: a key bias gradient is zero in theory; |ours| = ${await maxAbs(actual)} > ${bound}`);
      } else if (/attn\.qkv\.bias$/.test(name)) {
        const ours = await actual.toArray();
        const theirs = await expected!.toArray();
        for (const part of [0, 2]) await expectGolden(`${config} grad.${name}[${part}/3]`, thirds(ours, part), thirds(theirs, part), GRAD_TOL);
        const bound = ZERO_GRAD_TOL * (await maxAbs(grads.get(`grad.${name.replace(/bias$/, 'weight')}`)!));
        assert.ok((await maxAbs(thirds(ours, 1))) <= bound, `${name}: the key third is zero in theory`);
      } else {
        await expectGolden(`${config} grad.${name}`, actual, expected!, GRAD_TOL);
      }
      checked++;
    }
    assert.is(checked, params.size);
  } finally {
    sam.dispose();
    for (const t of grads.values()) t.dispose();
    image.dispose();
    masks.dispose();
  }
}

test('tiny: every parameter, image and mask-input gradient matches the official code', async () => {
  await checkGradients('tiny');
});

test('small: every parameter, image and mask-input gradient matches the official code', async () => {
  await checkGradients('small');
});

test.run();
