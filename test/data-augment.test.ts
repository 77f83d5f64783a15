/**
 * Augmentation moves image and masks together: with each mask also drawn into the image's red
 * channel, flips reproduce exactly and rotations/crops agree up to boundary pixels (the image is
 * bilinear, the mask nearest); mapPoint carries a source point to where its pixel went; masks stay
 * 0/1; objects leaving the frame are dropped; colour changes touch only the image; everything
 * repeats with the seed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SONAR_AUGMENTATION, applyAugmentation, augment, mapPoint, planAugmentation, type AugmentOptions } from '../lib/data/augment.js';
import { SeededRng } from '../lib/data/rng.js';
import type { Sample } from '../lib/data/sample.js';

const W = 64;
const H = 48;

/** Two objects (a rectangle and an L) whose masks are also the red channel; noise in green/blue. */
function makeSample(): Sample {
  const rng = new SeededRng(99);
  const rectangle = new Uint8Array(W * H);
  const ell = new Uint8Array(W * H);
  for (let y = 14; y < 30; y++) for (let x = 20; x < 40; x++) rectangle[y * W + x] = 1;
  for (let y = 33; y < 44; y++) for (let x = 6; x < 12; x++) ell[y * W + x] = 1;
  for (let y = 39; y < 44; y++) for (let x = 12; x < 22; x++) ell[y * W + x] = 1;
  const data = new Uint8Array(W * H * 3);
  for (let i = 0; i < W * H; i++) {
    data[3 * i] = rectangle[i] || ell[i] ? 255 : 0;
    data[3 * i + 1] = rng.int(0, 255);
    data[3 * i + 2] = rng.int(0, 255);
  }
  return { name: 'toy', image: { data, width: W, height: H }, objects: [{ mask: rectangle, label: 1 }, { mask: ell, label: 2 }] };
}

function redMask(sample: Sample): Uint8Array {
  return Uint8Array.from({ length: W * H }, (_, i) => (sample.image.data[3 * i]! > 127 ? 1 : 0));
}

function union(sample: Sample): Uint8Array {
  const out = new Uint8Array(W * H);
  for (const o of sample.objects) o.mask.forEach((v, i) => v && (out[i] = 1));
  return out;
}

function flipped(mask: Uint8Array, horizontal: boolean): Uint8Array {
  return Uint8Array.from({ length: W * H }, (_, i) => {
    const x = i % W;
    const y = Math.floor(i / W);
    return horizontal ? mask[y * W + (W - 1 - x)]! : mask[(H - 1 - y) * W + x]!;
  });
}

test('flips are exact on image and masks', () => {
  const sample = makeSample();
  for (const [options, horizontal] of [[{ hflip: 1 }, true], [{ vflip: 1 }, false]] as const) {
    const out = augment(sample, options, new SeededRng(1));
    assert.equal(out.objects.map((o) => o.mask), sample.objects.map((o) => flipped(o.mask, horizontal)));
    for (let c = 0; c < 3; c++) {
      const plane = Uint8Array.from({ length: W * H }, (_, i) => sample.image.data[3 * i + c]!);
      const got = Uint8Array.from({ length: W * H }, (_, i) => out.image.data[3 * i + c]!);
      assert.equal(got, flipped(plane, horizontal), `channel ${c}`);
    }
    assert.equal(out.objects.map((o) => o.label), [1, 2]);
  }
});

test('rotations and crops move the masks with the image', () => {
  const sample = makeSample();
  const options: AugmentOptions = { hflip: 0.5, vflip: 0.5, rotation: { p: 1, degrees: 30 }, crop: { p: 1, scale: [0.6, 1] } };
  for (let seed = 0; seed < 40; seed++) {
    const out = augment(sample, options, new SeededRng(seed));
    const masks = union(out);
    const red = redMask(out);
    let area = 0;
    let differ = 0;
    for (let i = 0; i < W * H; i++) {
      area += masks[i]!;
      differ += masks[i] !== red[i] ? 1 : 0;
      assert.ok(masks[i] === 0 || masks[i] === 1);
    }
    // Bilinear and nearest disagree only on boundary pixels.
    assert.ok(differ <= 0.03 * area + 4, `seed ${seed}: ${differ} of ${area} pixels differ`);
    for (const o of out.objects) assert.ok(o.mask.some((v) => v === 1), 'empty objects are dropped');
  }
});

