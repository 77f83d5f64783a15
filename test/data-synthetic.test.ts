/**
 * Synthetic data: the same options give the same bytes; masks are exact (pixel counts match each
 * shape's analytic area, and at difficulty 0 the painted object colour stops exactly at the mask's
 * border); objects do not overlap and carry their shape's label; difficulty lowers the
 * object/background contrast in both domains, down to what the texture alone gives for camouflage at 1.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { syntheticDataset, syntheticSample, type SyntheticSample } from '../lib/data/synthetic.js';

test('deterministic in the seed', async () => {
  for (const domain of ['shapes', 'camouflage'] as const) {
    const a = syntheticDataset({ n: 3, size: [48, 40], seed: 11, domain, difficulty: 0.3 });
    const b = syntheticDataset({ n: 3, size: [48, 40], seed: 11, domain, difficulty: 0.3 });
    const c = syntheticDataset({ n: 3, size: [48, 40], seed: 12, domain, difficulty: 0.3 });
    for (let i = 0; i < 3; i++) {
      const [sa, sb, sc] = await Promise.all([a.get(i), b.get(i), c.get(i)]);
      assert.equal(sa.image.data, sb.image.data);
      assert.equal(sa.objects.map((o) => o.mask), sb.objects.map((o) => o.mask));
      assert.not.equal(sa.image.data, sc.image.data);
      assert.is(sa.image.width, 48);
      assert.is(sa.image.height, 40);
      assert.is(sa.name, a.names![i]);
    }
  }
});

test('masks are exact: analytic areas, no overlap, labels by shape, inside the frame', () => {
  let objects = 0;
  for (let i = 0; i < 40; i++) {
    const s = syntheticSample({ n: 40, size: 160, seed: 4, objects: [1, 4], domain: i % 2 ? 'camouflage' : 'shapes' }, i);
    assert.ok(s.objects.length >= 1 && s.objects.length <= 4);
    const union = new Uint8Array(160 * 160);
    for (const o of s.objects) {
      let count = 0;
      o.mask.forEach((v, p) => {
        assert.ok(v === 0 || v === 1);
        if (!v) return;
        count++;
        assert.is(union[p], 0, 'objects overlap');
        union[p] = 1;
        const x = p % 160;
        const y = Math.floor(p / 160);
        assert.ok(x > 0 && y > 0 && x < 159 && y < 159, 'object touches the border');
      });
      const area = o.shape.area;
      // Pixel-centre sampling of a smooth shape: the count is within a few percent of the area.
      assert.ok(Math.abs(count - area) <= 0.05 * area + 3, `${o.shape.kind}: ${count} pixels for area ${area.toFixed(1)}`);
      assert.is(o.label, { ellipse: 1, polygon: 2, blob: 3 }[o.shape.kind]);
      objects++;
    }
  }
  assert.ok(objects > 60);
});

function colourAt(s: SyntheticSample, p: number): [number, number, number] {
  return [s.image.data[3 * p]!, s.image.data[3 * p + 1]!, s.image.data[3 * p + 2]!];
}

test('the painted object stops exactly at the mask border (difficulty 0)', () => {
  for (let i = 0; i < 10; i++) {
    const s = syntheticSample({ n: 10, size: 96, seed: 9, domain: 'shapes', difficulty: 0 }, i);
    for (const o of s.objects) {
      const inside: number[][] = [];
      o.mask.forEach((v, p) => v && inside.push(colourAt(s, p)));
      const centre = [0, 1, 2].map((c) => inside.map((v) => v[c]!).sort((a, b) => a - b)[inside.length >> 1]!);
      const distance = (v: number[]): number => Math.hypot(v[0]! - centre[0]!, v[1]! - centre[1]!, v[2]! - centre[2]!);
      for (const v of inside) assert.ok(distance(v) < 30, `inside pixel ${distance(v).toFixed(1)} from the object colour`);
      for (let p = 0; p < o.mask.length; p++) {
        if (o.mask[p]) continue;
        const neighbours = [p - 1, p + 1, p - 96, p + 96].filter((q) => q >= 0 && q < o.mask.length);
        if (neighbours.some((q) => o.mask[q])) assert.ok(distance(colourAt(s, p)) > 40, `border pixel ${distance(colourAt(s, p)).toFixed(1)} from the object colour`);
      }
    }
  }
});

/** Mean colour distance between each object and the 3-pixel ring of background around it. */
function localContrast(s: SyntheticSample): number {
  const W = s.image.width;
  const H = s.image.height;
  const any = new Uint8Array(W * H);
  for (const o of s.objects) o.mask.forEach((v, p) => v && (any[p] = 1));
  const values: number[] = [];
  for (const o of s.objects) {
    const inner = [0, 0, 0];
    const ring = [0, 0, 0];
    let ni = 0;
    let nr = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const p = y * W + x;
        const c = colourAt(s, p);
        if (o.mask[p]) {
          c.forEach((v, k) => (inner[k] += v));
          ni++;
          continue;
        }
        if (any[p]) continue;
        let near = false;
        for (let dy = -3; dy <= 3 && !near; dy++) for (let dx = -3; dx <= 3 && !near; dx++) near = o.mask[(y + dy) * W + (x + dx)] === 1 && x + dx >= 0 && x + dx < W;
        if (!near) continue;
        c.forEach((v, k) => (ring[k] += v));
        nr++;
      }
    }
    values.push(Math.hypot(...[0, 1, 2].map((k) => inner[k]! / ni - ring[k]! / nr)));
  }
  return values.reduce((a, b) => a + b, 0) / values.length;
}

test('difficulty lowers the contrast in both domains', () => {
  for (const domain of ['shapes', 'camouflage'] as const) {
    const means = [0, 0.5, 1].map((difficulty) => {
      let sum = 0;
      for (let i = 0; i < 8; i++) sum += localContrast(syntheticSample({ n: 8, size: 96, seed: 5, domain, difficulty }, i));
      return sum / 8;
    });
    assert.ok(means[0]! > means[1]! && means[1]! > means[2]!, `${domain}: ${means.map((m) => m.toFixed(1))}`);
    if (domain === 'shapes') assert.ok(means[0]! > 80 && means[2]! < 25, `shapes: ${means.map((m) => m.toFixed(1))}`);
    else assert.ok(means[0]! > 25 && means[2]! < 12, `camouflage: ${means.map((m) => m.toFixed(1))}`);
  }
  // The layout does not depend on the difficulty: only the colours change.
  const easy = syntheticSample({ n: 1, size: 64, seed: 2, domain: 'camouflage', difficulty: 0 }, 0);
  const hard = syntheticSample({ n: 1, size: 64, seed: 2, domain: 'camouflage', difficulty: 1 }, 0);
  assert.equal(easy.objects.map((o) => o.mask), hard.objects.map((o) => o.mask));
});

test('bad options and indexes are refused', async () => {
  assert.throws(() => syntheticDataset({ n: 2, size: 8 }), /at least 16 pixels/);
  assert.throws(() => syntheticDataset({ n: 2, size: 32, difficulty: 2 }), /difficulty in \[0, 1\]/);
  assert.throws(() => syntheticDataset({ n: 2, size: 32, domain: 'noise' as 'shapes' }), /'shapes' or 'camouflage'/);
  assert.throws(() => syntheticDataset({ n: 2, size: 32, objects: [3, 1] }), /min <= max/);
  const ds = syntheticDataset({ n: 2, size: 32 });
  let error: unknown;
  await ds.get(2).catch((e) => (error = e));
  assert.match(String(error), /index in \[0, 2\)/);
});

test.run();
