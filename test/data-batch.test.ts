/**
 * toSamBatch: images equal preprocessImage's output; a box-shaped object gives the scaled box
 * and a target box at the low-res coordinates worked out by hand, zero in the padding; jitter stays
 * within max·S/1024; every image contributes K prompts by the documented rule; point prompts fall
 * in the object; samples without objects are left out.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { preprocessImage } from '../lib/image.js';
import { resolveSamConfig } from '../lib/nn/sam-config.js';
import { toSamBatch } from '../lib/data/batch.js';
import { SeededRng } from '../lib/data/rng.js';
import type { Sample } from '../lib/data/sample.js';
import { syntheticSample } from '../lib/data/synthetic.js';

// S = 128, g = 8: low-res logits are 32 × 32.
const config = resolveSamConfig({ imgSize: 128, patchSize: 16 });

function boxSample(name: string, width: number, height: number, boxes: Array<[number, number, number, number, number]>): Sample {
  const rng = new SeededRng(name);
  const data = Uint8Array.from({ length: width * height * 3 }, () => rng.int(0, 255));
  const objects = boxes.map(([x0, y0, x1, y1, label]) => {
    const mask = new Uint8Array(width * height);
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) mask[y * width + x] = 1;
    return { mask, label };
  });
  return { name, image: { data, width, height }, objects };
}

test('images are exactly preprocessImage output', async () => {
  const samples = [boxSample('wide', 100, 50, [[20, 10, 59, 29, 1]]), boxSample('tall', 30, 70, [[3, 3, 9, 9, 1]])];
  const batch = await toSamBatch(samples, config);
  assert.equal(batch.imageShape, [2, 3, 128, 128]);
  for (let i = 0; i < 2; i++) {
    const { pixels, inputSize } = await preprocessImage(samples[i]!.image, config);
    assert.equal(batch.images.subarray(i * pixels.length, (i + 1) * pixels.length), pixels);
    assert.equal(batch.inputSizes[i], inputSize);
  }
  assert.equal(batch.inputSizes, [[64, 128], [128, 55]]);
  assert.equal(batch.originalSizes, [[50, 100], [70, 30]]);
});

test('a box object gives the scaled box and a target box on the low-res grid', async () => {
  // 100 × 50 → input 128 × 64 (factor 1.28) → low-res 32 × 16 (factor 0.32), padded to 32 × 32.
  const sample = boxSample('wide', 100, 50, [[20, 10, 59, 29, 4]]);
  const batch = await toSamBatch([sample], config);
  assert.equal(batch.boxes.shape, [1, 4]);
  assert.equal(Array.from(batch.boxes.data), [20 * 1.28, 10 * 1.28, 59 * 1.28, 29 * 1.28]);
  assert.equal(batch.targets.shape, [1, 1, 32, 32]);
  // Low-res pixel t covers original pixels around (t + 0.5) · 3.125: columns 6..18, rows 3..9.
  for (let y = 0; y < 32; y++)
    for (let x = 0; x < 32; x++) assert.is(batch.targets.data[y * 32 + x], x >= 6 && x <= 18 && y >= 3 && y <= 9 ? 1 : 0, `(${x}, ${y})`);
  assert.is(batch.fullTargets[0], sample.objects[0]!.mask);
  assert.equal(batch.objects, [{ image: 0, object: 0, label: 4 }]);
  assert.is(batch.points, undefined);
});

test('jitter stays within max · S/1024 and the frame, and repeats with the seed', async () => {
  const sample = boxSample('wide', 100, 50, [[20, 10, 59, 29, 1], [90, 40, 99, 49, 1]]);
  const base = [20 * 1.28, 10 * 1.28, 59 * 1.28, 29 * 1.28, 90 * 1.28, 40 * 1.28, 99 * 1.28, 49 * 1.28];
  const seen = new Set<number>();
  for (let seed = 0; seed < 40; seed++) {
    const batch = await toSamBatch([sample], config, { jitter: { mode: 'shift', max: 49 }, rng: new SeededRng(seed) });
    batch.boxes.data.forEach((v, i) => {
      const d = v - base[i]!;
      seen.add(d);
      assert.ok(d >= 0 && d <= 49 * 0.125 + 1e-9, `offset ${d}`);
      assert.ok(Math.abs(d / 0.125 - Math.round(d / 0.125)) < 1e-9 || v === 99 * 1.28 || v === 49 * 1.28, `offset ${d} is a whole number of units or clamped`);
      assert.ok(v <= (i % 2 === 0 ? 99 * 1.28 : 49 * 1.28) + 1e-9, `clamped: ${v}`);
    });
    const again = await toSamBatch([sample], config, { jitter: { mode: 'shift', max: 49 }, rng: new SeededRng(seed) });
    assert.equal(again.boxes.data, batch.boxes.data);
  }
  assert.ok(seen.size > 20);
  const noJitter = await toSamBatch([sample], config, { jitter: null });
  assert.equal(Array.from(noJitter.boxes.data), base);
});

test('each image contributes K = min(maxObjects, most objects) prompts', async () => {
  const three = boxSample('three', 40, 40, [[1, 1, 5, 5, 1], [10, 10, 15, 15, 2], [20, 20, 30, 30, 3]]);
  const one = boxSample('one', 40, 40, [[2, 2, 8, 8, 7]]);
  const batch = await toSamBatch([three, one], config);
  assert.is(batch.objectsPerImage, 3);
  assert.equal(batch.objects.map((o) => [o.image, o.object, o.label]), [[0, 0, 1], [0, 1, 2], [0, 2, 3], [1, 0, 7], [1, 0, 7], [1, 0, 7]]);
  assert.equal(batch.boxes.shape, [6, 4]);
  assert.equal(batch.targets.shape, [6, 1, 32, 32]);
  const capped = await toSamBatch([three, one], config, { maxObjects: 2 });
  assert.equal(capped.objects.map((o) => [o.image, o.object]), [[0, 0], [0, 1], [1, 0], [1, 0]]);
  const picks = new Set<string>();
  for (let seed = 0; seed < 20; seed++) {
    const random = await toSamBatch([three, one], config, { maxObjects: 2, rng: new SeededRng(seed) });
    const chosen = random.objects.filter((o) => o.image === 0).map((o) => o.object);
    assert.is(new Set(chosen).size, 2);
    picks.add(chosen.join(','));
  }
  assert.ok(picks.size > 2, 'an rng picks different subsets');
});

test('point prompts lie in their object, scaled to the input frame', async () => {
  const sample = syntheticSample({ n: 1, size: [80, 60], seed: 3, objects: [2, 3] }, 0);
  const batch = await toSamBatch([sample], config, { prompt: 'point', points: { positive: 3, negative: 2 }, rng: new SeededRng(1) });
  const K = batch.objectsPerImage;
  assert.equal(batch.points!.coords.shape, [K, 5, 2]);
  assert.equal(batch.points!.labels.shape, [K, 5]);
  const scale = 128 / 80;
  for (let p = 0; p < K; p++) {
    const mask = batch.fullTargets[p]!;
    for (let n = 0; n < 5; n++) {
      const x = batch.points!.coords.data[2 * (p * 5 + n)]! / scale;
      const y = batch.points!.coords.data[2 * (p * 5 + n) + 1]! / scale;
      assert.is(mask[Math.round(y) * 80 + Math.round(x)], batch.points!.labels.data[p * 5 + n], `prompt ${p} point ${n}`);
    }
  }
});

test('samples without objects are left out; an rng is required for jitter', async () => {
  const empty: Sample = { ...boxSample('empty', 20, 20, []), objects: [] };
  const full = boxSample('full', 20, 20, [[1, 1, 4, 4, 1]]);
  const batch = await toSamBatch([empty, full], config);
  assert.equal(batch.names, ['full']);
  assert.equal(batch.skipped, ['empty']);
  const none = await toSamBatch([empty], config);
  assert.equal([none.imageShape, none.boxes.shape, none.targets.shape, none.objectsPerImage], [[0, 3, 128, 128], [0, 4], [0, 1, 32, 32], 0]);
  let error: unknown;
  await toSamBatch([full], config, { jitter: { mode: 'shift', max: 49 } }).catch((e) => (error = e));
  assert.match(String(error), /Expected an rng for jitter/);
});

test.run();
