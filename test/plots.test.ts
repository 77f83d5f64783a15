/**
 * Plots: the curves SVG is well-formed (sharp rasterises it), has one line per series with the
 * names escaped, and breaks lines at non-finite values; the prediction grid has the documented
 * size, the target's contour in green and the prediction tinted blue.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { curvesSvg, predictionGridPng, writeCurves } from '../lib/train/plots.js';
import { scratchFolder } from './helpers/file-errors.js';

const scratch = scratchFolder('plots');
test.after(() => scratch.remove());

test('curvesSvg draws one line per series, with gaps and escaped names', async () => {
  const svg = curvesSvg(
    [
      { name: 'loss <train>', points: [[0, 1.2], [1, 0.9], [2, NaN], [3, 0.5], [4, 0.4]] },
      { name: 'Dice & IoU', points: [[2, 0.6]] },
    ],
    { title: 'run "a"', xLabel: 'step', yLabel: 'value' },
  );
  assert.ok(svg.startsWith('<svg'));
  assert.is((svg.match(/<polyline/g) ?? []).length, 2, 'the NaN splits the first series');
  assert.is((svg.match(/<circle/g) ?? []).length, 1, 'a single point is a dot');
  assert.ok(svg.includes('loss &lt;train&gt;') && svg.includes('Dice &amp; IoU') && svg.includes('run &quot;a&quot;'));
  const meta = await sharp(Buffer.from(svg)).metadata();
  assert.equal([meta.width, meta.height], [720, 420]);
  assert.ok(curvesSvg([]).includes('no data'));
  const png = join(scratch.path, 'curves.png');
  await writeCurves(png, [{ name: 'loss', points: [[0, 1], [1, 0.5]] }]);
  assert.is((await sharp(png).metadata()).format, 'png');
});

test('predictionGridPng: size, target contour and prediction tint', async () => {
  const W = 40;
  const H = 20;
  const image = { data: new Uint8Array(W * H * 3).fill(200), width: W, height: H };
  const target = new Uint8Array(W * H);
  const prediction = new Uint8Array(W * H);
  for (let y = 5; y < 15; y++) for (let x = 10; x < 30; x++) target[y * W + x] = 1;
  for (let y = 0; y < 20; y++) for (let x = 0; x < 8; x++) prediction[y * W + x] = 1;
  const path = join(scratch.path, 'grid.png');
  const size = await predictionGridPng([{ image, target, prediction }, { image, target, prediction: target }, { image, target, prediction }], path, { columns: 2, cellSize: 40 });
  assert.equal(size, { width: 2 * 40 + 3 * 4, height: 2 * 40 + 3 * 4 });
  const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number): number[] => Array.from(data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3));
  // Cell 0 at (4, 4), the 40 × 20 image centred vertically: rows 14..33.
  assert.equal(at(4 + 20, 14 + 5), [0, 230, 64], 'contour on the target border');
  assert.equal(at(4 + 20, 14 + 10), [200, 200, 200], 'untouched inside an unpredicted target');
  assert.equal(at(4 + 3, 14 + 10), [115, 172, 228], 'prediction tinted');
  assert.equal(at(1, 1), [40, 40, 40], 'background');
});

test.run();
