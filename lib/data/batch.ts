/**
 * Samples → one SAM training or evaluation batch: the images preprocessed exactly as
 * `preprocessImage` does (it is called), one prompt per object in the input frame, and each
 * object's target aligned with SAM's low-res logits.
 *
 * Frames: a box or point is taken from the original-size mask and scaled by the resize factor
 * (w'/W, h'/H), as SamPredictor scales user prompts. The target is the mask resized with the same
 * factor to the low-res frame (longest side → 4g, nearest with pixel centres aligned:
 * source = floor((t + 0.5) · H / h'')) and zero-padded bottom/right to 4g × 4g, which is where the
 * padded input lands in the (4g, 4g) logits. Jitter `max` is in pixels of the 1024 frame of the
 * recipes and is scaled by S/1024.
 *
 * Equal prompts per image (Sam.forward wants Bi equal consecutive groups): K = min(maxObjects,
 * the largest object count in the batch). An image with more objects keeps K of them (a random
 * subset with an rng, else the first K); one with fewer repeats its objects in order (object j is
 * object j mod n), so a repeated object weighs more in a summed loss. Images left without objects
 * (an augmentation can crop every object away) are left out and named in `skipped`; when none is
 * left the batch is empty (B = P = 0), and a trainer skips it.
 */
import { SamCobotError, describe } from '../errors.js';
import { preprocessImage, preprocessShape } from '../image.js';
import { gridSize, type SamConfig } from '../nn/sam-config.js';
import { boxFromMask, jitterBox, samplePoints, type Box, type JitterMode } from './prompts.js';
import type { SeededRng } from './rng.js';
import type { Sample } from './sample.js';

export interface BatchOptions {
  /** Most prompts per image (default: no cap). */
  maxObjects?: number;
  /** Training box jitter (`max` in 1024-frame pixels); null or absent for validation and test. */
  jitter?: { mode: JitterMode; max: number } | null;
  /** Which prompt the model gets (default 'box'); boxes are returned either way. */
  prompt?: 'box' | 'point';
  /** Points per object for `prompt: 'point'` (default 1 positive, 0 negative). */
  points?: { positive: number; negative: number };
  /** Needed for jitter and points; picks the objects kept when an image has more than K. */
  rng?: SeededRng;
}

export interface SamBatch {
  /** Sample names of the B images kept. */
  names: string[];
  /** (B, 3, S, S) preprocessed images. */
  images: Float32Array;
  imageShape: [number, number, number, number];
  /** (h', w') of each resized image inside S × S. */
  inputSizes: Array<[number, number]>;
  /** (H, W) of each original image. */
  originalSizes: Array<[number, number]>;
  /** K: prompts per image; P = B · K, image i owning prompts [i K, (i + 1) K). */
  objectsPerImage: number;
  /** (P, 4) boxes (x0, y0, x1, y1) in input-frame pixels. */
  boxes: { data: Float64Array; shape: [number, 4] };
  /** (P, N, 2) input-frame coordinates and (P, N) labels, for `prompt: 'point'`. */
  points?: { coords: { data: Float64Array; shape: [number, number, 2] }; labels: { data: Int32Array; shape: [number, number] } };
  /** (P, 1, 4g, 4g) 0/1 targets aligned with the low-res logits. */
  targets: { data: Float32Array; shape: [number, number, number, number] };
  /** P masks at their image's original size (H_i · W_i), for evaluation after post-processing. */
  fullTargets: Uint8Array[];
  /** For each prompt: its image in the batch, its object index in the sample, and its label. */
  objects: Array<{ image: number; object: number; label: number }>;
  /** Names of samples left out for having no object. */
  skipped: string[];
}

/** Nearest resize of a (H, W) mask to (h, w) with centres aligned, written into a (side, side) plane. */
function resizeIntoPlane(mask: Uint8Array, H: number, W: number, h: number, w: number, plane: Float32Array, side: number): void {
  const rows = new Int32Array(h);
  const cols = new Int32Array(w);
  for (let y = 0; y < h; y++) rows[y] = Math.min(H - 1, Math.floor(((y + 0.5) * H) / h));
  for (let x = 0; x < w; x++) cols[x] = Math.min(W - 1, Math.floor(((x + 0.5) * W) / w));
  for (let y = 0; y < h; y++) {
    const src = rows[y]! * W;
    for (let x = 0; x < w; x++) plane[y * side + x] = mask[src + cols[x]!]!;
  }
}

