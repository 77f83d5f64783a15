/** SAM's mask decoder (sam-architecture.md §4): two-way transformer, upscaling, hypernetworks, IoU head. */
import { add, sum } from '../ops/elementwise.js';
import { gelu, geluBackward } from '../ops/activation.js';
import { gemm } from '../ops/gemm.js';
import { concat, permute, slice, sliceBackward, split } from '../ops/layout.js';
import { SamCobotError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { Conv2d } from './conv.js';
import { LayerNorm } from './layer-norm.js';
import { MlpHead } from './mlp.js';
import { Module } from './module.js';
import type { Parameter } from './parameter.js';
import { dispose, reshapeOwned, withView } from './retain.js';
import type { SamConfig } from './sam-config.js';
import { TwoWayTransformer } from './two-way-transformer.js';

export interface MaskDecoderInput {
  /** (Bi, C, g, g); each image serves P/Bi consecutive prompts. */
  imageEmbeddings: Tensor;
  /** (1, C, g, g) dense positional encoding. */
  imagePe: Tensor;
  /** (P, Ns, C) */
  sparse: Tensor;
  /** (P, C, g, g) */
  dense: Tensor;
  multimaskOutput: boolean;
}

interface Saved {
  hyper: Tensor; // (P, M, C/8)
  upFlat: Tensor; // (P, C/8, 16g²)
  up1: Tensor; // before the first GELU
  up3: Tensor; // before the second GELU
  P: number;
  Bi: number;
  Ns: number;
  g: number;
  first: number;
  count: number;
}

export class MaskDecoder extends Module {
  readonly iouToken: Parameter;
  readonly maskTokens: Parameter;
  readonly transformer: TwoWayTransformer;
  readonly upscaling: [Conv2d, LayerNorm, Conv2d];
  readonly hypernetworks: MlpHead[];
  readonly iouHead: MlpHead;
  readonly numMaskTokens: number;
  readonly dim: number;

  constructor(config: SamConfig) {
    super('mask_decoder');
    const C = config.promptEmbedDim;
    this.dim = C;
    this.numMaskTokens = config.numMultimaskOutputs + 1;
    this.transformer = this.child(new TwoWayTransformer('mask_decoder.transformer', config));
    this.iouToken = this.parameter('iou_token.weight', [1, C]);
    this.maskTokens = this.parameter('mask_tokens.weight', [this.numMaskTokens, C]);
    this.upscaling = [
      this.child(new Conv2d('mask_decoder.output_upscaling.0', C, C / 4, 2, { stride: 2, transposed: true })),
      this.child(new LayerNorm('mask_decoder.output_upscaling.1', C / 4, config.layerNorm2dEps, 1)),
      this.child(new Conv2d('mask_decoder.output_upscaling.3', C / 4, C / 8, 2, { stride: 2, transposed: true })),
    ];
    this.hypernetworks = [];
    for (let i = 0; i < this.numMaskTokens; i++)
      this.hypernetworks.push(this.child(new MlpHead(`mask_decoder.output_hypernetworks_mlps.${i}`, C, C, C / 8, 3)));
    this.iouHead = this.child(new MlpHead('mask_decoder.iou_prediction_head', C, config.iouHeadHiddenDim, this.numMaskTokens, config.iouHeadDepth));
  }

  /** -> {masks (P, M, 4g, 4g) low-res logits, iouPred (P, M)}, M = 3 with multimask output, else 1. */
  forward(input: MaskDecoderInput): { masks: Tensor; iouPred: Tensor } {
    const { imageEmbeddings, imagePe, sparse, dense } = input;
    const [P, Ns, C] = sparse.shape as [number, number, number];
    const [Bi, , g] = imageEmbeddings.shape as [number, number, number, number];
    if (P % Bi !== 0)
      throw new SamCobotError('ERR_SHAPE', `Expected a prompt count that is a multiple of the ${Bi} images for sparse but received ${P} prompts`);
    const M = this.numMaskTokens;
    // tokens = [iou_token; mask_tokens; sparse]
    const outputTokens = concat([this.iouToken.value, this.maskTokens.value], 0);
    const zeros = Tensor.zeros([P, 1 + M, C], { device: sparse.device });
    const expanded = add(zeros, outputTokens);
    const tokens = concat([expanded, sparse], 1);
    dispose(outputTokens, zeros, expanded);
    // src = repeat_interleave(image, P / Bi) + dense, via broadcasting over a (Bi, P/Bi, ...) view.
    const per = P / Bi;
    const src = withView(imageEmbeddings, [Bi, 1, C, g, g], (img) =>
      withView(dense, [Bi, per, C, g, g], (d) => reshapeOwned(add(img, d), [P, C, g, g])),
    );
    const pos = withView(imagePe, [1, C, g, g], (pe) => {
      const z = Tensor.zeros([P, C, g, g], { device: sparse.device });
      const r = add(z, pe);
      z.dispose();
      return r;
    });
    const { queries: hs, keys } = this.transformer.forward(src, pos, tokens);
    dispose(src, pos, tokens);
    const iouOut = reshapeOwned(slice(hs, 1, 0, 1), [P, C]);
    const maskOut = slice(hs, 1, 1, 1 + M);
    hs.dispose();
    // Upscale the image tokens: (P, g², C) -> (P, C, g, g) -> (P, C/8, 4g, 4g).
    const srcMap = reshapeOwned(permute(keys, [0, 2, 1]), [P, C, g, g]);
    keys.dispose();
    const [up0, upNorm, up2] = this.upscaling;
    const u0 = up0.forward(srcMap);
    srcMap.dispose();
    const u1 = upNorm.forward(u0);
    u0.dispose();
    const u2 = gelu(u1);
    const u3 = up2.forward(u2);
    u2.dispose();
    const up = gelu(u3);
    this.emit(up, 'output_upscaling');
    const hyperParts = split(maskOut, 1, new Array(M).fill(1)).map((part, i) => {
      const h = this.hypernetworks[i]!.forward(part);
      part.dispose();
      return h;
    });
    maskOut.dispose();
    const hyper = concat(hyperParts, 1);
    dispose(...hyperParts);
    const side = 4 * g;
    const upFlat = reshapeOwned(up, [P, C / 8, side * side]);
    const allMasks = reshapeOwned(gemm(hyper, upFlat), [P, M, side, side]);
    const allIou = this.iouHead.forward(iouOut);
    iouOut.dispose();
    const first = input.multimaskOutput ? 1 : 0;
    const count = input.multimaskOutput ? M - 1 : 1;
    const masks = slice(allMasks, 1, first, first + count);
    const iouPred = slice(allIou, 1, first, first + count);
    dispose(allMasks, allIou);
    if (this.training) this.save<Saved>({ hyper, upFlat, up1: u1, up3: u3, P, Bi, Ns, g, first, count });
    else dispose(hyper, upFlat, u1, u3);
    return { masks, iouPred };
  }

  /**
   * Accumulates the decoder's parameter gradients; returns the gradients of its inputs: sparse
   * (P, Ns, C), dense (P, C, g, g) and image embeddings (Bi, C, g, g).
   */
  backward(grads: { masks?: Tensor | null; iouPred?: Tensor | null }): { sparse: Tensor; dense: Tensor; imageEmbeddings: Tensor } {
    const s = this.restore<Saved>();
    const M = this.numMaskTokens;
    const C = this.dim;
    const side = 4 * s.g;
    const device = s.hyper.device;
    const dMasks = grads.masks ? sliceBackward(grads.masks, 1, s.first, M) : Tensor.zeros([s.P, M, side, side], { device });
    const dIou = grads.iouPred ? sliceBackward(grads.iouPred, 1, s.first, M) : Tensor.zeros([s.P, M], { device });
    const dIouOut = this.iouHead.backward(dIou)!;
    dIou.dispose();
    // masks = hyper @ upFlat
    const dFlat = reshapeOwned(dMasks, [s.P, M, side * side]);
    const dHyper = gemm(dFlat, s.upFlat, { transB: true });
    const dUpFlat = gemm(s.hyper, dFlat, { transA: true });
    dispose(dFlat, s.hyper, s.upFlat);
    const dHyperParts = split(dHyper, 1, new Array(M).fill(1));
    dHyper.dispose();
    const dMaskOutParts = dHyperParts.map((d, i) => {
      const r = this.hypernetworks[i]!.backward(d)!;
      d.dispose();
      return r;
    });
    const [up0, upNorm, up2] = this.upscaling;
    const dUp = reshapeOwned(dUpFlat, [s.P, C / 8, side, side]);
    const dU3 = geluBackward(dUp, s.up3);
    const dU2 = up2.backward(dU3)!;
    const dU1 = geluBackward(dU2, s.up1);
    const dU0 = upNorm.backward(dU1);
    const dSrcMap = up0.backward(dU0)!;
    dispose(dUp, dU3, dU2, dU1, dU0, s.up1, s.up3);
    const dKeys = withView(dSrcMap, [s.P, C, s.g * s.g], (v) => permute(v, [0, 2, 1]));
    dSrcMap.dispose();
    const unused = Tensor.zeros([s.P, s.Ns, C], { device });
    const dIouRow = reshapeOwned(dIouOut, [s.P, 1, C]);
    const dHs = concat([dIouRow, ...dMaskOutParts, unused], 1);
    dispose(dIouRow, ...dMaskOutParts, unused);
    const t = this.transformer.backward(dHs, dKeys);
    dispose(dHs, dKeys);
    const [dOutputTokens, dSparse] = split(t.dPoints, 1, [1 + M, s.Ns]) as [Tensor, Tensor];
    t.dPoints.dispose();
    if (this.iouToken.needsGrad || this.maskTokens.needsGrad) {
      const summed = sum(dOutputTokens, [0]);
      const [dIouToken, dMaskTokens] = split(summed, 0, [1, M]) as [Tensor, Tensor];
      summed.dispose();
      if (this.iouToken.needsGrad) this.iouToken.addGrad(dIouToken);
      else dIouToken.dispose();
      if (this.maskTokens.needsGrad) this.maskTokens.addGrad(dMaskTokens);
      else dMaskTokens.dispose();
    }
    dOutputTokens.dispose();
    // src = repeat_interleave(image) + dense
    const dDense = t.dImage;
    const dImage = withView(dDense, [s.Bi, s.P / s.Bi, C, s.g, s.g], (v) => reshapeOwned(sum(v, [1]), [s.Bi, C, s.g, s.g]));
    return { sparse: dSparse, dense: dDense, imageEmbeddings: dImage };
  }
}
