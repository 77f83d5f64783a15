/**
 * Objects from a label map: one object per label value ('label'), one per connected region of a
 * label ('component'), or everything that is not ignored as one object ('binary').
 *
 * Components are found by one breadth-first flood over the whole map (each pixel visited once), and
 * a region never crosses into another label, so two touching objects of different classes stay
 * apart. Masks are only allocated for the objects kept, since a noisy map can hold thousands of
 * specks that `minPixels` drops.
 */
import { SamCobotError, describe } from '../errors.js';
import type { SampleObject } from './sample.js';

/** (H, W) label values. */
export type LabelMap = Uint8Array | Uint16Array | Uint32Array;

export type ObjectMode = 'label' | 'component' | 'binary';

export interface MaskObjectOptions {
  /** Default 'label'. */
  objects?: ObjectMode;
  /** Label values that are not objects (default [0], the background). */
  ignoreLabels?: number[];
  /** Neighbourhood of a component (default 8). */
  connectivity?: 4 | 8;
  /** Objects with fewer pixels are dropped (default 1: keep every non-empty object). */
  minPixels?: number;
}

/** Checks the options once and fills in the defaults. */
export function resolveObjectOptions(options: MaskObjectOptions): Required<MaskObjectOptions> {
  const objects = options.objects ?? 'label';
  if (!['label', 'component', 'binary'].includes(objects))
    throw new SamCobotError('ERR_ARGUMENT', `Expected 'label', 'component' or 'binary' for objects but received ${describe(objects)}`);
  const ignoreLabels = options.ignoreLabels ?? [0];
  if (!Array.isArray(ignoreLabels) || ignoreLabels.some((v) => !Number.isInteger(v)))
    throw new SamCobotError('ERR_ARGUMENT', `Expected an array of integers for ignoreLabels but received ${describe(ignoreLabels)}`);
  const connectivity = options.connectivity ?? 8;
  if (connectivity !== 4 && connectivity !== 8)
    throw new SamCobotError('ERR_ARGUMENT', `Expected 4 or 8 for connectivity but received ${describe(connectivity)}`);
  const minPixels = options.minPixels ?? 1;
  if (!Number.isInteger(minPixels) || minPixels < 1)
    throw new SamCobotError('ERR_ARGUMENT', `Expected a positive integer for minPixels but received ${describe(minPixels)}`);
  return { objects, ignoreLabels, connectivity, minPixels };
}

function maskOf(pixels: ArrayLike<number>, size: number): Uint8Array {
  const mask = new Uint8Array(size);
  for (let i = 0; i < pixels.length; i++) mask[pixels[i]!] = 1;
  return mask;
}

/**
 * The objects of a (H, W) label map, ordered by label and then, for components, by the raster
 * position of their first pixel. Binary objects get label 1.
 */
export function objectsFromLabelMap(labels: LabelMap, width: number, height: number, options: MaskObjectOptions = {}): SampleObject[] {
  const { objects, ignoreLabels, connectivity, minPixels } = resolveObjectOptions(options);
  const size = width * height;
  if (labels.length !== size) throw new SamCobotError('ERR_SHAPE', `Expected ${width}x${height} = ${size} values for labels but received ${labels.length}`);
  const ignored = new Set(ignoreLabels);

  if (objects === 'binary') {
    const mask = new Uint8Array(size);
    let count = 0;
    for (let i = 0; i < size; i++) {
      if (ignored.has(labels[i]!)) continue;
      mask[i] = 1;
      count++;
    }
    return count >= minPixels ? [{ mask, label: 1 }] : [];
  }

  if (objects === 'label') {
    const counts = new Map<number, number>();
    for (let i = 0; i < size; i++) {
      const v = labels[i]!;
      if (!ignored.has(v)) counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    const kept = [...counts].filter(([, n]) => n >= minPixels).map(([v]) => v).sort((a, b) => a - b);
    return kept.map((label) => {
      const mask = new Uint8Array(size);
      for (let i = 0; i < size; i++) if (labels[i] === label) mask[i] = 1;
      return { mask, label };
    });
  }

  // Components: flood each unvisited, non-ignored pixel; `queue` holds the region's pixels in order.
  const visited = new Uint8Array(size);
  const queue = new Int32Array(size);
  const regions: Array<{ label: number; first: number; pixels: Int32Array }> = [];
  for (let start = 0; start < size; start++) {
    if (visited[start] || ignored.has(labels[start]!)) continue;
    const label = labels[start]!;
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    visited[start] = 1;
    while (head < tail) {
      const p = queue[head++]!;
      const x = p % width;
      const y = (p - x) / width;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          if ((dx === 0 && dy === 0) || (connectivity === 4 && dx !== 0 && dy !== 0)) continue;
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (visited[q] || labels[q] !== label) continue;
          visited[q] = 1;
          queue[tail++] = q;
        }
      }
    }
    if (tail >= minPixels) regions.push({ label, first: start, pixels: queue.slice(0, tail) });
  }
  regions.sort((a, b) => a.label - b.label || a.first - b.first);
  return regions.map((r) => ({ mask: maskOf(r.pixels, size), label: r.label }));
}
