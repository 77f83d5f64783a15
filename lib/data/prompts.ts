/**
 * Prompts from masks: the box of an object, the method's two box-jitter modes
 * (cobot-method.md §6 and §9 item 10), and points sampled inside and outside an object.
 *
 * Coordinates are pixel indices (x, y), as in the official code: a box is [x0, y0, x1, y1] with the
 * min and max foreground coordinates, both included, and SAM's prompt encoder adds the half-pixel
 * itself. Jitter draws integer offsets in "units" (the 1024 frame of the recipes) and scales them by
 * `unit`, so the same recipe holds at any encoder size. Validation and test prompts get no jitter.
 */
import { SamCobotError, describe } from '../errors.js';
import type { SeededRng } from './rng.js';

/** [x0, y0, x1, y1]. */
export type Box = [number, number, number, number];

export type JitterMode = 'shift' | 'outward';

export interface JitterOptions {
  /** 'shift' (sonar): each coordinate + U{0..max}, a move toward the bottom-right; 'outward' (medical): each side pushed out by U{0..max}. */
  mode: JitterMode;
  /** The largest offset, in units (an integer). */
  max: number;
  /** (w, h) of the frame; results are clamped to [0, w - 1] × [0, h - 1]. */
  frame: [number, number];
  rng: SeededRng;
  /** Pixels per offset unit (default 1). */
  unit?: number;
}

/** The official box of a (H, W) 0/1 mask: min/max foreground coordinates, or null when it is empty. */
export function boxFromMask(mask: ArrayLike<number>, width: number, height: number): Box | null {
  if (mask.length !== width * height) throw new SamCobotError('ERR_SHAPE', `Expected ${width}x${height} = ${width * height} values for mask but received ${mask.length}`);
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let first = -1;
    let last = -1;
    for (let x = 0; x < width; x++) {
      if (!mask[row + x]) continue;
      if (first < 0) first = x;
      last = x;
    }
    if (first < 0) continue;
    if (y0 === height) y0 = y;
    y1 = y;
    if (first < x0) x0 = first;
    if (last > x1) x1 = last;
  }
  return x1 < 0 ? null : [x0, y0, x1, y1];
}

/**
 * A jittered copy of `box`. Clamping can leave a narrow box inverted after a 'shift'
 * (x0 + 49 > x1 + 0); the corners are then swapped, since SAM reads them as top-left, bottom-right.
 */
export function jitterBox(box: Box, options: JitterOptions): Box {
  const { mode, max, frame, rng } = options;
  const unit = options.unit ?? 1;
  if (mode !== 'shift' && mode !== 'outward') throw new SamCobotError('ERR_ARGUMENT', `Expected 'shift' or 'outward' for jitter mode but received ${describe(mode)}`);
  if (!Number.isInteger(max) || max < 0) throw new SamCobotError('ERR_ARGUMENT', `Expected a non-negative integer for jitter max but received ${describe(max)}`);
  if (!(unit > 0)) throw new SamCobotError('ERR_ARGUMENT', `Expected a positive number for jitter unit but received ${describe(unit)}`);
  const sign = mode === 'shift' ? [1, 1, 1, 1] : [-1, -1, 1, 1];
  const limit = [frame[0] - 1, frame[1] - 1, frame[0] - 1, frame[1] - 1];
  const out = box.map((v, i) => Math.min(limit[i]!, Math.max(0, v + sign[i]! * unit * rng.int(0, max)))) as Box;
  return [Math.min(out[0], out[2]), Math.min(out[1], out[3]), Math.max(out[0], out[2]), Math.max(out[1], out[3])];
}

export interface PointSamplingOptions {
  /** Points drawn inside the object (label 1). */
  positive: number;
  /** Points drawn outside it (label 0). */
  negative: number;
  rng: SeededRng;
}

export interface SampledPoints {
  /** (N, 2) pixel coordinates (x, y), N = positive + negative; positives first. */
  coords: Float64Array;
  /** (N): 1 inside, 0 outside, -1 for padding when a side has too few pixels. */
  labels: Int32Array;
}

/** Picks `count` distinct indices where `mask == value` (all of them in random order when fewer). */
function pickPixels(mask: ArrayLike<number>, value: 0 | 1, count: number, rng: SeededRng): Int32Array {
  let total = 0;
  for (let i = 0; i < mask.length; i++) if ((mask[i] ? 1 : 0) === value) total++;
  const candidates = new Int32Array(total);
  for (let i = 0, k = 0; i < mask.length; i++) if ((mask[i] ? 1 : 0) === value) candidates[k++] = i;
  const n = Math.min(count, total);
  for (let i = 0; i < n; i++) {
    const j = rng.int(i, total - 1);
    const tmp = candidates[i]!;
    candidates[i] = candidates[j]!;
    candidates[j] = tmp;
  }
  return candidates.subarray(0, n);
}

/**
 * Points drawn uniformly without replacement inside (positive) and outside (negative) a (H, W)
 * mask. A fixed count keeps batches rectangular: when a side has too few pixels the rest are
 * padding points (0, 0) with label -1, which SAM's prompt encoder ignores (not_a_point).
 */
export function samplePoints(mask: ArrayLike<number>, width: number, height: number, options: PointSamplingOptions): SampledPoints {
  if (mask.length !== width * height) throw new SamCobotError('ERR_SHAPE', `Expected ${width}x${height} = ${width * height} values for mask but received ${mask.length}`);
  for (const key of ['positive', 'negative'] as const)
    if (!Number.isInteger(options[key]) || options[key] < 0) throw new SamCobotError('ERR_ARGUMENT', `Expected a non-negative integer for ${key} but received ${describe(options[key])}`);
  const total = options.positive + options.negative;
  const coords = new Float64Array(2 * total);
  const labels = new Int32Array(total).fill(-1);
  let k = 0;
  for (const [value, count] of [[1, options.positive], [0, options.negative]] as const) {
    const picked = pickPixels(mask, value, count, options.rng);
    for (let i = 0; i < count; i++, k++) {
      if (i >= picked.length) continue;
      coords[2 * k] = picked[i]! % width;
      coords[2 * k + 1] = Math.floor(picked[i]! / width);
      labels[k] = value;
    }
  }
  return { coords, labels };
}
