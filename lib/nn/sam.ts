/**
 * The whole Segment Anything model: image encoder, prompt encoder, mask decoder, with the
 * training-time forward/backward of design section 4 and the official mask post-processing.
 */
import { SamCobotError } from '../errors.js';
import { bilinearResize, slice } from '../ops/layout.js';
import type { Tensor } from '../tensor.js';
import { ImageEncoderViT } from './image-encoder.js';
import { MaskDecoder } from './mask-decoder.js';
import { Module } from './module.js';
import type { Parameter } from './parameter.js';
import { PromptEncoder, type PromptInput } from './prompt-encoder.js';
import { dispose } from './retain.js';
import type { SamConfig } from './sam-config.js';

export interface SamForwardInput extends PromptInput {
  /** (Bi, 3, S, S) preprocessed images; prompts come in Bi equal consecutive groups, one per image. */
  image: Tensor;
  multimaskOutput?: boolean;
}

interface Saved {
  hadMasks: boolean;
}

export class Sam extends Module {
  readonly config: SamConfig;
  readonly imageEncoder: ImageEncoderViT;
  readonly promptEncoder: PromptEncoder;
  readonly maskDecoder: MaskDecoder;

  constructor(config: SamConfig) {
    super('');
    this.config = config;
    this.imageEncoder = this.child(new ImageEncoderViT(config));
    this.promptEncoder = this.child(new PromptEncoder(config));
    this.maskDecoder = this.child(new MaskDecoder(config));
  }

  /** Sets `requiresGrad` on every parameter whose name matches (a RegExp, or a glob with `*`). */
  setRequiresGrad(pattern: RegExp | string, requiresGrad: boolean): number {
    const re = typeof pattern === 'string' ? new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`) : pattern;
    let count = 0;
    for (const [name, p] of this.namedParameters()) {
      if (re.test(name)) {
        p.requiresGrad = requiresGrad;
        count++;
      }
    }
    return count;
  }

  /** Image → embeddings → masks for the prompts: {masks (P, M, 4g, 4g) low-res logits, iouPred (P, M)}. */
  forward(input: SamForwardInput): { masks: Tensor; iouPred: Tensor } {
    const embeddings = this.imageEncoder.forward(input.image);
    const { sparse, dense } = this.promptEncoder.forward(input);
    const pe = this.promptEncoder.densePe();
    const out = this.maskDecoder.forward({ imageEmbeddings: embeddings, imagePe: pe, sparse, dense, multimaskOutput: input.multimaskOutput ?? true });
    dispose(embeddings, sparse, dense, pe);
    this.save<Saved>({ hadMasks: !!input.masks });
    return out;
  }

  /**
   * Back-propagates output gradients through the decoder, the prompt encoder and (when any of its
   * parameters is trainable or `inputGrad` is set) the image encoder. Parameter gradients
   * accumulate until zeroGrad(). Returns input gradients when `inputGrad` is set.
   */
  backward(grads: { masks?: Tensor | null; iouPred?: Tensor | null }, options: { inputGrad?: boolean } = {}): { image: Tensor | null; masks: Tensor | null } {
    const { hadMasks } = this.restore<Saved>();
    const d = this.maskDecoder.backward(grads);
    const dMasks = this.promptEncoder.backward({ sparse: d.sparse, dense: d.dense }, !!options.inputGrad && hadMasks);
    dispose(d.sparse, d.dense);
    let dImage: Tensor | null = null;
    const encoderTrainable = this.imageEncoder.parameters().some((p) => p.needsGrad);
    if (encoderTrainable || options.inputGrad) dImage = this.imageEncoder.backward(d.imageEmbeddings, !!options.inputGrad);
    else this.imageEncoder.clearSaved();
    d.imageEmbeddings.dispose();
    return { image: dImage, masks: dMasks };
  }

  /**
   * Official post-processing: bilinear to S×S, crop to the resized image `inputSize` (h, w),
   * bilinear to `originalSize` (H, W). Logits in, logits out (threshold at 0 for binary masks).
   */
  postprocessMasks(lowRes: Tensor, inputSize: [number, number], originalSize: [number, number]): Tensor {
    const S = this.config.imgSize;
    const [h, w] = inputSize;
    const [H, W] = originalSize;
    if (!(h > 0 && w > 0 && h <= S && w <= S))
      throw new SamCobotError('ERR_ARGUMENT', `Expected an input size within ${S}x${S} for inputSize but received [${inputSize}]`);
    const full = bilinearResize(lowRes, S, S);
    const rows = slice(full, 2, 0, h);
    const cropped = slice(rows, 3, 0, w);
    const out = bilinearResize(cropped, H, W);
    dispose(full, rows, cropped);
    return out;
  }

  /** Parameters by official name (convenience for loaders and tests). */
  parameterMap(options: { buffers?: boolean } = { buffers: true }): Map<string, Parameter> {
    return new Map(this.namedParameters(options));
  }

  dispose(): void {
    this.clearSaved();
    for (const [, p] of this.namedParameters({ buffers: true })) p.dispose();
  }
}
