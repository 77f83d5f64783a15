/**
 * The mask decoder's two-way transformer (sam-architecture.md §4.3): tokens attend to the image
 * and the image attends back, with the initial tokens as the queries' positional encoding.
 * Backward follows each residual and positional-encoding branch explicitly.
 */
import { add } from '../ops/elementwise.js';
import { permute } from '../ops/layout.js';
import type { Tensor } from '../tensor.js';
import { DecoderAttention } from './decoder-attention.js';
import { LayerNorm } from './layer-norm.js';
import { MlpBlock } from './mlp.js';
import { Module } from './module.js';
import { GradSum } from './grad-sum.js';
import { dispose, reshapeOwned, retain, withView } from './retain.js';
import type { SamConfig } from './sam-config.js';

export class TwoWayAttentionBlock extends Module {
  readonly selfAttn: DecoderAttention;
  readonly norm1: LayerNorm;
  readonly crossTokenToImage: DecoderAttention;
  readonly norm2: LayerNorm;
  readonly mlp: MlpBlock;
  readonly norm3: LayerNorm;
  readonly norm4: LayerNorm;
  readonly crossImageToToken: DecoderAttention;
  readonly skipFirstLayerPe: boolean;

  constructor(path: string, config: SamConfig, skipFirstLayerPe: boolean) {
    super(path);
    const C = config.promptEmbedDim;
    const eps = config.decoderLayerNormEps;
    const r = config.attentionDownsampleRate;
    this.skipFirstLayerPe = skipFirstLayerPe;
    this.selfAttn = this.child(new DecoderAttention(`${path}.self_attn`, C, config.decoderNumHeads));
    this.norm1 = this.child(new LayerNorm(`${path}.norm1`, C, eps));
    this.crossTokenToImage = this.child(new DecoderAttention(`${path}.cross_attn_token_to_image`, C, config.decoderNumHeads, r));
    this.norm2 = this.child(new LayerNorm(`${path}.norm2`, C, eps));
    this.mlp = this.child(new MlpBlock(`${path}.mlp`, C, config.decoderMlpDim, 'relu'));
    this.norm3 = this.child(new LayerNorm(`${path}.norm3`, C, eps));
    this.norm4 = this.child(new LayerNorm(`${path}.norm4`, C, eps));
    this.crossImageToToken = this.child(new DecoderAttention(`${path}.cross_attn_image_to_token`, C, config.decoderNumHeads, r));
  }

  forward(queries: Tensor, keys: Tensor, queryPe: Tensor, keyPe: Tensor): { queries: Tensor; keys: Tensor } {
    let s: Tensor;
    if (this.skipFirstLayerPe) {
      s = this.selfAttn.forward(queries, queries, queries);
    } else {
      const qq = add(queries, queryPe);
      const a = this.selfAttn.forward(qq, qq, queries);
      s = add(queries, a);
      dispose(qq, a);
    }
    const q1 = this.norm1.forward(s);
    s.dispose();
    const qpe1 = add(q1, queryPe);
    const kpe = add(keys, keyPe);
    const a2 = this.crossTokenToImage.forward(qpe1, kpe, keys);
    const s2 = add(q1, a2);
    dispose(qpe1, a2, q1);
    const q2 = this.norm2.forward(s2);
    s2.dispose();
    const m = this.mlp.forward(q2);
    const s3 = add(q2, m);
    dispose(m, q2);
    const q3 = this.norm3.forward(s3);
    s3.dispose();
    const qpe3 = add(q3, queryPe);
    const a4 = this.crossImageToToken.forward(kpe, qpe3, q3);
    const s4 = add(keys, a4);
    dispose(kpe, qpe3, a4);
    const k4 = this.norm4.forward(s4);
    s4.dispose();
    this.save(null);
    this.emit(q3, 'queries');
    this.emit(k4, 'keys');
    return { queries: q3, keys: k4 };
  }

  /** Gradients w.r.t. queries, keys, query PE and key PE (dQueries and dKeys stay the caller's). */
  backward(dQueries: Tensor, dKeys: Tensor): { dQueries: Tensor; dKeys: Tensor; dQueryPe: Tensor; dKeyPe: Tensor } {
    this.restore<null>();
    const dKeysIn = new GradSum();
    const dKeyPe = new GradSum();
    const dQueryPe = new GradSum();
    // 4. keys' = norm4(keys + I2T(keys + kpe, q3 + qpe, q3))
    const ds4 = this.norm4.backward(dKeys);
    const i2t = this.crossImageToToken.backward(ds4);
    dKeysIn.add(ds4);
    dKeysIn.add(retain(i2t.dq));
    dKeyPe.add(i2t.dq);
    const dq3 = new GradSum().add(retain(dQueries)).add(retain(i2t.dk)).add(i2t.dv);
    dQueryPe.add(i2t.dk);
    // 3. q3 = norm3(q2 + mlp(q2))
    const ds3 = this.norm3.backward(dq3.peek());
    dq3.take().dispose();
    const dm = this.mlp.backward(ds3)!;
    const dq2 = new GradSum().add(ds3).add(dm);
    // 2. q2 = norm2(q1 + T2I(q1 + qpe, keys + kpe, keys))
    const ds2 = this.norm2.backward(dq2.peek());
    dq2.take().dispose();
    const t2i = this.crossTokenToImage.backward(ds2);
    const dq1 = new GradSum().add(ds2).add(retain(t2i.dq));
    dQueryPe.add(t2i.dq);
    dKeysIn.add(retain(t2i.dk)).add(t2i.dv);
    dKeyPe.add(t2i.dk);
    // 1. q1 = norm1(SA(q, q, q))  or  norm1(q + SA(q + qpe, q + qpe, q))
    const ds1 = this.norm1.backward(dq1.peek());
    dq1.take().dispose();
    const sa = this.selfAttn.backward(ds1);
    const dQueriesIn = new GradSum().add(sa.dv);
    if (this.skipFirstLayerPe) {
      dQueriesIn.add(sa.dq).add(sa.dk);
      ds1.dispose();
    } else {
      const dqq = new GradSum().add(sa.dq).add(sa.dk).take();
      dQueriesIn.add(ds1).add(retain(dqq));
      dQueryPe.add(dqq);
    }
    return { dQueries: dQueriesIn.take(), dKeys: dKeysIn.take(), dQueryPe: dQueryPe.take(), dKeyPe: dKeyPe.take() };
  }
}

