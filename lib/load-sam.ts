/**
 * loadSam: builds a SAM from a checkpoint (safetensors with official or Hugging Face names, or an
 * official PyTorch .pth read without running code) and a config (preset, object, config.json
 * beside the file, or inferred from the tensor shapes).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SamCobotError } from './errors.js';
import { resolveDevice, type DeviceRequest } from './device.js';
import { loadStateDict } from './io/checkpoint.js';
import { isHuggingFaceSam, isIgnorableKey, officialNameFromHuggingFace } from './io/key-maps.js';
import { Sam } from './nn/sam.js';
import { resolveSamConfig, type SamConfig, type SamConfigJson } from './nn/sam-config.js';
import type { Tensor } from './tensor.js';

export interface LoadSamOptions {
  /** A preset, the official build arguments (snake_case, as the golden config.json), or camelCase fields. Default: config.json beside the file, else inferred from the weights. */
  config?: 'vit_b' | 'vit_l' | 'vit_h' | SamConfigJson | Partial<SamConfig>;
  device?: DeviceRequest;
}

/** Reads a checkpoint and returns a ready SAM (eval mode, every parameter trainable until PEFT freezes some). */
export async function loadSam(path: string, options: LoadSamOptions = {}): Promise<Sam> {
  const device = resolveDevice(options.device ?? 'auto');
  const { tensors } = await loadStateDict(path, { device });
  const state = new Map<string, Tensor>();
  const huggingFace = isHuggingFaceSam(tensors.keys());
  for (const [key, t] of tensors) {
    const name = huggingFace ? officialNameFromHuggingFace(key) : key;
    if (isIgnorableKey(name) || state.has(name)) {
      t.dispose(); // tied duplicates (HF's two PE copies) and non-state buffers
      continue;
    }
    state.set(name, t);
  }
  try {
    const config = resolveSamConfig(options.config ?? configBeside(path) ?? inferConfig(state, path));
    const sam = new Sam(config);
    assign(sam, state, path);
    return sam.eval();
  } catch (error) {
    for (const t of state.values()) t.dispose();
    throw error;
  }
}

function configBeside(path: string): SamConfigJson | undefined {
  const file = join(dirname(path), 'config.json');
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SamConfigJson;
  } catch (error) {
    throw new SamCobotError('ERR_FILE', `Expected valid JSON for ${file} but received a parse error: ${(error as Error).message}`);
  }
}

function assign(sam: Sam, state: Map<string, Tensor>, path: string): void {
  const params = sam.parameterMap({ buffers: true });
  for (const [name, p] of params) {
    const t = state.get(name);
    if (!t) throw new SamCobotError('ERR_FILE', `Expected tensor ${name} of shape [${p.shape}] in ${path} but received nothing (missing key)`);
    const shape = t.shape;
    if (shape.length !== p.shape.length || shape.some((d, i) => d !== p.shape[i]))
      throw new SamCobotError('ERR_SHAPE', `Expected shape [${p.shape}] for ${name} in ${path} but received [${shape}] (does the config fit the weights?)`);
    if (t.dtype !== 'f32') throw new SamCobotError('ERR_DTYPE', `Expected f32 values for ${name} in ${path} but received ${t.dtype}`);
    p.value = t;
    state.delete(name);
  }
  const extra = [...state.keys()];
  if (extra.length)
    throw new SamCobotError('ERR_FILE', `Expected only SAM tensors in ${path} but received ${extra.length} unknown key(s): ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', ...' : ''}`);
}

function shapeOf(state: Map<string, Tensor>, key: string, path: string): number[] {
  const t = state.get(key);
  if (!t) throw new SamCobotError('ERR_FILE', `Expected tensor ${key} in ${path} to infer the config but received nothing (pass options.config)`);
  return t.shape;
}

function countIndexed(state: Map<string, Tensor>, prefix: string): number {
  let n = 0;
  while ([...state.keys()].some((k) => k.startsWith(`${prefix}.${n}.`))) n++;
  return n;
}

/**
 * The build arguments readable from the tensor shapes. Head counts are not visible in the weights:
 * the official 12/16/16 encoder heads follow from the head dim of the rel-pos tables, and the
 * decoder is assumed to have the official 8 heads (pass a config otherwise).
 */
function inferConfig(state: Map<string, Tensor>, path: string): Partial<SamConfig> {
  const [, g, , D] = shapeOf(state, 'image_encoder.pos_embed', path) as [number, number, number, number];
  const patch = shapeOf(state, 'image_encoder.patch_embed.proj.weight', path)[2]!;
  const depth = countIndexed(state, 'image_encoder.blocks');
  const headDim = shapeOf(state, 'image_encoder.blocks.0.attn.rel_pos_h', path)[1]!;
  const tableRows = Array.from({ length: depth }, (_, i) => shapeOf(state, `image_encoder.blocks.${i}.attn.rel_pos_h`, path)[0]!);
  const globalAttnIndexes = tableRows.flatMap((rows, i) => (rows === 2 * g - 1 ? [i] : []));
  const windowRows = tableRows.find((rows) => rows !== 2 * g - 1) ?? 27;
  const C = shapeOf(state, 'prompt_encoder.no_mask_embed.weight', path)[1]!;
  const layerPrefix = 'mask_decoder.transformer.layers';
  return {
    imgSize: g * patch,
    patchSize: patch,
    embedDim: D,
    depth,
    numHeads: D / headDim,
    mlpRatio: shapeOf(state, 'image_encoder.blocks.0.mlp.lin1.weight', path)[0]! / D,
    outChans: shapeOf(state, 'image_encoder.neck.0.weight', path)[0]!,
    windowSize: (windowRows + 1) / 2,
    globalAttnIndexes,
    promptEmbedDim: C,
    maskInChans: shapeOf(state, 'prompt_encoder.mask_downscaling.3.weight', path)[0]!,
    decoderDepth: countIndexed(state, layerPrefix),
    decoderMlpDim: shapeOf(state, `${layerPrefix}.0.mlp.lin1.weight`, path)[0]!,
    attentionDownsampleRate: C / shapeOf(state, `${layerPrefix}.0.cross_attn_token_to_image.q_proj.weight`, path)[0]!,
    iouHeadDepth: countIndexed(state, 'mask_decoder.iou_prediction_head.layers'),
    iouHeadHiddenDim: shapeOf(state, 'mask_decoder.iou_prediction_head.layers.0.weight', path)[0]!,
    numMultimaskOutputs: shapeOf(state, 'mask_decoder.mask_tokens.weight', path)[0]! - 1,
  };
}

/** Writes every parameter and buffer of `sam` under its official key (atomically), with the config as `config.json` beside it. */
export async function saveSam(sam: Sam, path: string): Promise<void> {
  const { writeSafetensors } = await import('./io/safetensors.js');
  const { writeFile, rename } = await import('node:fs/promises');
  const tensors = new Map<string, Tensor>();
  for (const [name, p] of sam.namedParameters({ buffers: true })) tensors.set(name, p.value);
  await writeSafetensors(path, tensors, { format: 'sam-cobot-sam', config: JSON.stringify(sam.config) });
  const configPath = join(dirname(path), 'config.json');
  await writeFile(`${configPath}.tmp-${process.pid}`, JSON.stringify(sam.config, null, 2) + '\n');
  await rename(`${configPath}.tmp-${process.pid}`, configPath);
}
