/**
 * SamPredictor and `sam-cobot predict`: preprocessing equals the official Sam.preprocess (the
 * embedding matches the golden image embedding), prompts give the golden low-res masks and IoU,
 * batched boxes, and clear errors for bad images and prompts.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../lib/cli.js';
import { loadSam } from '../lib/load-sam.js';
import type { Sam } from '../lib/nn/sam.js';
import { SamPredictor } from '../lib/predictor.js';
import { Tensor } from '../lib/tensor.js';
import { expectGolden, goldenPath, readGolden } from './helpers/golden.js';

async function rejects(run: () => Promise<unknown>, check: RegExp | ((e: { code?: string; message: string }) => boolean)) {
  try {
    await run();
  } catch (error) {
    const e = error as { code?: string; message: string };
    assert.ok(check instanceof RegExp ? check.test(e.message) : check(e), `unexpected error: ${e.code} ${e.message}`);
    return;
  }
  assert.unreachable('expected a rejection');
}

let sam: Sam;
let golden: Map<string, Tensor>;
let rgb: { data: Uint8Array; width: number; height: number };
const dir = mkdtempSync(join(tmpdir(), 'sam-cobot-predictor-'));

test.before(async () => {
  sam = await loadSam(goldenPath('tiny', 'weights.safetensors'), { device: 'cpu' });
  golden = await readGolden('tiny', 'case.safetensors');
  // input.raw_image: (1, 3, 128, 96) NCHW 0..255, already at the input size -> interleaved RGB.
  const raw = await golden.get('input.raw_image')!.toArray();
  const [h, w] = [128, 96];
  const data = new Uint8Array(h * w * 3);
  for (let c = 0; c < 3; c++) for (let i = 0; i < h * w; i++) data[i * 3 + c] = raw[c * h * w + i]!;
  rgb = { data, width: w, height: h };
});

test.after(() => {
  sam.dispose();
  for (const t of golden.values()) t.dispose();
});

async function hostArray(t: Tensor) {
  return { data: Array.from(await t.toArray()), shape: t.shape.slice(1) };
}

test('setImage preprocesses exactly as the official code: the embedding matches the golden one', async () => {
  const predictor = new SamPredictor(sam);
  await predictor.setImage(rgb);
  await expectGolden('predictor embedding', predictor.getImageEmbedding(), golden.get('out.image_embeddings')!, 1e-5);
  // The same pixels through a PNG file.
  const png = join(dir, 'image.png');
  await sharp(Buffer.from(rgb.data), { raw: { width: rgb.width, height: rgb.height, channels: 3 } }).png().toFile(png);
  await predictor.setImage(png);
  await expectGolden('predictor embedding from PNG', predictor.getImageEmbedding(), golden.get('out.image_embeddings')!, 1e-5);
  predictor.resetImage();
});

test('predict: points, box and mask prompt give the golden low-res masks and IoU', async () => {
  const predictor = new SamPredictor(sam);
  await predictor.setImage(rgb);
  const points = await hostArray(golden.get('input.point_coords')!);
  const labels = await hostArray(golden.get('input.point_labels')!);
  const box = Array.from(await golden.get('input.boxes')!.toArray());
  const out = await predictor.predict({ pointCoords: points, pointLabels: labels, box, maskInput: golden.get('input.mask_input')!, multimaskOutput: true });
  assert.equal(out.lowResLogits.shape, [1, 3, 32, 32]);
  assert.equal(out.masks.shape, [1, 3, 128, 96]);
  assert.ok(out.masks.data.every((v) => v === 0 || v === 1), 'binary masks');
  const low = Tensor.fromArray(out.lowResLogits.data, out.lowResLogits.shape);
  await expectGolden('predictor low-res masks', low, golden.get('out.low_res_masks_multi')!, 1e-5);
  const scores = Tensor.fromArray(out.scores.data, out.scores.shape);
  await expectGolden('predictor scores', scores, golden.get('out.iou_predictions_multi')!, 1e-5);
  const single = await predictor.predict({ pointCoords: points, pointLabels: labels, box, maskInput: golden.get('input.mask_input')!, multimaskOutput: false, returnLogits: true });
  assert.equal(single.masks.shape, [1, 1, 128, 96]);
  assert.ok(single.masks.data instanceof Float32Array);
  for (const t of [low, scores]) t.dispose();
  predictor.resetImage();
});

test('predict: batched boxes give one mask set per box; coordinates scale from the original frame', async () => {
  const predictor = new SamPredictor(sam);
  // A 50x38 original: the input frame is 128x97 (round-half-up), prompts scale by 128/50.
  const small = await sharp(Buffer.from(rgb.data), { raw: { width: 96, height: 128, channels: 3 } }).resize(38, 50).raw().toBuffer();
  await predictor.setImage({ data: small, width: 38, height: 50 });
  const out = await predictor.predict({ box: [[2, 3, 20, 30], [5, 5, 30, 45], [0, 0, 37, 49]], multimaskOutput: false });
  assert.equal(out.masks.shape, [3, 1, 50, 38]);
  assert.equal(out.scores.shape, [3, 1]);
  predictor.resetImage();
});

test('bad input: not an image, prompts out of range, bad labels, wrong mask size, predict before setImage', async () => {
  const predictor = new SamPredictor(sam);
  const fake = join(dir, 'not-an-image.png');
  writeFileSync(fake, 'this is text');
  await rejects(() => predictor.setImage(fake), (e: { code?: string }) => e.code === 'ERR_FILE');
  await rejects(() => predictor.predict({ box: [1, 2, 3, 4] }), /setImage/);
  await predictor.setImage(rgb);
  await rejects(() => predictor.predict({ pointCoords: [[10, 10]], pointLabels: [5] }), (e: { code?: string; message: string }) => e.code === 'ERR_ARGUMENT' && /label/.test(e.message));
  await rejects(() => predictor.predict({ box: [1e6, 2, 3, 4] }), (e: { code?: string }) => e.code === 'ERR_ARGUMENT');
  await rejects(() => predictor.predict({ box: [1, 2, 3] }), (e: { code?: string }) => e.code === 'ERR_SHAPE');
  await rejects(() => predictor.predict({ box: [1, 2, 30, 40], maskInput: { data: new Float32Array(16 * 16), shape: [1, 1, 16, 16] } }), (e: { code?: string }) => e.code === 'ERR_SHAPE');
  predictor.resetImage();
});

test('sam-cobot predict writes a binary mask PNG and an overlay', async () => {
  const png = join(dir, 'cli-image.png');
  await sharp(Buffer.from(rgb.data), { raw: { width: rgb.width, height: rgb.height, channels: 3 } }).png().toFile(png);
  const mask = join(dir, 'mask.png');
  const overlay = join(dir, 'overlay.png');
  const code = await main(['predict', '--checkpoint', goldenPath('tiny', 'weights.safetensors'), '--image', png, '--box', '20,30,80,100', '--out', mask, '--overlay', overlay, '--device', 'cpu']);
  assert.is(code, 0);
  const m = await sharp(readFileSync(mask)).raw().toBuffer({ resolveWithObject: true });
  assert.equal([m.info.width, m.info.height], [96, 128]);
  assert.ok([...m.data].every((v) => v === 0 || v === 255));
  const o = await sharp(overlay).metadata();
  assert.equal([o.width, o.height], [96, 128]);
  assert.is(await main(['predict', '--image', png]), 2, 'usage error exit code');
});

test.run();
