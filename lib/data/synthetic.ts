/**
 * Generated segmentation data with exact masks, for tests and the demo: ellipses, star-shaped
 * polygons and smooth blobs on a background, deterministic in the seed.
 *
 * Two domains, and a difficulty in [0, 1] within each:
 * - 'shapes': plain-coloured objects on smooth gradient backgrounds, where a small SAM is
 *   pretrained. The object/background colour distance falls from 120 to 8 as difficulty rises,
 *   while the background's texture grows.
 * - 'camouflage': the object is filled with the background's own procedural texture (a sum of
 *   plane waves) at shifted phases, plus a colour offset of 40 · (1 − difficulty): at difficulty 1
 *   only the texture's discontinuity at the border gives the object away.
 * Pixel noise (standard deviation 3 + 5 · difficulty) is triangular, one 32-bit draw per value,
 * which keeps a 1024² image at about half a second.
 *
 * A pixel belongs to an object when its centre is inside the shape, and the image is painted from
 * the same masks, so masks are exact by construction. Objects do not overlap and stay inside the
 * frame, so each mask's pixel count approximates its shape's analytic `area`. Layout, appearance
 * and noise come from separate forks of the seed: changing the difficulty changes colours only.
 */
import { SamCobotError, describe } from '../errors.js';
import { SeededRng } from './rng.js';
import type { Dataset, Sample, SampleObject } from './sample.js';

export type SyntheticDomain = 'shapes' | 'camouflage';

export interface SyntheticOptions {
  /** Number of samples. */
  n: number;
  /** Image side, or [width, height]. */
  size: number | [number, number];
  /** 0 (easy) to 1 (hard); default 0. */
  difficulty?: number;
  /** Default 0. */
  seed?: number;
  /** Default 'shapes'. */
  domain?: SyntheticDomain;
  /** [min, max] objects per image (default [1, 3]); fewer when they cannot be placed apart. */
  objects?: [number, number];
}

/** The analytic shape behind a mask; labels: ellipse 1, polygon 2, blob 3. */
export type SyntheticShape =
  | { kind: 'ellipse'; cx: number; cy: number; rx: number; ry: number; angle: number; area: number }
  | { kind: 'polygon'; cx: number; cy: number; vertices: Array<[number, number]>; area: number }
  | { kind: 'blob'; cx: number; cy: number; radius: number; harmonics: Array<{ k: number; amplitude: number; phase: number }>; area: number };

export interface SyntheticObject extends SampleObject {
  shape: SyntheticShape;
}

export interface SyntheticSample extends Sample {
  objects: SyntheticObject[];
}

const LABELS = { ellipse: 1, polygon: 2, blob: 3 } as const;
const BLOB_BASE = 0.65;

function randomShape(kind: SyntheticShape['kind'], cx: number, cy: number, radius: number, rng: SeededRng): SyntheticShape {
  if (kind === 'ellipse') {
    const rx = radius * rng.uniform(0.5, 1);
    const ry = radius * rng.uniform(0.5, 1);
    return { kind, cx, cy, rx, ry, angle: rng.uniform(0, Math.PI), area: Math.PI * rx * ry };
  }
  if (kind === 'polygon') {
    // Angles one sector apart (jittered within it), so the polygon is never a sliver.
    const count = rng.int(3, 7);
    const sector = (2 * Math.PI) / count;
    const start = rng.uniform(0, sector);
    const angles = Array.from({ length: count }, (_, k) => start + sector * (k + rng.uniform(-0.3, 0.3)));
    const vertices = angles.map((t): [number, number] => {
      const r = radius * rng.uniform(0.5, 1);
      return [cx + r * Math.cos(t), cy + r * Math.sin(t)];
    });
    let twice = 0;
    for (let i = 0; i < count; i++) {
      const [x0, y0] = vertices[i]!;
      const [x1, y1] = vertices[(i + 1) % count]!;
      twice += x0 * y1 - x1 * y0;
    }
    return { kind, cx, cy, vertices, area: Math.abs(twice) / 2 };
  }
  // r(θ) = R (0.65 + Σ a_k cos(kθ + φ_k)), Σ |a_k| <= 0.3: area = π R² (0.65² + Σ a_k² / 2).
  const harmonics = [2, 3, 4].map((k) => ({ k, amplitude: rng.uniform(-0.1, 0.1), phase: rng.uniform(0, 2 * Math.PI) }));
  const area = Math.PI * radius * radius * (BLOB_BASE * BLOB_BASE + harmonics.reduce((s, h) => s + (h.amplitude * h.amplitude) / 2, 0));
  return { kind, cx, cy, radius, harmonics, area };
}

