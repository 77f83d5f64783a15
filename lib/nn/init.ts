/**
 * Fresh weights for a SAM trained from scratch (the demo's pretrained model): PyTorch-like scales
 * so that activations start O(1): Linear/Conv weights N(0, 1/fan_in), biases 0, LayerNorms 1/0,
 * rel-pos tables and the absolute position embedding 0 (as segment-anything initialises them),
 * token and point embeddings N(0, 1), the Fourier matrix N(0, 1) (SAM's own scale).
 *
 * Embedding tables are picked by their exact names: a substring test ('token', 'embed') would also
 * catch the decoder's `cross_attn_token_to_image`/`final_attn_token_to_image` projections and
 * `patch_embed.proj`, giving them std 1 instead of 1/√fan_in: 8× too large at C = 64, which
 * saturates the cross-attention softmax so that the decoder cannot learn to use the prompt.
 */
import type { Device } from '../device.js';
import { Tensor } from '../tensor.js';
import type { Sam } from './sam.js';

/** nn.Embedding tables (N(0, 1) in PyTorch) and the Fourier matrix (N(0, 1) in SAM). */
const UNIT_NORMAL = /(^|\.)(point_embeddings\.\d+|not_a_point_embed|no_mask_embed|iou_token|mask_tokens)\.weight$|\.positional_encoding_gaussian_matrix$/;

export function initializeSam(sam: Sam, options: { seed?: number; device?: Device } = {}): void {
  const device = options.device ?? 'cpu';
  let stream = (options.seed ?? 0) * 100_003;
  for (const [name, p] of sam.namedParameters({ buffers: true })) {
    const shape = p.shape;
    const seed = stream++;
    if (/\.(bias)$/.test(name) || /rel_pos_[hw]$/.test(name) || name.endsWith('pos_embed')) {
      p.value = Tensor.zeros(shape, { device });
    } else if (/norm\d?\.weight$|neck\.[13]\.weight$|mask_downscaling\.[14]\.weight$|output_upscaling\.1\.weight$|norm_final_attn\.weight$/.test(name)) {
      p.value = Tensor.ones(shape, { device });
    } else if (!UNIT_NORMAL.test(name)) {
      const transposed = /output_upscaling\.[03]\.weight$/.test(name);
      const fanIn = transposed ? shape[0]! : shape.slice(1).reduce((a, b) => a * b, 1);
      p.value = Tensor.randn(shape, { seed, std: 1 / Math.sqrt(fanIn), device });
    } else {
      p.value = Tensor.randn(shape, { seed, std: 1, device });
    }
  }
}