test('mapPoint sends a source point to where its pixel went', () => {
  const sample = makeSample();
  const options: AugmentOptions = { hflip: 0.5, rotation: { p: 1, degrees: 30 }, crop: { p: 1, scale: [0.85, 1], ratio: [1, 1] } };
  let checked = 0;
  for (let seed = 0; seed < 20; seed++) {
    const plan = planAugmentation(options, new SeededRng(seed), W, H);
    const out = applyAugmentation(sample, plan);
    const rectangle = out.objects.find((o) => o.label === 1);
    if (!rectangle) continue;
    let sx = 0;
    let sy = 0;
    let n = 0;
    rectangle.mask.forEach((v, i) => {
      if (!v) return;
      sx += i % W;
      sy += Math.floor(i / W);
      n++;
    });
    const [x, y] = mapPoint(plan, 29.5, 21.5); // the rectangle's centre
    const inside = [[20, 14], [39, 14], [20, 29], [39, 29]].every(([cx, cy]) => {
      const [u, v] = mapPoint(plan, cx!, cy!);
      return u >= 0 && v >= 0 && u <= W - 1 && v <= H - 1;
    });
    if (!inside) continue; // partly cropped away: its centroid moved
    assert.ok(Math.hypot(sx / n - x, sy / n - y) < 0.3, `seed ${seed}: centroid (${sx / n}, ${sy / n}) vs (${x}, ${y})`);
    checked++;
  }
  assert.ok(checked >= 8, `${checked} plans kept the rectangle whole`);
});

test('objects that leave the frame are dropped', () => {
  const sample = makeSample();
  const shifted = applyAugmentation(sample, { width: W, height: H, inverse: [1, 0, 25, 0, 1, 0], brightness: 1, contrast: 1 });
  assert.equal(shifted.objects.map((o) => o.label), [1]);
  const gone = applyAugmentation(sample, { width: W, height: H, inverse: [1, 0, 500, 0, 1, 0], brightness: 1, contrast: 1 });
  assert.is(gone.objects.length, 0);
  assert.ok(gone.image.data.every((v) => v === 0));
});

test('colour jitter changes the image only; factors of 1 change nothing', () => {
  const sample = makeSample();
  const out = augment(sample, { colour: { p: 1, brightness: 0.2, contrast: 0.2 } }, new SeededRng(3));
  assert.ok(out.objects.every((o, i) => o.mask === sample.objects[i]!.mask));
  assert.not.equal(out.image.data, sample.image.data);
  // Against the formula: v' = clamp(c · min(255, b v) + (1 − c) · mean luma of the brightened image).
  for (const [b, c] of [[1.3, 1.4], [0.7, 0.6]] as const) {
    const plan = { width: W, height: H, inverse: null, brightness: b, contrast: c };
    const got = applyAugmentation(sample, plan).image.data;
    const bright = Array.from(sample.image.data, (v) => Math.min(255, v * b));
    let luma = 0;
    for (let i = 0; i < bright.length; i += 3) luma += 0.299 * bright[i]! + 0.587 * bright[i + 1]! + 0.114 * bright[i + 2]!;
    const mean = luma / (W * H);
    bright.forEach((v, i) => assert.is(got[i], Math.min(255, Math.max(0, Math.round(c * v + (1 - c) * mean))), `pixel ${i}`));
  }
  const same = augment(sample, { colour: { p: 1, brightness: 0, contrast: 0 } }, new SeededRng(3));
  assert.equal(same.image.data, sample.image.data);
  const none = augment(sample, {}, new SeededRng(3));
  assert.is(none.image.data, sample.image.data);
});

test('deterministic in the seed; the sonar recipe runs', () => {
  const sample = makeSample();
  const a = augment(sample, SONAR_AUGMENTATION, new SeededRng(17));
  const b = augment(sample, SONAR_AUGMENTATION, new SeededRng(17));
  const c = augment(sample, SONAR_AUGMENTATION, new SeededRng(18));
  assert.equal(a.image.data, b.image.data);
  assert.equal(a.objects.map((o) => o.mask), b.objects.map((o) => o.mask));
  assert.not.equal(a.image.data, c.image.data);
  assert.throws(() => augment(sample, { hflip: 1.5 }, new SeededRng(1)), /probability in \[0, 1\] for hflip/);
  assert.throws(() => augment(sample, { crop: { p: 1, scale: [0.8, 0.5] } }, new SeededRng(1)), /scale\[0\] <= scale\[1\]/);
});

test.run();