const NCL_TO_NLC = [0, 2, 1]; // (B, C, HW) <-> (B, HW, C): its own inverse

export class TwoWayTransformer extends Module {
  readonly layers: TwoWayAttentionBlock[];
  readonly finalAttn: DecoderAttention;
  readonly normFinal: LayerNorm;

  constructor(path: string, config: SamConfig) {
    super(path);
    const C = config.promptEmbedDim;
    this.layers = [];
    for (let i = 0; i < config.decoderDepth; i++) this.layers.push(this.child(new TwoWayAttentionBlock(`${path}.layers.${i}`, config, i === 0)));
    this.finalAttn = this.child(new DecoderAttention(`${path}.final_attn_token_to_image`, C, config.decoderNumHeads, config.attentionDownsampleRate));
    this.normFinal = this.child(new LayerNorm(`${path}.norm_final_attn`, C, config.decoderLayerNormEps));
  }

  /** image (B, C, h, w) NCHW -> tokens (B, h·w, C). */
  private static flatten(x: Tensor): Tensor {
    const [B, C, h, w] = x.shape as [number, number, number, number];
    return withView(x, [B, C, h * w], (v) => permute(v, NCL_TO_NLC));
  }

  /**
   * image embedding and PE (B, C, h, w), point embedding (B, T, C) -> {queries (B, T, C), keys (B, h·w, C)}.
   */
  forward(image: Tensor, imagePe: Tensor, points: Tensor): { queries: Tensor; keys: Tensor } {
    const [, C, h, w] = image.shape as [number, number, number, number];
    let keys = TwoWayTransformer.flatten(image);
    const keyPe = TwoWayTransformer.flatten(imagePe);
    let queries = points;
    for (const layer of this.layers) {
      const out = layer.forward(queries, keys, points, keyPe);
      if (queries !== points) queries.dispose();
      keys.dispose();
      queries = out.queries;
      keys = out.keys;
    }
    const q = add(queries, points);
    const k = add(keys, keyPe);
    const a = this.finalAttn.forward(q, k, keys);
    const s = add(queries, a);
    dispose(q, k, a, keyPe);
    if (queries !== points) queries.dispose();
    const out = this.normFinal.forward(s);
    s.dispose();
    this.save({ C, h, w });
    this.emit(out, 'queries');
    this.emit(keys, 'keys');
    return { queries: out, keys };
  }

  /** -> gradients w.r.t. the point embedding (B, T, C) and the image embedding (B, C, h, w). */
  backward(dQueries: Tensor, dKeys: Tensor): { dPoints: Tensor; dImage: Tensor } {
    const { C, h, w } = this.restore<{ C: number; h: number; w: number }>();
    const dPoints = new GradSum();
    // queries' = normFinal(queries + Final(queries + points, keys + keyPe, keys))
    const ds = this.normFinal.backward(dQueries);
    const fin = this.finalAttn.backward(ds);
    let dq = new GradSum().add(ds).add(retain(fin.dq));
    dPoints.add(fin.dq);
    // keys + keyPe receives fin.dk: only the keys part matters (the PE has no trainable input).
    let dk = new GradSum().add(fin.dk).add(fin.dv).add(retain(dKeys));
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const dQ = dq.take();
      const dK = dk.take();
      const g = this.layers[i]!.backward(dQ, dK);
      dispose(dQ, dK);
      g.dKeyPe.dispose(); // the dense PE is a fixed function of a buffer: no gradient needed
      dPoints.add(g.dQueryPe);
      dq = new GradSum().add(g.dQueries);
      dk = new GradSum().add(g.dKeys);
    }
    // The first layer's queries are the points themselves.
    dPoints.add(dq.take());
    const dTokens = dk.take();
    const B = dTokens.shape[0]!;
    const dImage = reshapeOwned(permute(dTokens, NCL_TO_NLC), [B, C, h, w]);
    dTokens.dispose();
    return { dPoints: dPoints.take(), dImage };
  }
}
