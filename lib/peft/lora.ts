/**
 * The LoRA host on an attention's fused qkv projection (cobot-method.md §2a, §10.6): rank-r
 * deltas on the q and v thirds, Δ_b = B_b(A_b x), with COBOT's fused "scale by κ, project by Q"
 * bottleneck between A and B when enabled. No scaling, no dropout (as the official code).
 */
import { add } from '../ops/elementwise.js';
import { cobotBottleneck, cobotBottleneckBackward } from '../ops/cobot.js';
import { concat, split } from '../ops/layout.js';
import { Tensor } from '../tensor.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import type { TokenModule } from '../nn/token-module.js';
import { dispose, reshapeOwned, retain, withView } from '../nn/retain.js';
import type { CobotState } from './cobot.js';

interface BranchSaved {
  a: Tensor;
  kappa: Tensor;
  q: Tensor;
}

export interface LoraOptions {
  dim: number;
  rank: number;
  /** COBOT state and the q and v head indexes (2ℓ, 2ℓ+1), or null for plain LoRA. */
  cobot: { state: CobotState; heads: [number, number] } | null;
}

export class LoraQkv extends Module implements TokenModule {
  readonly base: Linear;
  readonly aQ: Linear;
  readonly bQ: Linear;
  readonly aV: Linear;
  readonly bV: Linear;
  readonly options: LoraOptions;

  /** `path` is the attention's qkv path (`image_encoder.blocks.N.attn.qkv`); the wrapped Linear keeps its names. */
  constructor(path: string, base: Linear, options: LoraOptions) {
    super(path);
    this.options = options;
    this.base = this.child(base);
    this.aQ = this.child(new Linear(`${path}.linear_a_q`, options.dim, options.rank, { bias: false }));
    this.bQ = this.child(new Linear(`${path}.linear_b_q`, options.rank, options.dim, { bias: false }));
    this.aV = this.child(new Linear(`${path}.linear_a_v`, options.dim, options.rank, { bias: false }));
    this.bV = this.child(new Linear(`${path}.linear_b_v`, options.rank, options.dim, { bias: false }));
  }

  declare(name: string, shape: number[]) {
    return this.parameter(name, shape);
  }

  private branchForward(x: Tensor, a: Linear, b: Linear, head: number | null): { delta: Tensor; saved: BranchSaved | null } {
    const low = a.forward(x);
    let h = low;
    let saved: BranchSaved | null = null;
    if (head !== null) {
      const pass = this.options.cobot!.state.pass();
      const r = this.options.rank;
      h = withView(low, [low.numel / r, r], (rows) => reshapeOwned(cobotBottleneck(rows, pass.kappa, pass.q, { head, relu: false }), low.shape));
      if (this.training) saved = { a: retain(low), kappa: retain(pass.kappa), q: retain(pass.q) };
      low.dispose();
    }
    const delta = b.forward(h);
    h.dispose();
    return { delta, saved };
  }

  forward(x: Tensor): Tensor {
    const qkv = this.base.forward(x);
    const heads = this.options.cobot?.heads ?? [null, null];
    const q = this.branchForward(x, this.aQ, this.bQ, heads[0]);
    const v = this.branchForward(x, this.aV, this.bV, heads[1]);
    const shape = q.delta.shape;
    const zeros = Tensor.zeros(shape, { device: qkv.device });
    const delta = concat([q.delta, zeros, v.delta], shape.length - 1);
    const out = add(qkv, delta);
    dispose(qkv, zeros, delta, q.delta, v.delta);
    this.save({ q: q.saved, v: v.saved });
    this.emit(out);
    return out;
  }

  private branchBackward(dDelta: Tensor, a: Linear, b: Linear, head: number | null, saved: BranchSaved | null): Tensor {
    let dH = b.backward(dDelta)!;
    if (head !== null && saved) {
      const { dKappa, dQ } = this.options.cobot!.state.gradients();
      const shape = [dH.numel / this.options.rank, this.options.rank];
      const [dRows, aRows] = [dH, saved.a].map((t) => t.reshape(shape)) as [Tensor, Tensor];
      const dA = reshapeOwned(cobotBottleneckBackward(dRows, aRows, saved.kappa, saved.q, aRows, dKappa, dQ, { head, relu: false }), dH.shape);
      dispose(dRows, aRows);
      dispose(dH, saved.a, saved.kappa, saved.q);
      dH = dA;
    }
    const dx = a.backward(dH)!;
    dH.dispose();
    return dx;
  }

  backward(dqkv: Tensor, needInput = true): Tensor | null {
    const s = this.restore<{ q: BranchSaved | null; v: BranchSaved | null }>();
    const D = this.options.dim;
    const [dq, dk, dv] = split(dqkv, dqkv.shape.length - 1, [D, D, D]) as [Tensor, Tensor, Tensor];
    dk.dispose();
    const heads = this.options.cobot?.heads ?? [null, null];
    const dxV = this.branchBackward(dv, this.aV, this.bV, heads[1], s.v);
    const dxQ = this.branchBackward(dq, this.aQ, this.bQ, heads[0], s.q);
    dispose(dq, dv);
    const dxBase = this.base.backward(dqkv, needInput);
    let dx = add(dxQ, dxV);
    dispose(dxQ, dxV);
    if (dxBase) {
      const sum = add(dx, dxBase);
      dispose(dx, dxBase);
      dx = sum;
    }
    return dx;
  }
}
