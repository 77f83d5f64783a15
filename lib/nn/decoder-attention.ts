/**
 * The mask decoder's multi-head attention (sam-architecture.md §4.2): separate q/k/v projections
 * to C/r channels, heads of C/(r·h), softmax(QKᵀ/√d)V per head, output projection back to C.
 */
import { attention, attentionBackward } from '../ops/attention.js';
import { permute } from '../ops/layout.js';
import type { Tensor } from '../tensor.js';
import { Linear } from './linear.js';
import { Module } from './module.js';
import { dispose, reshapeOwned, withView } from './retain.js';

const SPLIT_HEADS = [0, 2, 1, 3]; // (B, N, h, d) <-> (B, h, N, d): its own inverse

interface Saved {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  out: Tensor;
  lse: Tensor;
  B: number;
  nq: number;
  nk: number;
}

export class DecoderAttention extends Module {
  readonly qProj: Linear;
  readonly kProj: Linear;
  readonly vProj: Linear;
  readonly outProj: Linear;
  readonly heads: number;
  readonly internalDim: number;

  constructor(path: string, embedDim: number, heads: number, downsampleRate = 1) {
    super(path);
    this.heads = heads;
    this.internalDim = embedDim / downsampleRate;
    this.qProj = this.child(new Linear(`${path}.q_proj`, embedDim, this.internalDim));
    this.kProj = this.child(new Linear(`${path}.k_proj`, embedDim, this.internalDim));
    this.vProj = this.child(new Linear(`${path}.v_proj`, embedDim, this.internalDim));
    this.outProj = this.child(new Linear(`${path}.out_proj`, this.internalDim, embedDim));
  }

  private get headDim(): number {
    return this.internalDim / this.heads;
  }

  /** (B, N, C') -> (B·h, N, d). */
  private separate(x: Tensor): Tensor {
    const [B, N] = x.shape as [number, number, number];
    const t = withView(x, [B, N, this.heads, this.headDim], (v) => permute(v, SPLIT_HEADS));
    return reshapeOwned(t, [B * this.heads, N, this.headDim]);
  }

  /** (B·h, N, d) -> (B, N, C'). */
  private recombine(x: Tensor, B: number, N: number): Tensor {
    const t = withView(x, [B, this.heads, N, this.headDim], (v) => permute(v, SPLIT_HEADS));
    return reshapeOwned(t, [B, N, this.internalDim]);
  }

  /** q (B, Nq, C), k and v (B, Nk, C) -> (B, Nq, C). */
  forward(qIn: Tensor, kIn: Tensor, vIn: Tensor): Tensor {
    const [B, nq] = qIn.shape as [number, number, number];
    const nk = kIn.shape[1]!;
    const project = (proj: Linear, x: Tensor) => {
      const p = proj.forward(x);
      const s = this.separate(p);
      p.dispose();
      return s;
    };
    const q = project(this.qProj, qIn);
    const k = project(this.kProj, kIn);
    const v = project(this.vProj, vIn);
    const { out, lse } = attention(q, k, v, { scale: 1 / Math.sqrt(this.headDim) });
    const merged = this.recombine(out, B, nq);
    const y = this.outProj.forward(merged);
    merged.dispose();
    if (this.training) this.save<Saved>({ q, k, v, out, lse, B, nq, nk });
    else dispose(q, k, v, out, lse);
    this.emit(y);
    return y;
  }

  /** dy (B, Nq, C) -> gradients w.r.t. the q, k and v inputs. */
  backward(dy: Tensor): { dq: Tensor; dk: Tensor; dv: Tensor } {
    const s = this.restore<Saved>();
    const dMerged = this.outProj.backward(dy)!;
    const dOut = this.separate(dMerged);
    dMerged.dispose();
    const g = attentionBackward(dOut, s.q, s.k, s.v, s.out, s.lse, { scale: 1 / Math.sqrt(this.headDim) });
    dOut.dispose();
    const back = (proj: Linear, d: Tensor, n: number) => {
      const m = this.recombine(d, s.B, n);
      d.dispose();
      const dx = proj.backward(m)!;
      m.dispose();
      return dx;
    };
    // Reverse order of the forward's projections (each Linear pops its own saved input).
    const dv = back(this.vProj, g.dv, s.nk);
    const dk = back(this.kProj, g.dk, s.nk);
    const dq = back(this.qProj, g.dq, s.nq);
    dispose(s.q, s.k, s.v, s.out, s.lse);
    return { dq, dk, dv };
  }
}
