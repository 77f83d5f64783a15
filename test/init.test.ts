/**
 * initializeSam draws every tensor at the scale PyTorch would give its module: Linear/Conv weights
 * std 1/√fan_in, nn.Embedding tables and the Fourier matrix std 1, biases, rel-pos tables and the
 * position embedding 0, LayerNorm weights 1. The expected scale of each tensor is derived here from
 * its shape and an explicit list of the embedding tables, not from the initialiser's own rules: a
 * name test that also matched `cross_attn_token_to_image` or `patch_embed` once gave those
 * projections std 1 and left a from-scratch SAM unable to learn from its prompts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initializeSam } from '../lib/nn/init.js';
import { Sam } from '../lib/nn/sam.js';
import { resolveSamConfig } from '../lib/nn/sam-config.js';

const EMBEDDING_TABLES = [
  'prompt_encoder.pe_layer.positional_encoding_gaussian_matrix',
  'prompt_encoder.point_embeddings.0.weight',
  'prompt_encoder.point_embeddings.1.weight',
  'prompt_encoder.point_embeddings.2.weight',
  'prompt_encoder.point_embeddings.3.weight',
  'prompt_encoder.not_a_point_embed.weight',
  'prompt_encoder.no_mask_embed.weight',
  'mask_decoder.iou_token.weight',
  'mask_decoder.mask_tokens.weight',
];
// ConvTranspose2d weights are (in, out, k, k); with stride = kernel each output sees `in` inputs.
const TRANSPOSED = ['mask_decoder.output_upscaling.0.weight', 'mask_decoder.output_upscaling.3.weight'];

function expectedInit(name: string, shape: number[]): { mean: number; std: number } {
  if (name.endsWith('.bias') || /rel_pos_[hw]$/.test(name) || name.endsWith('pos_embed')) return { mean: 0, std: 0 };
  if (shape.length === 1) return { mean: 1, std: 0 }; // every 1-D weight of SAM is a LayerNorm's
  if (EMBEDDING_TABLES.includes(name)) return { mean: 0, std: 1 };
  const fanIn = TRANSPOSED.includes(name) ? shape[0]! : shape.slice(1).reduce((a, b) => a * b, 1);
  return { mean: 0, std: 1 / Math.sqrt(fanIn) };
}

test('initializeSam gives every tensor its PyTorch-module scale', async () => {
  const config = resolveSamConfig({
    img_size: 64, patch_size: 8, embed_dim: 64, depth: 2, num_heads: 2, out_chans: 64, window_size: 4, global_attn_indexes: [1],
    prompt_embed_dim: 64, mask_in_chans: 16, decoder_depth: 2, decoder_mlp_dim: 128, decoder_num_heads: 2, iou_head_hidden_dim: 64,
  });
  const sam = new Sam(config);
  initializeSam(sam, { seed: 5 });
  const wrong: string[] = [];
  let checked = 0;
  for (const [name, p] of sam.namedParameters({ buffers: true })) {
    const values = Array.from(await p.value.toArray());
    const n = values.length;
    const mean = values.reduce((s, v) => s + v, 0) / n;
    const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
    const want = expectedInit(name, p.shape);
    // Sample statistics of n normal draws: std within ~5 standard errors (σ/√(2n)), mean within 5σ/√n.
    const ok = want.std === 0 ? values.every((v) => v === want.mean) : Math.abs(std / want.std - 1) < 5 / Math.sqrt(2 * n) + 0.02 && Math.abs(mean) < (5 * want.std) / Math.sqrt(n);
    if (!ok) wrong.push(`${name} [${p.shape}]: mean ${mean.toPrecision(3)} std ${std.toPrecision(3)}, expected mean ${want.mean} std ${want.std.toPrecision(3)}`);
    checked++;
  }
  sam.dispose();
  assert.ok(checked > 100, `only ${checked} tensors checked`);
  assert.equal(wrong, [], `mis-scaled tensors:\n${wrong.join('\n')}`);
});

test.run();
