/**
 * loadSam: official safetensors, official .pth (zip and legacy, read without running code),
 * Hugging Face SamModel names, config presets/objects/inference, and errors that name the key,
 * the expected and the found shape.
 */
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readSafetensors, writeSafetensors } from '../lib/io/safetensors.js';
import { isHuggingFaceSam, officialNameFromHuggingFace } from '../lib/io/key-maps.js';
import { loadSam } from '../lib/load-sam.js';
import type { Sam } from '../lib/nn/sam.js';
import { resolveSamConfig, SAM_PRESETS } from '../lib/nn/sam-config.js';
import { Tensor } from '../lib/tensor.js';
import { goldenPath } from './helpers/golden.js';

const dir = mkdtempSync(join(tmpdir(), 'sam-cobot-load-'));
const tinyWeights = goldenPath('tiny', 'weights.safetensors');

async function expectSameWeights(a: Sam, b: Sam) {
  const pa = a.parameterMap();
  const pb = b.parameterMap();
  assert.equal([...pa.keys()], [...pb.keys()]);
  for (const [name, p] of pa) assert.equal(Array.from(await p.value.toArray()), Array.from(await pb.get(name)!.value.toArray()), name);
}

async function rejectsWith(run: () => Promise<unknown>, code: string, pattern: RegExp) {
  try {
    await run();
  } catch (error) {
    const e = error as { code?: string; message: string };
    assert.is(e.code, code, e.message);
    assert.match(e.message, pattern);
    return;
  }
  assert.unreachable('expected an error');
}

test('official .pth checkpoints (zip and legacy) load bit-identical to the safetensors weights', async () => {
  const reference = await loadSam(tinyWeights, { device: 'cpu' });
  const config = await import('node:fs/promises').then((fs) => fs.readFile(goldenPath('tiny', 'config.json'), 'utf8')).then(JSON.parse);
  for (const file of ['weights.pth', 'weights_legacy.pth']) {
    const sam = await loadSam(goldenPath('tiny-pth', file), { device: 'cpu', config });
    await expectSameWeights(reference, sam);
    sam.dispose();
  }
  reference.dispose();
});

test('Hugging Face SamModel key names are detected and mapped', async () => {
  // Official -> HF names, as convert_sam_to_hf.py renames them (sam-architecture.md §7).
  const toHf = (k: string): string[] => {
    let h = k
      .replace(/^image_encoder\.blocks\.(\d+)\.norm([12])\./, 'vision_encoder.layers.$1.layer_norm$2.')
      .replace(/^image_encoder\.blocks\./, 'vision_encoder.layers.')
      .replace(/^image_encoder\.patch_embed\.proj\./, 'vision_encoder.patch_embed.projection.')
      .replace(/^image_encoder\.neck\.0\./, 'vision_encoder.neck.conv1.')
      .replace(/^image_encoder\.neck\.1\./, 'vision_encoder.neck.layer_norm1.')
      .replace(/^image_encoder\.neck\.2\./, 'vision_encoder.neck.conv2.')
      .replace(/^image_encoder\.neck\.3\./, 'vision_encoder.neck.layer_norm2.')
      .replace(/^image_encoder\./, 'vision_encoder.')
      .replace(/^prompt_encoder\.point_embeddings\./, 'prompt_encoder.point_embed.')
      .replace(/^prompt_encoder\.mask_downscaling\.0\./, 'prompt_encoder.mask_embed.conv1.')
      .replace(/^prompt_encoder\.mask_downscaling\.1\./, 'prompt_encoder.mask_embed.layer_norm1.')
      .replace(/^prompt_encoder\.mask_downscaling\.3\./, 'prompt_encoder.mask_embed.conv2.')
      .replace(/^prompt_encoder\.mask_downscaling\.4\./, 'prompt_encoder.mask_embed.layer_norm2.')
      .replace(/^prompt_encoder\.mask_downscaling\.6\./, 'prompt_encoder.mask_embed.conv3.')
      .replace(/^(mask_decoder\.transformer\.layers\.\d+)\.norm(\d)\./, '$1.layer_norm$2.')
      .replace(/^mask_decoder\.transformer\.norm_final_attn\./, 'mask_decoder.transformer.layer_norm_final_attn.')
      .replace(/^mask_decoder\.output_upscaling\.0\./, 'mask_decoder.upscale_conv1.')
      .replace(/^mask_decoder\.output_upscaling\.1\./, 'mask_decoder.upscale_layer_norm.')
      .replace(/^mask_decoder\.output_upscaling\.3\./, 'mask_decoder.upscale_conv2.')
      .replace(/^(mask_decoder\.(?:output_hypernetworks_mlps\.\d+|iou_prediction_head))\.layers\.0\./, '$1.proj_in.')
      .replace(/^(mask_decoder\.(?:output_hypernetworks_mlps\.\d+|iou_prediction_head))\.layers\.1\./, '$1.layers.0.')
      .replace(/^(mask_decoder\.(?:output_hypernetworks_mlps\.\d+|iou_prediction_head))\.layers\.2\./, '$1.proj_out.');
    if (k === 'prompt_encoder.pe_layer.positional_encoding_gaussian_matrix') return ['prompt_encoder.shared_embedding.positional_embedding', 'shared_image_embedding.positional_embedding'];
    return [h];
  };
  const { tensors } = await readSafetensors(tinyWeights);
  const hf = new Map<string, Tensor>();
  for (const [k, t] of tensors) for (const name of toHf(k)) hf.set(name, t);
  for (const [k] of tensors) for (const name of toHf(k)) assert.is(officialNameFromHuggingFace(name), k, name);
  assert.ok(isHuggingFaceSam(hf.keys()));
  const path = join(dir, 'hf', 'model.safetensors');
  await import('node:fs/promises').then((fs) => fs.mkdir(join(dir, 'hf'), { recursive: true }));
  await writeSafetensors(path, hf);
  copyFileSync(goldenPath('tiny', 'config.json'), join(dir, 'hf', 'config.json'));
  const reference = await loadSam(tinyWeights, { device: 'cpu' });
  const sam = await loadSam(path, { device: 'cpu' });
  await expectSameWeights(reference, sam);
  for (const t of tensors.values()) t.dispose();
  reference.dispose();
  sam.dispose();
});

