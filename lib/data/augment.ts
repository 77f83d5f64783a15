/**
 * Training augmentation (cobot-method.md §6, remote path): flips, rotation, random resized crop and
 * brightness/contrast, each with its own probability, applied to the image and every object mask.
 *
 * The geometric steps (flip, then rotation, then crop, torchvision's order) compose into one affine
 * map from output pixels back to source pixels, and each array is resampled once through it: the
 * image bilinearly, the masks by nearest neighbour from one shared index map, so masks stay exact
 * 0/1 and every mask moves exactly as the image does. Flips land on pixel centres and are exact.
 * Pixels from outside the source are black in the image and 0 in the masks; objects that leave the
 * frame entirely are dropped. Prompts are drawn from the augmented masks (lib/data/batch.ts), so
 * they agree with the pixels; `mapPoint` carries any other source coordinate through a plan.
 */
import { SamCobotError, describe } from '../errors.js';
import type { SeededRng } from './rng.js';
import type { Sample } from './sample.js';

export interface AugmentOptions {
  /** Probability of a horizontal flip. */
  hflip?: number;
  /** Probability of a vertical flip. */
  vflip?: number;
  /** With probability p, a rotation about the centre by U(-degrees, degrees). */
  rotation?: { p: number; degrees: number };
  /** With probability p, torchvision's RandomResizedCrop (area fraction `scale`, aspect `ratio`, default [3/4, 4/3]) back to the same size. */
  crop?: { p: number; scale: [number, number]; ratio?: [number, number] };
  /** With probability p, ColorJitter: brightness factor U(1 ± brightness), then contrast factor U(1 ± contrast). */
  colour?: { p: number; brightness: number; contrast: number };
}

/** The sonar recipe of cobot-method.md §6: hflip, rotation ±30°, crop scale 0.6–1, brightness and contrast 0.2. */
export const SONAR_AUGMENTATION: AugmentOptions = {
  hflip: 0.5,
  rotation: { p: 1, degrees: 30 },
  crop: { p: 1, scale: [0.6, 1] },
  colour: { p: 1, brightness: 0.2, contrast: 0.2 },
};

/** Row-major 2×3 affine [a, b, c, d, e, f]: (x, y) → (a x + b y + c, d x + e y + f). */
export type Affine = [number, number, number, number, number, number];

/** What one call drew: the output → source map (null: no geometric change) and the colour factors. */
export interface AugmentPlan {
  width: number;
  height: number;
  inverse: Affine | null;
  brightness: number;
  contrast: number;
}

function compose(outer: Affine, inner: Affine): Affine {
  const [a, b, c, d, e, f] = outer;
  const [g, h, i, j, k, l] = inner;
  return [a * g + b * j, a * h + b * k, a * i + b * l + c, d * g + e * j, d * h + e * k, d * i + e * l + f];
}

function probability(value: unknown, name: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new SamCobotError('ERR_ARGUMENT', `Expected a probability in [0, 1] for ${name} but received ${describe(value)}`);
  return value;
}

/** torchvision RandomResizedCrop.get_params: (x0, y0, w, h) of the crop. */
function cropParams(width: number, height: number, scale: [number, number], ratio: [number, number], rng: SeededRng): [number, number, number, number] {
  const area = width * height;
  const logRatio = [Math.log(ratio[0]), Math.log(ratio[1])] as const;
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logRatio[0], logRatio[1]));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) return [rng.int(0, width - w), rng.int(0, height - h), w, h];
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = Math.round(w / ratio[0]);
  else if (inRatio > ratio[1]) w = Math.round(h * ratio[1]);
  return [Math.floor((width - w) / 2), Math.floor((height - h) / 2), w, h];
}

/** Draws one augmentation for a width × height image. */
export function planAugmentation(options: AugmentOptions, rng: SeededRng, width: number, height: number): AugmentPlan {
  const pH = probability(options.hflip, 'hflip');
  const pV = probability(options.vflip, 'vflip');
  const pR = probability(options.rotation?.p, 'rotation.p');
  const pC = probability(options.crop?.p, 'crop.p');
  const pJ = probability(options.colour?.p, 'colour.p');
  let inverse: Affine | null = null;
  const then = (step: Affine): void => {
    inverse = inverse ? compose(inverse, step) : step;
  };
  if (rng.bernoulli(pH)) then([-1, 0, width - 1, 0, 1, 0]);
  if (rng.bernoulli(pV)) then([1, 0, 0, 0, -1, height - 1]);
  if (rng.bernoulli(pR)) {
    const degrees = options.rotation!.degrees;
    if (!(degrees >= 0)) throw new SamCobotError('ERR_ARGUMENT', `Expected a non-negative angle for rotation.degrees but received ${describe(degrees)}`);
    const theta = (rng.uniform(-degrees, degrees) * Math.PI) / 180;
    const cos = Math.cos(theta);
    const sin = Math.sin(theta);
    const cx = (width - 1) / 2;
    const cy = (height - 1) / 2;
    then([cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy]);
  }
  if (rng.bernoulli(pC)) {
    const { scale, ratio = [3 / 4, 4 / 3] } = options.crop!;
    if (!(scale[0] > 0 && scale[0] <= scale[1] && scale[1] <= 1) || !(ratio[0] > 0 && ratio[0] <= ratio[1]))
      throw new SamCobotError('ERR_ARGUMENT', `Expected 0 < scale[0] <= scale[1] <= 1 and 0 < ratio[0] <= ratio[1] for crop but received ${describe(scale)} and ${describe(ratio)}`);
    const [x0, y0, w, h] = cropParams(width, height, scale, ratio, rng);
    // Pixel centres: output x covers source x0 + (x + 0.5) w / W - 0.5.
    const sx = w / width;
    const sy = h / height;
    then([sx, 0, x0 + 0.5 * sx - 0.5, 0, sy, y0 + 0.5 * sy - 0.5]);
  }
  let brightness = 1;
  let contrast = 1;
  if (rng.bernoulli(pJ)) {
    const { brightness: b, contrast: c } = options.colour!;
    if (!(b >= 0) || !(c >= 0)) throw new SamCobotError('ERR_ARGUMENT', `Expected non-negative brightness and contrast for colour but received ${describe(b)} and ${describe(c)}`);
    brightness = rng.uniform(Math.max(0, 1 - b), 1 + b);
    contrast = rng.uniform(Math.max(0, 1 - c), 1 + c);
  }
  return { width, height, inverse, brightness, contrast };
}

