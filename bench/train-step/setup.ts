/**
 * The data of bench/train-step, generated once per config by us (seeded) and cached as safetensors
 * under the system temp folder, so both sides load the same numbers:
 *
 * - the image-encoder weights: bench/encoder's file (`image_encoder.*`, official names);
 * - `model.safetensors`: the prompt encoder and mask decoder (official names) and the COBOT
 *   AdaptFormer adapters as applyPeft names and initialises them (C and P once, under block 0),
 *   except `up_proj.weight`, drawn N(0, 0.1²/16) instead of the official zeros so that the
 *   adapters change the first step's loss and its agreement checks their forward too;
 * - `batch.safetensors`: `image` (2, 3, S, S) N(0, 1), `boxes` (8, 4) input-frame pixels, four
 *   per image, and `target` (8, 1, 4g, 4g), each the box's footprint on the low-res grid.
 *
 * Decoder and prompt-encoder scales follow the golden data's (test/golden/README.md): matrices
 * N(0, 1/fan_in), LayerNorm scales N(1, 0.1²), biases N(0, 0.1²), tokens and prompt embeddings
 * N(0, 0.5²), the Fourier matrix N(0, 1), so the decoder's activations stay O(1).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor, applyPeft, writeSafetensors } from '../../lib/index.js';
import { Sam } from '../../lib/nn/sam.js';
import { gridSize, type SamConfig } from '../../lib/nn/sam-config.js';
import { benchConfig, benchFiles, type ConfigName } from '../encoder/setup.js';

/** Bump when the generator changes, so cached files are not reused. */
const generatorVersion = 1;
const seed = 20240611;
export const IMAGES = 2;
export const BOXES_PER_IMAGE = 4;
/** The adapters' options on our side; the peer builds the same module (bottleneck 16, no dropout). */
export const PEFT = { host: 'adaptformer', cobot: true, dropout: 0, seed: 1 } as const;
/** Adam learning rates of the two groups: the golden "fast" trajectory's, so later losses move. */
export const LR = { fact: 1e-2, rest: 1e-3 };

export interface TrainStepFiles {
  /** Image-encoder weights (shared with bench/encoder). */
  encoder: string;
  /** Prompt encoder, mask decoder, adapters. */
  model: string;
  /** image, boxes, target. */
  batch: string;
}

function scaleOf(name: string, shape: number[]): { mean: number; std: number } {
  if (name.endsWith('positional_encoding_gaussian_matrix')) return { mean: 0, std: 1 };
  if (/(iou_token|mask_tokens|point_embeddings\.\d|not_a_point_embed|no_mask_embed)\.weight$/.test(name)) return { mean: 0, std: 0.5 };
  if (shape.length >= 2 && name.endsWith('.weight')) {
    // ConvTranspose2d weights are (in, out, k, k): their fan-in is in.
    const fanIn = name.includes('output_upscaling') && shape.length === 4 ? shape[0]! : shape.slice(1).reduce((a, b) => a * b, 1);
    return { mean: 0, std: 1 / Math.sqrt(fanIn) };
  }
  if (name.endsWith('.weight')) return { mean: 1, std: 0.1 };
  return { mean: 0, std: 0.1 };
}

/** A small seeded generator for the boxes (mulberry32). */
function uniform(state: { s: number }): number {
  let t = (state.s = (state.s + 0x6d2b79f5) >>> 0);
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

function batch(config: SamConfig): Record<string, Tensor> {
  const S = config.imgSize;
  const low = 4 * gridSize(config);
  const n = IMAGES * BOXES_PER_IMAGE;
  const rng = { s: seed };
  const boxes = new Float32Array(n * 4); // (n, 4) x0, y0, x1, y1
  const target = new Float32Array(n * low * low); // (n, 1, 4g, 4g)
  for (let b = 0; b < n; b++) {
    const w = S * (0.2 + 0.4 * uniform(rng));
    const h = S * (0.2 + 0.4 * uniform(rng));
    const x0 = (S - w) * uniform(rng);
    const y0 = (S - h) * uniform(rng);
    boxes.set([x0, y0, x0 + w, y0 + h], b * 4);
    const f = low / S;
    for (let y = 0; y < low; y++)
      for (let x = 0; x < low; x++) {
        const inside = (x + 0.5) / f >= x0 && (x + 0.5) / f <= x0 + w && (y + 0.5) / f >= y0 && (y + 0.5) / f <= y0 + h;
        target[(b * low + y) * low + x] = inside ? 1 : 0;
      }
  }
  return {
    image: Tensor.randn([IMAGES, 3, S, S], { seed: seed - 1 }),
    boxes: Tensor.fromArray(boxes, [n, 4]),
    target: Tensor.fromArray(target, [n, 1, low, low]),
  };
}

/** The cached files for a config, generated on first use. */
export async function trainStepFiles(name: ConfigName): Promise<TrainStepFiles> {
  const encoder = (await benchFiles(name)).weights;
  const dir = join(tmpdir(), 'sam-cobot-bench', `train-step-${name}-seed${seed}-v${generatorVersion}`);
  const files = { encoder, model: join(dir, 'model.safetensors'), batch: join(dir, 'batch.safetensors') };
  if (existsSync(files.model) && existsSync(files.batch)) return files;
  mkdirSync(dir, { recursive: true });
  const config = benchConfig(name);
  const sam = new Sam(config);
  applyPeft(sam, PEFT);
  const tensors = new Map<string, Tensor>();
  const drawn: Tensor[] = [];
  const draw = (shape: number[], scale: { mean?: number; std: number }): Tensor => {
    const t = Tensor.randn(shape, { seed: seed + drawn.length, ...scale });
    drawn.push(t);
    return t;
  };
  for (const module of [sam.promptEncoder, sam.maskDecoder])
    for (const [key, p] of module.namedParameters({ buffers: true })) tensors.set(key, draw(p.shape, scaleOf(key, p.shape)));
  for (const [key, p] of sam.imageEncoder.namedParameters()) {
    if (!p.loaded) continue; // the frozen encoder weights, in the encoder file
    tensors.set(key, key.endsWith('.up_proj.weight') ? draw(p.shape, { std: 0.1 / Math.sqrt(p.shape[1]!) }) : p.value);
  }
  const meta = { generator: `bench/train-step/setup.ts v${generatorVersion}`, seed: String(seed) };
  await writeSafetensors(files.model, tensors, meta);
  const inputs = batch(config);
  await writeSafetensors(files.batch, inputs, meta);
  for (const t of [...drawn, ...Object.values(inputs)]) t.dispose();
  sam.dispose();
  return files;
}
