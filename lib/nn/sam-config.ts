/**
 * SAM's build arguments: the presets of `build_sam.py` (vit_b, vit_l, vit_h) and the snake_case
 * objects of `../shared/golden/*\/config.json`, normalised to one typed config.
 */
import { SamCobotError } from '../errors.js';

export interface SamConfig {
  imgSize: number;
  patchSize: number;
  inChans: number;
  embedDim: number;
  depth: number;
  numHeads: number;
  mlpRatio: number;
  outChans: number;
  windowSize: number;
  globalAttnIndexes: number[];
  promptEmbedDim: number;
  maskInChans: number;
  decoderDepth: number;
  decoderMlpDim: number;
  decoderNumHeads: number;
  attentionDownsampleRate: number;
  iouHeadDepth: number;
  iouHeadHiddenDim: number;
  numMultimaskOutputs: number;
  encoderLayerNormEps: number;
  decoderLayerNormEps: number;
  layerNorm2dEps: number;
  pixelMean: [number, number, number];
  pixelStd: [number, number, number];
  maskThreshold: number;
}

/** The official build arguments as snake_case keys (the golden config.json form). */
export type SamConfigJson = Record<string, unknown>;

const common = {
  imgSize: 1024,
  patchSize: 16,
  inChans: 3,
  mlpRatio: 4,
  outChans: 256,
  windowSize: 14,
  promptEmbedDim: 256,
  maskInChans: 16,
  decoderDepth: 2,
  decoderMlpDim: 2048,
  decoderNumHeads: 8,
  attentionDownsampleRate: 2,
  iouHeadDepth: 3,
  iouHeadHiddenDim: 256,
  numMultimaskOutputs: 3,
  encoderLayerNormEps: 1e-6,
  decoderLayerNormEps: 1e-5,
  layerNorm2dEps: 1e-6,
  pixelMean: [123.675, 116.28, 103.53] as [number, number, number],
  pixelStd: [58.395, 57.12, 57.375] as [number, number, number],
  maskThreshold: 0,
};

export const SAM_PRESETS: Record<'vit_b' | 'vit_l' | 'vit_h', SamConfig> = {
  vit_b: { ...common, embedDim: 768, depth: 12, numHeads: 12, globalAttnIndexes: [2, 5, 8, 11] },
  vit_l: { ...common, embedDim: 1024, depth: 24, numHeads: 16, globalAttnIndexes: [5, 11, 17, 23] },
  vit_h: { ...common, embedDim: 1280, depth: 32, numHeads: 16, globalAttnIndexes: [7, 15, 23, 31] },
};

const keyMap: Record<string, keyof SamConfig> = {
  img_size: 'imgSize',
  patch_size: 'patchSize',
  in_chans: 'inChans',
  embed_dim: 'embedDim',
  depth: 'depth',
  num_heads: 'numHeads',
  mlp_ratio: 'mlpRatio',
  out_chans: 'outChans',
  window_size: 'windowSize',
  global_attn_indexes: 'globalAttnIndexes',
  prompt_embed_dim: 'promptEmbedDim',
  mask_in_chans: 'maskInChans',
  decoder_depth: 'decoderDepth',
  decoder_mlp_dim: 'decoderMlpDim',
  decoder_num_heads: 'decoderNumHeads',
  attention_downsample_rate: 'attentionDownsampleRate',
  iou_head_depth: 'iouHeadDepth',
  iou_head_hidden_dim: 'iouHeadHiddenDim',
  num_multimask_outputs: 'numMultimaskOutputs',
  encoder_layernorm_eps: 'encoderLayerNormEps',
  decoder_layernorm_eps: 'decoderLayerNormEps',
  layernorm2d_eps: 'layerNorm2dEps',
  pixel_mean: 'pixelMean',
  pixel_std: 'pixelStd',
  mask_threshold: 'maskThreshold',
};

function positiveInteger(config: SamConfig, key: keyof SamConfig): void {
  const v = config[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    throw new SamCobotError('ERR_ARGUMENT', `Expected a positive integer for config.${key} but received ${JSON.stringify(v)}`);
}

/**
 * A full config from a preset name, a snake_case object (keys as in the golden config.json;
 * unknown keys such as `seed` or `grid` are ignored), or a partial camelCase object over vit_b.
 */
export function resolveSamConfig(config: 'vit_b' | 'vit_l' | 'vit_h' | SamConfigJson | Partial<SamConfig>): SamConfig {
  if (typeof config === 'string') {
    const preset = SAM_PRESETS[config];
    if (!preset) throw new SamCobotError('ERR_ARGUMENT', `Expected 'vit_b', 'vit_l', 'vit_h' or a config object for config but received ${JSON.stringify(config)}`);
    return structuredClone(preset);
  }
  const out: SamConfig = structuredClone(SAM_PRESETS.vit_b);
  const target = out as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(config)) {
    const mapped = keyMap[key] ?? (key in out ? (key as keyof SamConfig) : undefined);
    if (mapped) target[mapped] = value;
  }
  for (const key of ['imgSize', 'patchSize', 'inChans', 'embedDim', 'depth', 'numHeads', 'outChans', 'promptEmbedDim', 'maskInChans', 'decoderDepth', 'decoderMlpDim', 'decoderNumHeads', 'attentionDownsampleRate', 'iouHeadDepth', 'iouHeadHiddenDim', 'numMultimaskOutputs'] as const)
    positiveInteger(out, key);
  if (out.embedDim % out.numHeads !== 0)
    throw new SamCobotError('ERR_ARGUMENT', `Expected embed_dim divisible by num_heads for config but received ${out.embedDim} and ${out.numHeads}`);
  if (out.imgSize % out.patchSize !== 0)
    throw new SamCobotError('ERR_ARGUMENT', `Expected img_size divisible by patch_size for config but received ${out.imgSize} and ${out.patchSize}`);
  if (!Array.isArray(out.globalAttnIndexes) || out.globalAttnIndexes.some((i) => !Number.isInteger(i) || i < 0 || i >= out.depth))
    throw new SamCobotError('ERR_ARGUMENT', `Expected block indexes in [0, ${out.depth}) for config.global_attn_indexes but received ${JSON.stringify(out.globalAttnIndexes)}`);
  return out;
}

/** The embedding grid side g = img_size / patch_size. */
export function gridSize(config: SamConfig): number {
  return config.imgSize / config.patchSize;
}