function contains(shape: SyntheticShape, x: number, y: number): boolean {
  const dx = x - shape.cx;
  const dy = y - shape.cy;
  if (shape.kind === 'ellipse') {
    const c = Math.cos(shape.angle);
    const s = Math.sin(shape.angle);
    const u = (dx * c + dy * s) / shape.rx;
    const v = (-dx * s + dy * c) / shape.ry;
    return u * u + v * v <= 1;
  }
  if (shape.kind === 'polygon') {
    let inside = false;
    const vs = shape.vertices;
    for (let i = 0, j = vs.length - 1; i < vs.length; j = i++) {
      const [xi, yi] = vs[i]!;
      const [xj, yj] = vs[j]!;
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }
  const theta = Math.atan2(dy, dx);
  let r = BLOB_BASE;
  for (const h of shape.harmonics) r += h.amplitude * Math.cos(h.k * theta + h.phase);
  return Math.hypot(dx, dy) <= shape.radius * r;
}

/** Non-overlapping shapes inside the frame, each with its exact mask. */
function layout(width: number, height: number, range: [number, number], rng: SeededRng): SyntheticObject[] {
  const wanted = rng.int(range[0], range[1]);
  const side = Math.min(width, height);
  const placed: Array<{ cx: number; cy: number; radius: number }> = [];
  const objects: SyntheticObject[] = [];
  const kinds = ['ellipse', 'polygon', 'blob'] as const;
  for (let n = 0; n < wanted; n++) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const radius = side * rng.uniform(0.08, 0.22);
      const cx = rng.uniform(radius + 1, width - radius - 2);
      const cy = rng.uniform(radius + 1, height - radius - 2);
      if (placed.some((p) => Math.hypot(p.cx - cx, p.cy - cy) < p.radius + radius + 2)) continue;
      placed.push({ cx, cy, radius });
      const shape = randomShape(kinds[rng.int(0, 2)]!, cx, cy, radius, rng);
      const mask = new Uint8Array(width * height);
      for (let y = Math.max(0, Math.floor(cy - radius)); y <= Math.min(height - 1, Math.ceil(cy + radius)); y++)
        for (let x = Math.max(0, Math.floor(cx - radius)); x <= Math.min(width - 1, Math.ceil(cx + radius)); x++)
          if (contains(shape, x, y)) mask[y * width + x] = 1;
      objects.push({ mask, label: LABELS[shape.kind], shape });
      break;
    }
  }
  return objects;
}

/** A sum of four plane waves, normalised to [-1, 1]; `shift` offsets every phase. */
class Texture {
  private readonly waves: Array<{ fx: number; fy: number; phase: number; amplitude: number; shift: number }>;
  private readonly norm: number;

  constructor(rng: SeededRng) {
    this.waves = Array.from({ length: 4 }, () => {
      const direction = rng.uniform(0, Math.PI);
      const frequency = (2 * Math.PI) / rng.uniform(6, 40);
      return { fx: frequency * Math.cos(direction), fy: frequency * Math.sin(direction), phase: rng.uniform(0, 2 * Math.PI), amplitude: rng.uniform(0.5, 1), shift: rng.uniform(0.5 * Math.PI, 1.5 * Math.PI) };
    });
    this.norm = this.waves.reduce((s, w) => s + w.amplitude, 0);
  }

  at(x: number, y: number, shifted: boolean): number {
    let v = 0;
    for (const w of this.waves) v += w.amplitude * Math.sin(w.fx * x + w.fy * y + w.phase + (shifted ? w.shift : 0));
    return v / this.norm;
  }
}

function randomColour(rng: SeededRng, lo: number, hi: number): [number, number, number] {
  return [rng.uniform(lo, hi), rng.uniform(lo, hi), rng.uniform(lo, hi)];
}

function unitVector(rng: SeededRng): [number, number, number] {
  const v = [rng.normal(), rng.normal(), rng.normal()];
  const n = Math.hypot(v[0]!, v[1]!, v[2]!) || 1;
  return [v[0]! / n, v[1]! / n, v[2]! / n];
}

/** Sensor noise of unit variance from one 32-bit draw: the sum of two uniform 16-bit halves (triangular). */
function triangular(rng: SeededRng): number {
  const n = rng.next();
  return ((n & 0xffff) + (n >>> 16) - 65535) * (Math.sqrt(6) / 65535);
}