/** Where source pixel (x, y) lands in the augmented image. */
export function mapPoint(plan: AugmentPlan, x: number, y: number): [number, number] {
  if (!plan.inverse) return [x, y];
  const [a, b, c, d, e, f] = plan.inverse;
  const det = a * e - b * d;
  const u = x - c;
  const v = y - f;
  return [(e * u - b * v) / det, (a * v - d * u) / det];
}

/** Bilinear RGB resampling through `inverse`; source pixels cover [-0.5, size - 0.5), outside is black. */
function warpImage(src: Uint8Array, width: number, height: number, inverse: Affine): Uint8Array {
  const [a, b, c, d, e, f] = inverse;
  const out = new Uint8Array(src.length);
  const maxX = width - 1;
  const maxY = height - 1;
  for (let y = 0; y < height; y++) {
    // Source coordinates advance by (a, d) per output pixel along a row.
    let xs = b * y + c;
    let ys = e * y + f;
    for (let x = 0; x < width; x++, xs += a, ys += d) {
      if (xs < -0.5 || ys < -0.5 || xs >= width - 0.5 || ys >= height - 0.5) continue;
      const cx = xs < 0 ? 0 : xs > maxX ? maxX : xs;
      const cy = ys < 0 ? 0 : ys > maxY ? maxY : ys;
      const x0 = cx | 0;
      const y0 = cy | 0;
      const fx = cx - x0;
      const fy = cy - y0;
      const p00 = 3 * (y0 * width + x0);
      const dx = x0 < maxX ? 3 : 0;
      const dy = y0 < maxY ? 3 * width : 0;
      const o = 3 * (y * width + x);
      for (let ch = 0; ch < 3; ch++) {
        const q = p00 + ch;
        const top = src[q]! + (src[q + dx]! - src[q]!) * fx;
        const bottom = src[q + dy]! + (src[q + dy + dx]! - src[q + dy]!) * fx;
        out[o + ch] = Math.round(top + (bottom - top) * fy);
      }
    }
  }
  return out;
}

/** For each output pixel, its nearest source pixel, or -1 outside the source. */
function nearestIndexMap(width: number, height: number, inverse: Affine): Int32Array {
  const [a, b, c, d, e, f] = inverse;
  const map = new Int32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const xs = Math.floor(a * x + b * y + c + 0.5);
      const ys = Math.floor(d * x + e * y + f + 0.5);
      map[y * width + x] = xs >= 0 && ys >= 0 && xs < width && ys < height ? ys * width + xs : -1;
    }
  }
  return map;
}

/**
 * Brightness (scale, clamped), then contrast (blend with the mean luma), as torchvision's
 * ColorJitter does. Both are functions of the byte value, so they run as 256-entry tables.
 */
function adjustColour(pixels: Uint8Array, brightness: number, contrast: number): Uint8Array {
  const bright = new Float64Array(256);
  for (let v = 0; v < 256; v++) bright[v] = Math.min(255, v * brightness);
  let luma = 0;
  for (let i = 0; i < pixels.length; i += 3) luma += 0.299 * bright[pixels[i]!]! + 0.587 * bright[pixels[i + 1]!]! + 0.114 * bright[pixels[i + 2]!]!;
  const mean = luma / (pixels.length / 3);
  const table = new Uint8Array(256);
  for (let v = 0; v < 256; v++) table[v] = Math.min(255, Math.max(0, Math.round(contrast * bright[v]! + (1 - contrast) * mean)));
  const out = new Uint8Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = table[pixels[i]!]!;
  return out;
}

/** Applies a plan drawn by {@link planAugmentation} for the sample's size. */
export function applyAugmentation(sample: Sample, plan: AugmentPlan): Sample {
  const { width, height } = sample.image;
  if (plan.width !== width || plan.height !== height)
    throw new SamCobotError('ERR_SHAPE', `Expected a plan for ${width}x${height} for augmentation of ${sample.name} but received ${plan.width}x${plan.height}`);
  let pixels = sample.image.data;
  let objects = sample.objects;
  if (plan.inverse) {
    pixels = warpImage(pixels, width, height, plan.inverse);
    const map = nearestIndexMap(width, height, plan.inverse);
    objects = [];
    for (const object of sample.objects) {
      const mask = new Uint8Array(width * height);
      let count = 0;
      for (let i = 0; i < map.length; i++) {
        const s = map[i]!;
        if (s >= 0 && object.mask[s]) {
          mask[i] = 1;
          count++;
        }
      }
      if (count > 0) objects.push({ mask, label: object.label });
    }
  }
  if (plan.brightness !== 1 || plan.contrast !== 1) pixels = adjustColour(pixels, plan.brightness, plan.contrast);
  return { ...sample, image: { data: pixels, width, height }, objects };
}

/** Draws and applies one augmentation; the sample is not modified (unchanged arrays may be shared). */
export function augment(sample: Sample, options: AugmentOptions, rng: SeededRng): Sample {
  return applyAugmentation(sample, planAugmentation(options, rng, sample.image.width, sample.image.height));
}