/** The object indices an image contributes: K of its n objects, repeating in order when n < K. */
function chooseObjects(n: number, k: number, rng: SeededRng | undefined): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  if (n > k && rng) rng.shuffle(order);
  return Array.from({ length: k }, (_, j) => order[j % n]!);
}

/** Builds one batch; see the file comment for frames, targets and the prompts-per-image rule. */
export async function toSamBatch(samples: Sample[], config: SamConfig, options: BatchOptions = {}): Promise<SamBatch> {
  const { jitter = null, prompt = 'box', points = { positive: 1, negative: 0 }, rng } = options;
  const maxObjects = options.maxObjects ?? Infinity;
  if (!(maxObjects >= 1) || (maxObjects !== Infinity && !Number.isInteger(maxObjects)))
    throw new SamCobotError('ERR_ARGUMENT', `Expected a positive integer for maxObjects but received ${describe(maxObjects)}`);
  if (prompt !== 'box' && prompt !== 'point') throw new SamCobotError('ERR_ARGUMENT', `Expected 'box' or 'point' for prompt but received ${describe(prompt)}`);
  if ((jitter || prompt === 'point') && !rng) throw new SamCobotError('ERR_ARGUMENT', `Expected an rng for ${jitter ? 'jitter' : 'point prompts'} but received ${describe(rng)}`);

  const kept = samples.filter((s) => s.objects.length > 0);
  const skipped = samples.filter((s) => s.objects.length === 0).map((s) => s.name);

  const S = config.imgSize;
  const L = 4 * gridSize(config);
  const B = kept.length;
  const K = Math.min(maxObjects, Math.max(0, ...kept.map((s) => s.objects.length)));
  const P = B * K;
  const N = points.positive + points.negative;

  const images = new Float32Array(B * 3 * S * S);
  const inputSizes: Array<[number, number]> = [];
  const originalSizes: Array<[number, number]> = [];
  const preprocessed = await Promise.all(kept.map((s) => preprocessImage(s.image, config)));
  preprocessed.forEach(({ pixels, inputSize }, i) => {
    images.set(pixels, i * 3 * S * S);
    inputSizes.push(inputSize);
    originalSizes.push([kept[i]!.image.height, kept[i]!.image.width]);
  });

  const boxes = new Float64Array(P * 4);
  const coords = new Float64Array(P * N * 2);
  const labels = new Int32Array(P * N);
  const targets = new Float32Array(P * L * L);
  const fullTargets: Uint8Array[] = [];
  const objects: SamBatch['objects'] = [];
  for (let i = 0; i < B; i++) {
    const sample = kept[i]!;
    const { width: W, height: H } = sample.image;
    const [h, w] = inputSizes[i]!;
    const sx = w / W;
    const sy = h / H;
    const [hl, wl] = preprocessShape(H, W, L);
    for (const [j, o] of chooseObjects(sample.objects.length, K, rng).entries()) {
      const p = i * K + j;
      const object = sample.objects[o]!;
      const box = boxFromMask(object.mask, W, H);
      if (!box) throw new SamCobotError('ERR_ARGUMENT', `Expected a non-empty mask for object ${o} of ${sample.name} but received an empty one`);
      let scaled: Box = [box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy];
      if (jitter) scaled = jitterBox(scaled, { ...jitter, rng: rng!, unit: S / 1024, frame: [(W - 1) * sx + 1, (H - 1) * sy + 1] });
      boxes.set(scaled, 4 * p);
      if (prompt === 'point') {
        const sampled = samplePoints(object.mask, W, H, { ...points, rng: rng! });
        for (let n = 0; n < N; n++) {
          const valid = sampled.labels[n]! >= 0;
          coords[2 * (p * N + n)] = valid ? sampled.coords[2 * n]! * sx : 0;
          coords[2 * (p * N + n) + 1] = valid ? sampled.coords[2 * n + 1]! * sy : 0;
        }
        labels.set(sampled.labels, p * N);
      }
      resizeIntoPlane(object.mask, H, W, hl, wl, targets.subarray(p * L * L, (p + 1) * L * L), L);
      fullTargets.push(object.mask);
      objects.push({ image: i, object: o, label: object.label });
    }
  }

  return {
    names: kept.map((s) => s.name),
    images,
    imageShape: [B, 3, S, S],
    inputSizes,
    originalSizes,
    objectsPerImage: K,
    boxes: { data: boxes, shape: [P, 4] },
    points: prompt === 'point' ? { coords: { data: coords, shape: [P, N, 2] }, labels: { data: labels, shape: [P, N] } } : undefined,
    targets: { data: targets, shape: [P, 1, L, L] },
    fullTargets,
    objects,
    skipped,
  };
}
