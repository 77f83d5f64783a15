/**
 * One ViT block of SAM's image encoder (sam-architecture.md §2.2): pre-norm attention, windowed
 * (zero-padded partition, attention per window, un-partition and crop) or global, then the MLP,
 * each with a residual.
 */
import { add } from '../ops/elementwise.js';
import { windowPartition, windowUnpartition } from '../ops/layout.js';
import type { Tensor } from '../tensor.js';
import { EncoderAttention } from './encoder-attention.js';
import { LayerNorm } from './layer-norm.js';
import { MlpBlock } from './mlp.js';
import { Module } from './module.js';
import type { TokenModule } from './token-module.js';
import { dispose, retain } from './retain.js';

export interface EncoderBlockOptions {
  dim: number;
  heads: number;
  mlpRatio: number;
  eps: number;
  /** 0 for a global block. */
  windowSize: number;
  /** The token grid side (for global blocks' rel-pos tables). */
  gridSize: number;
}

export class EncoderBlock extends Module {
  readonly norm1: LayerNorm;
  readonly attn: EncoderAttention;
  readonly norm2: LayerNorm;
  mlp: TokenModule;
  readonly windowSize: number;
  /** Activation checkpointing: keep only the block's input and recompute the rest in backward. */
  checkpointing = false;

  constructor(path: string, o: EncoderBlockOptions) {
    super(path);
    this.windowSize = o.windowSize;
    this.norm1 = this.child(new LayerNorm(`${path}.norm1`, o.dim, o.eps));
    this.attn = this.child(new EncoderAttention(`${path}.attn`, o.dim, o.heads, o.windowSize > 0 ? o.windowSize : o.gridSize, true));
    this.norm2 = this.child(new LayerNorm(`${path}.norm2`, o.dim, o.eps));
    this.mlp = this.child(new MlpBlock(`${path}.mlp`, o.dim, Math.trunc(o.dim * o.mlpRatio), 'gelu'));
  }

  /** Swaps the MLP slot (the AdaptFormer host wraps the original MLP). */
  replaceMlp(mlp: TokenModule): void {
    this.dropChild(this.mlp);
    this.mlp = this.child(mlp);
  }

  /** x (B, H, W, D) -> (B, H, W, D). */
  forward(x: Tensor): Tensor {
    if (!(this.training && this.checkpointing)) return this.run(x);
    const random = this.randomState();
    this.setSaving(false);
    let out: Tensor;
    try {
      out = this.run(x);
    } finally {
      this.setSaving(true);
    }
    this.save({ recompute: { x: retain(x), random } });
    return out;
  }

  private run(x: Tensor): Tensor {
    const [, H, W] = x.shape as [number, number, number, number];
    const y = this.norm1.forward(x);
    let a: Tensor;
    if (this.windowSize > 0) {
      const windows = windowPartition(y, this.windowSize);
      const attended = this.attn.forward(windows);
      a = windowUnpartition(attended, this.windowSize, H, W);
      dispose(windows, attended);
    } else {
      a = this.attn.forward(y);
    }
    y.dispose();
    const x1 = add(x, a);
    a.dispose();
    const z = this.norm2.forward(x1);
    const m = this.mlp.forward(z);
    const out = add(x1, m);
    dispose(z, m, x1);
    this.save({ H, W });
    this.emit(out);
    return out;
  }

  backward(dy: Tensor): Tensor {
    const top = this.restore<{ H: number; W: number; recompute?: { x: Tensor; random: unknown[] } }>();
    if (top.recompute) {
      // Re-run the forward with saving on (same dropout draws), then back-propagate through it.
      this.setRandomState(top.recompute.random);
      this.run(top.recompute.x).dispose();
      top.recompute.x.dispose();
      return this.backward(dy);
    }
    const { H, W } = top;
    const dm = this.mlp.backward(dy)!;
    const dz = this.norm2.backward(dm);
    const dx1 = add(dy, dz);
    dispose(dm, dz);
    // Partition and un-partition are each other's adjoint.
    let dy1: Tensor;
    if (this.windowSize > 0) {
      const dWindows = windowPartition(dx1, this.windowSize);
      const dIn = this.attn.backward(dWindows);
      dy1 = windowUnpartition(dIn, this.windowSize, H, W);
      dispose(dWindows, dIn);
    } else {
      dy1 = this.attn.backward(dx1);
    }
    const dn = this.norm1.backward(dy1);
    const dx = add(dx1, dn);
    dispose(dy1, dn, dx1);
    return dx;
  }
}
