/**
 * The image encoder's multi-head attention with SAM's decomposed relative-position bias
 * (sam-architecture.md §2.3) on a grid of tokens (B, H, W, D): fused qkv projection, the
 * flash-style attention op with the rel-pos tables inside, and the output projection.
 */
import { attention, attentionBackward } from '../ops/attention.js';
import { concat, inversePermutation, linearResizeRows, linearResizeRowsBackward, permute, split } from '../ops/layout.js';
import type { Tensor } from '../tensor.js';
import { Linear } from './linear.js';
import type { TokenModule } from './token-module.js';
import { Module } from './module.js';
import type { Parameter } from './parameter.js';
import { dispose, reshapeOwned, retain, withView } from './retain.js';

// qkv (B, N, 3, heads, d) -> (3, B, heads, N, d); output (B, heads, H, W, d) -> (B, H, W, heads, d).
const QKV_TO_HEADS = [2, 0, 3, 1, 4];
const HEADS_TO_TOKENS = [0, 2, 3, 1, 4];

interface Saved {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  out: Tensor;
  lse: Tensor;
  relH: Tensor | null; // tables actually used (resized copies when the stored length differs)
  relW: Tensor | null;
  B: number;
  H: number;
  W: number;
}

export class EncoderAttention extends Module {
  /** The qkv projection: a Linear, or a LoRA host wrapping it. */
  qkv: TokenModule;
  readonly proj: Linear;
  readonly relPosH: Parameter | null;
  readonly relPosW: Parameter | null;
  readonly heads: number;
  readonly headDim: number;

  /** `gridSize` is the attention grid side (window size, or the full token grid for global blocks). */
  constructor(path: string, dim: number, heads: number, gridSize: number, useRelPos: boolean) {
    super(path);
    this.heads = heads;
    this.headDim = dim / heads;
    this.qkv = this.child(new Linear(`${path}.qkv`, dim, 3 * dim));
    this.proj = this.child(new Linear(`${path}.proj`, dim, dim));
    this.relPosH = useRelPos ? this.parameter('rel_pos_h', [2 * gridSize - 1, this.headDim]) : null;
    this.relPosW = useRelPos ? this.parameter('rel_pos_w', [2 * gridSize - 1, this.headDim]) : null;
  }

  /** A table with 2·size − 1 rows (linearly resized when the stored one differs, as get_rel_pos). */
  private table(p: Parameter | null, size: number): Tensor | null {
    if (!p) return null;
    const rows = 2 * size - 1;
    return p.value.shape[0] === rows ? retain(p.value) : linearResizeRows(p.value, rows);
  }

  /** x (B, H, W, D) -> (B, H, W, D). */
  forward(x: Tensor): Tensor {
    const [B, H, W, D] = x.shape as [number, number, number, number];
    const N = H * W;
    const qkv = this.forwardQkv(x);
    const perm = withView(qkv, [B, N, 3, this.heads, this.headDim], (heads) => permute(heads, QKV_TO_HEADS));
    qkv.dispose();
    const shape = [B * this.heads, N, this.headDim];
    const [q, k, v] = split(perm, 0, [1, 1, 1]).map((t) => reshapeOwned(t, shape)) as [Tensor, Tensor, Tensor];
    perm.dispose();
    const relH = this.table(this.relPosH, H);
    const relW = this.table(this.relPosW, W);
    const { out, lse } = attention(q, k, v, { relPosH: relH ?? undefined, relPosW: relW ?? undefined, gridH: H, gridW: W, scale: this.headDim ** -0.5 });
    const merged = withView(out, [B, this.heads, H, W, this.headDim], (o) => permute(o, HEADS_TO_TOKENS));
    const tokens = reshapeOwned(merged, [B, H, W, D]);
    const y = this.proj.forward(tokens);
    tokens.dispose();
    if (this.training) this.save<Saved>({ q, k, v, out, lse, relH, relW, B, H, W });
    else dispose(q, k, v, out, lse, relH, relW);
    this.emit(y);
    return y;
  }

  /** Swaps the qkv projection (the LoRA host wraps the original Linear). */
  replaceQkv(qkv: TokenModule): void {
    this.dropChild(this.qkv);
    this.qkv = this.child(qkv);
  }

  private forwardQkv(x: Tensor): Tensor {
    return this.qkv.forward(x);
  }

  private backwardQkv(dqkv: Tensor): Tensor {
    return this.qkv.backward(dqkv)!;
  }

  backward(dy: Tensor): Tensor {
    const s = this.restore<Saved>();
    const D = this.heads * this.headDim;
    const N = s.H * s.W;
    const dTokens = this.proj.backward(dy)!;
    const dMerged = withView(dTokens, [s.B, s.H, s.W, this.heads, this.headDim], (t) => permute(t, inversePermutation(HEADS_TO_TOKENS)));
    dTokens.dispose();
    const dOut = reshapeOwned(dMerged, [s.B * this.heads, N, this.headDim]);
    const needRelPos = !!(this.relPosH?.needsGrad || this.relPosW?.needsGrad);
    const g = attentionBackward(dOut, s.q, s.k, s.v, s.out, s.lse, {
      relPosH: s.relH ?? undefined,
      relPosW: s.relW ?? undefined,
      gridH: s.H,
      gridW: s.W,
      scale: this.headDim ** -0.5,
      needRelPos,
    });
    dOut.dispose();
    if (g.dRelPosH) this.addTableGrad(this.relPosH!, g.dRelPosH);
    if (g.dRelPosW) this.addTableGrad(this.relPosW!, g.dRelPosW);
    const part = [1, s.B, this.heads, N, this.headDim];
    const parts = [g.dq, g.dk, g.dv].map((t) => reshapeOwned(t, part));
    const stacked = concat(parts, 0);
    dispose(...parts);
    const dHeads = permute(stacked, inversePermutation(QKV_TO_HEADS));
    stacked.dispose();
    const dqkv = reshapeOwned(dHeads, [s.B, s.H, s.W, 3 * D]);
    const dx = this.backwardQkv(dqkv);
    dispose(dqkv, s.q, s.k, s.v, s.out, s.lse, s.relH, s.relW);
    return dx;
  }

  private addTableGrad(p: Parameter, grad: Tensor): void {
    if (!p.needsGrad) return grad.dispose();
    if (grad.shape[0] === p.shape[0]) return p.addGrad(grad);
    p.addGrad(linearResizeRowsBackward(grad, p.shape[0]!));
    grad.dispose();
  }
}
