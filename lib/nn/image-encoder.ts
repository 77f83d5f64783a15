/** SAM's ViT image encoder (sam-architecture.md §2): patch embedding, blocks, neck. */
import { add, sum } from '../ops/elementwise.js';
import { permute } from '../ops/layout.js';
import type { Tensor } from '../tensor.js';
import { Conv2d } from './conv.js';
import { EncoderBlock } from './encoder-block.js';
import { LayerNorm } from './layer-norm.js';
import { Module } from './module.js';
import type { Parameter } from './parameter.js';
import { dispose } from './retain.js';
import type { SamConfig } from './sam-config.js';

const NCHW_TO_NHWC = [0, 2, 3, 1];
const NHWC_TO_NCHW = [0, 3, 1, 2];

/** Called around each encoder pass (COBOT forms its coefficients once per pass and scatters their gradients once). */
export interface EncoderPassHook {
  beforeForward(): void;
  afterBackward(): void;
}

export class ImageEncoderViT extends Module {
  private readonly passHooks: EncoderPassHook[] = [];
  readonly patchEmbed: Conv2d;
  readonly posEmbed: Parameter;
  readonly blocks: EncoderBlock[];
  readonly neck: [Conv2d, LayerNorm, Conv2d, LayerNorm];
  readonly config: SamConfig;

  constructor(config: SamConfig) {
    super('image_encoder');
    this.config = config;
    const D = config.embedDim;
    const g = config.imgSize / config.patchSize;
    this.patchEmbed = this.child(new Conv2d('image_encoder.patch_embed.proj', config.inChans, D, config.patchSize, { stride: config.patchSize }));
    this.posEmbed = this.parameter('pos_embed', [1, g, g, D]);
    this.blocks = [];
    for (let i = 0; i < config.depth; i++) {
      const global = config.globalAttnIndexes.includes(i);
      this.blocks.push(
        this.child(
          new EncoderBlock(`image_encoder.blocks.${i}`, {
            dim: D,
            heads: config.numHeads,
            mlpRatio: config.mlpRatio,
            eps: config.encoderLayerNormEps,
            windowSize: global ? 0 : config.windowSize,
            gridSize: g,
          }),
        ),
      );
    }
    const C = config.outChans;
    this.neck = [
      this.child(new Conv2d('image_encoder.neck.0', D, C, 1, { bias: false })),
      this.child(new LayerNorm('image_encoder.neck.1', C, config.layerNorm2dEps, 1)),
      this.child(new Conv2d('image_encoder.neck.2', C, C, 3, { padding: 1, bias: false })),
      this.child(new LayerNorm('image_encoder.neck.3', C, config.layerNorm2dEps, 1)),
    ];
  }

  /** Activation checkpointing for every block: backward recomputes each block's activations instead of keeping them. */
  setCheckpointing(on: boolean): void {
    for (const block of this.blocks) block.checkpointing = on;
  }

  addPassHook(hook: EncoderPassHook): void {
    this.passHooks.push(hook);
  }

  /** x (B, 3, S, S) preprocessed NCHW -> image embeddings (B, C, g, g). */
  forward(x: Tensor): Tensor {
    for (const hook of this.passHooks) hook.beforeForward();
    const patches = this.patchEmbed.forward(x);
    const tokens = permute(patches, NCHW_TO_NHWC);
    patches.dispose();
    this.emit(tokens, 'patch_embed');
    let h = add(tokens, this.posEmbed.value);
    tokens.dispose();
    for (const block of this.blocks) {
      const next = block.forward(h);
      h.dispose();
      h = next;
    }
    let y = permute(h, NHWC_TO_NCHW);
    h.dispose();
    for (const layer of this.neck) {
      const next = layer.forward(y);
      y.dispose();
      y = next;
    }
    this.save(null);
    this.emit(y);
    return y;
  }

  /** dy (B, C, g, g) -> d image (B, 3, S, S) when `needInput`, else null. */
  backward(dy: Tensor, needInput = false): Tensor | null {
    this.restore<null>();
    let d: Tensor = dy;
    for (let i = this.neck.length - 1; i >= 0; i--) {
      const layer = this.neck[i]!;
      const next = layer instanceof Conv2d ? layer.backward(d)! : layer.backward(d);
      if (d !== dy) d.dispose();
      d = next;
    }
    let dh = permute(d, NCHW_TO_NHWC);
    if (d !== dy) d.dispose();
    for (let i = this.blocks.length - 1; i >= 0; i--) {
      const next = this.blocks[i]!.backward(dh);
      dh.dispose();
      dh = next;
    }
    if (this.posEmbed.needsGrad) this.posEmbed.addGrad(sum(dh, [0], true));
    const dPatches = permute(dh, NHWC_TO_NCHW);
    dh.dispose();
    const dx = this.patchEmbed.backward(dPatches, needInput);
    dPatches.dispose();
    for (const hook of this.passHooks) hook.afterBackward();
    return dx;
  }
}