test('config: presets, snake_case objects, and inference from the weights when no config.json is beside them', async () => {
  assert.is(resolveSamConfig('vit_h').embedDim, 1280);
  assert.equal(resolveSamConfig('vit_l').globalAttnIndexes, [5, 11, 17, 23]);
  assert.equal(SAM_PRESETS.vit_b.depth, 12);
  const alone = join(dir, 'alone');
  await import('node:fs/promises').then((fs) => fs.mkdir(alone, { recursive: true }));
  copyFileSync(tinyWeights, join(alone, 'weights.safetensors'));
  const sam = await loadSam(join(alone, 'weights.safetensors'), { device: 'cpu' });
  assert.is(sam.config.embedDim, 48);
  assert.is(sam.config.depth, 4);
  assert.is(sam.config.numHeads, 3);
  assert.is(sam.config.windowSize, 3);
  assert.equal(sam.config.globalAttnIndexes, [1, 3]);
  assert.is(sam.config.imgSize, 128);
  sam.dispose();
});

test('errors name the key, the expected and the found shape', async () => {
  await rejectsWith(() => loadSam(tinyWeights, { device: 'cpu', config: 'vit_b' }), 'ERR_SHAPE', /\[1,64,64,768\].*image_encoder\.pos_embed.*\[1,8,8,48\]/);
  const { tensors } = await readSafetensors(tinyWeights);
  const missing = new Map(tensors);
  missing.delete('mask_decoder.iou_token.weight');
  await import('node:fs/promises').then((fs) => fs.mkdir(join(dir, 'missing'), { recursive: true }));
  await writeSafetensors(join(dir, 'missing', 'w.safetensors'), missing);
  copyFileSync(goldenPath('tiny', 'config.json'), join(dir, 'missing', 'config.json'));
  await rejectsWith(() => loadSam(join(dir, 'missing', 'w.safetensors'), { device: 'cpu' }), 'ERR_FILE', /mask_decoder\.iou_token\.weight.*missing/);
  const extra = new Map(tensors);
  extra.set('mask_decoder.surprise', tensors.get('mask_decoder.iou_token.weight')!);
  await writeSafetensors(join(dir, 'missing', 'x.safetensors'), extra);
  await rejectsWith(() => loadSam(join(dir, 'missing', 'x.safetensors'), { device: 'cpu' }), 'ERR_FILE', /mask_decoder\.surprise/);
  await rejectsWith(() => loadSam(join(dir, 'nope.safetensors'), { device: 'cpu' }), 'ERR_FILE', /nope/);
  await rejectsWith(() => loadSam(tinyWeights, { device: 'cpu', config: { embed_dim: 50, num_heads: 3 } }), 'ERR_ARGUMENT', /divisible/);
  for (const t of tensors.values()) t.dispose();
});

test.run();