/** Paints the image from the masks: background everywhere, then each object over its mask. */
function paint(width: number, height: number, objects: SyntheticObject[], domain: SyntheticDomain, difficulty: number, rng: SeededRng, noiseRng: SeededRng): Uint8Array {
  const texture = new Texture(rng);
  const base = randomColour(rng, 60, 190);
  const far = randomColour(rng, 60, 190);
  const tint = unitVector(rng);
  const direction = rng.uniform(0, 2 * Math.PI);
  const offsets = objects.map(() => unitVector(rng));

  const camouflage = domain === 'camouflage';
  const textureAmplitude = camouflage ? 45 : 6 + 30 * difficulty;
  const offset = camouflage ? 40 * (1 - difficulty) : 120 - 112 * difficulty;
  const noise = 3 + 5 * difficulty;
  // The smooth part: a linear ramp from `base` to `far` across the frame (flat for camouflage).
  const span = Math.abs(width * Math.cos(direction)) + Math.abs(height * Math.sin(direction));
  const gx = camouflage ? 0 : Math.cos(direction) / span;
  const gy = camouflage ? 0 : Math.sin(direction) / span;
  const ramp = (x: number, y: number): number => 0.5 + (x - width / 2) * gx + (y - height / 2) * gy;
  const smooth = (t: number, c: number): number => base[c]! + (far[c]! - base[c]!) * t;

  // Each object's colour shift, pointed away from the 0..255 edges of its local background.
  const owner = new Int16Array(width * height).fill(-1);
  const shifts = objects.map((object, k) => {
    const mask = object.mask;
    for (let i = 0; i < mask.length; i++) if (mask[i]) owner[i] = k;
    const t = ramp(object.shape.cx, object.shape.cy);
    const d = offsets[k]!;
    const fits = [0, 1, 2].every((c) => smooth(t, c) + d[c]! * offset >= 0 && smooth(t, c) + d[c]! * offset <= 255);
    return [0, 1, 2].map((c) => (fits ? 1 : -1) * d[c]! * offset);
  });

  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const k = owner[i]!;
      // Plain objects keep the ramp value at their centre and only a faint shading.
      const t = k >= 0 && !camouflage ? ramp(objects[k]!.shape.cx, objects[k]!.shape.cy) : ramp(x, y);
      const wave = texture.at(x, y, k >= 0) * (k >= 0 && !camouflage ? 4 : textureAmplitude);
      for (let c = 0; c < 3; c++) {
        const v = smooth(t, c) + wave * tint[c]! + (k >= 0 ? shifts[k]![c]! : 0) + noise * triangular(noiseRng);
        pixels[3 * i + c] = Math.min(255, Math.max(0, Math.round(v)));
      }
    }
  }
  return pixels;
}

function checkOptions(options: SyntheticOptions): Required<SyntheticOptions> & { width: number; height: number } {
  const [width, height] = typeof options.size === 'number' ? [options.size, options.size] : options.size ?? [];
  if (!Number.isInteger(width) || !Number.isInteger(height) || width! < 16 || height! < 16)
    throw new SamCobotError('ERR_ARGUMENT', `Expected a size of at least 16 pixels (a number or [width, height]) for size but received ${describe(options.size)}`);
  if (!Number.isInteger(options.n) || options.n < 0) throw new SamCobotError('ERR_ARGUMENT', `Expected a non-negative integer for n but received ${describe(options.n)}`);
  const difficulty = options.difficulty ?? 0;
  if (!(difficulty >= 0 && difficulty <= 1)) throw new SamCobotError('ERR_ARGUMENT', `Expected a difficulty in [0, 1] for difficulty but received ${describe(difficulty)}`);
  const domain = options.domain ?? 'shapes';
  if (domain !== 'shapes' && domain !== 'camouflage') throw new SamCobotError('ERR_ARGUMENT', `Expected 'shapes' or 'camouflage' for domain but received ${describe(domain)}`);
  const objects = options.objects ?? [1, 3];
  if (!Array.isArray(objects) || !Number.isInteger(objects[0]) || !Number.isInteger(objects[1]) || objects[0] < 0 || objects[1] < objects[0])
    throw new SamCobotError('ERR_ARGUMENT', `Expected [min, max] integers with 0 <= min <= max for objects but received ${describe(objects)}`);
  return { n: options.n, size: options.size, difficulty, seed: options.seed ?? 0, domain, objects, width: width!, height: height! };
}

function sampleName(domain: SyntheticDomain, index: number): string {
  return `${domain}-${String(index).padStart(5, '0')}`;
}

/** Sample `index` of the dataset these options describe (the same pixels for the same options). */
export function syntheticSample(options: SyntheticOptions, index: number): SyntheticSample {
  const o = checkOptions(options);
  const root = new SeededRng(o.seed).fork(index);
  const objects = layout(o.width, o.height, o.objects, root.fork('layout'));
  const data = paint(o.width, o.height, objects, o.domain, o.difficulty, root.fork('appearance'), root.fork('noise'));
  return { name: sampleName(o.domain, index), image: { data, width: o.width, height: o.height }, objects };
}

/** An in-memory dataset of `n` generated samples; each is generated when asked for. */
export function syntheticDataset(options: SyntheticOptions): Dataset {
  const o = checkOptions(options);
  const names = Array.from({ length: o.n }, (_, i) => sampleName(o.domain, i));
  return {
    length: o.n,
    names,
    get: async (index: number) => {
      if (!Number.isInteger(index) || index < 0 || index >= o.n) throw new SamCobotError('ERR_ARGUMENT', `Expected an index in [0, ${o.n}) for get but received ${describe(index)}`);
      return syntheticSample(o, index);
    },
  };
}
