/**
 * What bench/encoder-forward and bench/encoder-train share: the configs, the random weights every
 * side loads (generated once by us, seeded, cached as safetensors under the system temp folder),
 * the input image and output gradient, the FLOP count of a forward pass, and the comparison of
 * outputs between sides.
 *
 * Weights are drawn at scales that keep activations O(1) through a deep encoder, so that the
 * outputs compared between sides are not dominated by saturation or cancellation: matrices and
 * convolutions N(0, 1/fan_in), LayerNorm scales N(1, 0.1²), biases, positional embeddings and
 * rel-pos tables N(0, 0.02²).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor, writeSafetensors } from '../../lib/index.js';
import { Sam } from '../../lib/nn/sam.js';
import { gridSize, resolveSamConfig, type SamConfig } from '../../lib/nn/sam-config.js';

/** The repository root (this file runs from dist/bench/encoder/). */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export const configNames = ['tiny', 'small', 'vit_b'] as const;
export type ConfigName = (typeof configNames)[number];

/** The command-line options both encoder benches take: --quick, --configs a,b, --threads N. */
export function benchOptions(args: string[]): { quick: boolean; threads: number; configs: ConfigName[]; option: (name: string) => string | undefined } {
  const option = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const configs = (option('--configs')?.split(',') ?? [...configNames]) as ConfigName[];
  for (const c of configs) if (!configNames.includes(c)) throw new Error(`unknown config ${c} (configs: ${configNames.join(', ')})`);
  return { quick: args.includes('--quick'), threads: Number(option('--threads') ?? availableParallelism()), configs, option };
}

/** Bump when the weight generator changes, so cached files are not reused. */
const generatorVersion = 1;
const seed = 20240610;

/** tiny and small are the golden configs (test/golden/<name>/config.json); vit_b is the official preset. */
export function benchConfig(name: ConfigName): SamConfig {
  if (name === 'vit_b') return resolveSamConfig('vit_b');
  return resolveSamConfig(JSON.parse(readFileSync(join(root, 'test', 'golden', name, 'config.json'), 'utf8')));
}

/** The official ImageEncoderViT build arguments (snake_case, as the Python peer reads them). */
export function officialEncoderArgs(config: SamConfig): Record<string, unknown> {
  return {
    img_size: config.imgSize,
    patch_size: config.patchSize,
    embed_dim: config.embedDim,
    depth: config.depth,
    num_heads: config.numHeads,
    mlp_ratio: config.mlpRatio,
    out_chans: config.outChans,
    window_size: config.windowSize,
    global_attn_indexes: config.globalAttnIndexes,
    encoder_layernorm_eps: config.encoderLayerNormEps,
  };
}

export interface BenchFiles {
  dir: string;
  /** Every encoder parameter under its official key (`image_encoder.*`). */
  weights: string;
  /** `image` (1, 3, S, S) and `dy` (1, C, g, g). */
  input: string;
  /** The encoder as ONNX (written by the Python peer on first use). */
  onnx: string;
}

function scaleOf(name: string, shape: number[]): { mean: number; std: number } {
  if (shape.length >= 2 && name.endsWith('.weight')) return { mean: 0, std: 1 / Math.sqrt(shape.slice(1).reduce((a, b) => a * b, 1)) };
  if (name.endsWith('.weight')) return { mean: 1, std: 0.1 }; // LayerNorm scale
  return { mean: 0, std: 0.02 }; // biases, pos_embed, rel_pos_h/w
}

/** The cached files for a config, generated on first use. */
export async function benchFiles(name: ConfigName): Promise<BenchFiles> {
  const dir = join(tmpdir(), 'sam-cobot-bench', `encoder-${name}-seed${seed}-v${generatorVersion}`);
  const files: BenchFiles = { dir, weights: join(dir, 'weights.safetensors'), input: join(dir, 'input.safetensors'), onnx: join(dir, 'encoder.onnx') };
  if (existsSync(files.weights) && existsSync(files.input)) return files;
  mkdirSync(dir, { recursive: true });
  const config = benchConfig(name);
  const sam = new Sam(config);
  const weights = new Map<string, Tensor>();
  let index = 0;
  for (const [key, p] of sam.imageEncoder.namedParameters({ buffers: true })) weights.set(key, Tensor.randn(p.shape, { seed: seed + index++, ...scaleOf(key, p.shape) }));
  await writeSafetensors(files.weights, weights, { generator: `bench/encoder/setup.ts v${generatorVersion}`, seed: String(seed) });
  for (const t of weights.values()) t.dispose();
  const S = config.imgSize;
  const g = gridSize(config);
  const image = Tensor.randn([1, 3, S, S], { seed: seed - 1 }); // (1, 3, S, S), preprocessed pixels are about N(0, 1)
  const dy = Tensor.randn([1, config.outChans, g, g], { seed: seed - 2 }); // (1, C, g, g)
  await writeSafetensors(files.input, { image, dy });
  image.dispose();
  dy.dispose();
  return files;
}

/**
 * Multiply-adds x 2 of one encoder forward at batch 1, counted as the official code computes:
 * windowed blocks run qkv, attention and proj on the zero-padded grid, and the rel-pos bias is two
 * small products per query.
 */
export function forwardFlops(config: SamConfig): number {
  const D = config.embedDim;
  const g = gridSize(config);
  const N = g * g;
  const C = config.outChans;
  let flops = 2 * N * D * config.inChans * config.patchSize ** 2;
  for (let i = 0; i < config.depth; i++) {
    const global = config.globalAttnIndexes.includes(i);
    const side = global ? g : config.windowSize;
    const padded = global ? N : (Math.ceil(g / side) * side) ** 2;
    const perWindow = side * side;
    flops += 2 * padded * D * 4 * D; // qkv (3D) and proj (D)
    flops += 4 * padded * perWindow * D; // QKᵀ and AV, all heads together
    flops += 2 * padded * 2 * side * D; // rel-pos: q against the H and W tables
    flops += 2 * N * D * Math.trunc(D * config.mlpRatio) * 2; // MLP
  }
  flops += 2 * N * D * C + 2 * N * C * C * 9; // neck
  return flops;
}

/** Largest |a − b| over the largest |b| (b is the reference). */
export function relativeDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`outputs differ in length: ${a.length} and ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / (scale || 1);
}

/** A raw little-endian f32 file (what every side writes its output to). */
export function readF32(path: string): Float32Array {
  const bytes = readFileSync(path);
  // A copy: the Buffer may sit at an offset of a shared pool that is not 4-byte aligned.
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

export const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
