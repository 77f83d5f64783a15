/**
 * Prompts from masks: boxes are the exact min/max foreground coordinates; both jitter modes draw
 * integer offsets in [0, max] (each end reached), move the sides the documented way, are clamped,
 * scale with `unit` and repeat with the seed; sampled points fall inside (positive) or outside
 * (negative) the mask, are distinct, and pad with label -1 when a side has too few pixels.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SamCobotError } from '../lib/errors.js';
import { boxFromMask, jitterBox, samplePoints, type Box } from '../lib/data/prompts.js';
import { SeededRng } from '../lib/data/rng.js';

function maskFrom(width: number, height: number, pixels: Array<[number, number]>): Uint8Array {
  const mask = new Uint8Array(width * height);
  for (const [x, y] of pixels) mask[y * width + x] = 1;
  return mask;
}

function rect(width: number, height: number, x0: number, y0: number, x1: number, y1: number): Uint8Array {
  const pixels: Array<[number, number]> = [];
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) pixels.push([x, y]);
  return maskFrom(width, height, pixels);
}

test('boxFromMask gives the min/max foreground coordinates', () => {
  assert.equal(boxFromMask(rect(10, 8, 3, 2, 7, 5), 10, 8), [3, 2, 7, 5]);
  // An L shape: the box spans the extremes of different rows and columns.
  assert.equal(boxFromMask(maskFrom(9, 9, [[1, 6], [1, 7], [2, 7], [5, 7], [4, 3]]), 9, 9), [1, 3, 5, 7]);
  assert.equal(boxFromMask(maskFrom(5, 4, [[4, 3]]), 5, 4), [4, 3, 4, 3]);
  assert.equal(boxFromMask(maskFrom(5, 4, [[0, 0]]), 5, 4), [0, 0, 0, 0]);
  assert.is(boxFromMask(new Uint8Array(20), 5, 4), null);
  assert.throws(() => boxFromMask(new Uint8Array(19), 5, 4), (e: unknown) => e instanceof SamCobotError && e.code === 'ERR_SHAPE');
});

function draws(mode: 'shift' | 'outward', seed: number, count: number, unit = 1): Box[] {
  const rng = new SeededRng(seed);
  return Array.from({ length: count }, () => jitterBox([300, 400, 500, 600], { mode, max: 49, frame: [1024, 1024], rng, unit }));
}

test('shift jitter adds U{0..49} to each coordinate, reaching both ends', () => {
  const boxes = draws('shift', 1, 4000);
  const base = [300, 400, 500, 600];
  for (let c = 0; c < 4; c++) {
    const deltas = boxes.map((b) => b[c]! - base[c]!);
    assert.ok(deltas.every((d) => Number.isInteger(d) && d >= 0 && d <= 49), `coordinate ${c}`);
    assert.is(Math.min(...deltas), 0);
    assert.is(Math.max(...deltas), 49);
    const mean = deltas.reduce((a, b) => a + b, 0) / deltas.length;
    assert.ok(Math.abs(mean - 24.5) < 1, `mean offset ${mean}`);
  }
  // Independent coordinates: x0 and x1 offsets are uncorrelated.
  const d0 = boxes.map((b) => b[0] - 300);
  const d2 = boxes.map((b) => b[2] - 500);
  const cov = d0.reduce((s, v, i) => s + (v - 24.5) * (d2[i]! - 24.5), 0) / d0.length;
  assert.ok(Math.abs(cov) < 20, `covariance ${cov}`);
});

test('outward jitter pushes each side out by U{0..max}', () => {
  const boxes = draws('outward', 2, 3000);
  const outward = [(b: Box) => 300 - b[0], (b: Box) => 400 - b[1], (b: Box) => b[2] - 500, (b: Box) => b[3] - 600];
  for (const side of outward) {
    const d = boxes.map(side);
    assert.ok(d.every((v) => Number.isInteger(v) && v >= 0 && v <= 49));
    assert.is(Math.min(...d), 0);
    assert.is(Math.max(...d), 49);
  }
});

test('jitter is deterministic in the seed and scales with unit', () => {
  assert.equal(draws('shift', 7, 50), draws('shift', 7, 50));
  assert.not.equal(draws('shift', 7, 50), draws('shift', 8, 50));
  const quarter = draws('shift', 7, 50, 0.25);
  const whole = draws('shift', 7, 50);
  quarter.forEach((b, i) => b.forEach((v, c) => assert.is(v - [300, 400, 500, 600][c]!, (whole[i]![c]! - [300, 400, 500, 600][c]!) * 0.25)));
});

test('jitter clamps to the frame and keeps corners ordered', () => {
  const rng = new SeededRng(3);
  for (let i = 0; i < 500; i++) {
    const out = jitterBox([0, 0, 99, 59], { mode: 'outward', max: 30, frame: [100, 60], rng });
    assert.equal(out, [0, 0, 99, 59]);
    const shifted = jitterBox([90, 50, 90, 50], { mode: 'shift', max: 30, frame: [100, 60], rng });
    assert.ok(shifted[0] <= shifted[2] && shifted[1] <= shifted[3] && shifted[2] <= 99 && shifted[3] <= 59 && shifted[0] >= 90, JSON.stringify(shifted));
  }
  assert.throws(() => jitterBox([0, 0, 1, 1], { mode: 'sideways' as 'shift', max: 3, frame: [4, 4], rng }), /shift' or 'outward/);
  assert.throws(() => jitterBox([0, 0, 1, 1], { mode: 'shift', max: 2.5, frame: [4, 4], rng }), /non-negative integer/);
});

test('samplePoints draws distinct points inside and outside the mask', () => {
  const mask = rect(40, 30, 10, 5, 24, 19);
  const { coords, labels } = samplePoints(mask, 40, 30, { positive: 20, negative: 12, rng: new SeededRng(5) });
  assert.is(labels.length, 32);
  const seen = new Set<string>();
  for (let k = 0; k < 32; k++) {
    const x = coords[2 * k]!;
    const y = coords[2 * k + 1]!;
    assert.is(labels[k], k < 20 ? 1 : 0);
    assert.is(mask[y * 40 + x], labels[k], `point ${k} at (${x}, ${y})`);
    seen.add(`${x},${y}`);
  }
  assert.is(seen.size, 32);
  const again = samplePoints(mask, 40, 30, { positive: 20, negative: 12, rng: new SeededRng(5) });
  assert.equal(Array.from(again.coords), Array.from(coords));
});

test('samplePoints pads with label -1 when a side has too few pixels', () => {
  const mask = maskFrom(6, 5, [[2, 2], [3, 2]]);
  const { coords, labels } = samplePoints(mask, 6, 5, { positive: 5, negative: 1, rng: new SeededRng(1) });
  assert.equal(Array.from(labels), [1, 1, -1, -1, -1, 0]);
  assert.equal(new Set([`${coords[0]},${coords[1]}`, `${coords[2]},${coords[3]}`]), new Set(['2,2', '3,2']));
  assert.equal(Array.from(coords.subarray(4, 10)), [0, 0, 0, 0, 0, 0]);
});

test.run();
