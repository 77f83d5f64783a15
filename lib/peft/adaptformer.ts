/**
 * The AdaptFormer host (cobot-method.md §2b, §10.5): a parallel bottleneck beside a block's MLP,
 * reading the same LN2-normalised tokens: out = MLP(z) + up(dropout(act(down(LN_a(z))))), where
 * act is ReLU, or with COBOT the fused "scale by κ, project by Q, ReLU" bottleneck op.
 */
import { add } from '../ops/elementwise.js';
import { relu, reluBackward } from '../ops/activation.js';
import { cobotBottleneck, cobotBottleneckBackward, dropout, dropoutBackward } from '../ops/cobot.js';
import type { Tensor } from '../tensor.js';
import { LayerNorm } from '../nn/layer-norm.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import type { TokenModule } from '../nn/token-module.js';
import { dispose, reshapeOwned, retain, withView } from '../nn/retain.js';
import type { CobotState } from './cobot.js';

interface Saved {
  a: Tensor | null; // bottleneck input (COBOT)
  kappa: Tensor | null;
  q: Tensor | null;
  act: Tensor; // after the activation (ReLU mask), before dropout
  seed: number;
}

export interface AdaptFormerOptions {
  dim: number;
  bottleneck: number;
  dropout: number;
  /** The COBOT state and this block's head index, or null for plain AdaptFormer. */
  cobot: { state: CobotState; head: number } | null;
  /** Seeds the dropout masks (each forward draws a new one). */
  seed: number;
}

export class AdaptFormerAdapter extends Module implements TokenModule {
  readonly mlp: TokenModule;
  readonly norm: LayerNorm;
  readonly downProj: Linear;
  readonly upProj: Linear;
  readonly options: AdaptFormerOptions;
  private draws = 0;

  /** `path` is the block's MLP path (`image_encoder.blocks.N.mlp`); the wrapped MLP keeps its own names. */
  constructor(path: string, mlp: TokenModule, options: AdaptFormerOptions) {
    super(path);
    this.options = options;
    this.mlp = this.child(mlp);
    this.norm = this.child(new LayerNorm(`${path}.adapter_layer_norm_before`, options.dim, 1e-5));
    this.downProj = this.child(new Linear(`${path}.down_proj`, options.dim, options.bottleneck));
    this.upProj = this.child(new Linear(`${path}.up_proj`, options.bottleneck, options.dim));
  }

  override randomState(): unknown[] {
    return [this.draws, ...super.randomState()];
  }

  override setRandomState(state: unknown[]): void {
    this.draws = state[0] as number;
    super.setRandomState(state.slice(1));
  }

  /** Restarts the dropout stream from `seed` (the trainer derives it from the step, for exact resume). */
  reseed(seed: number): void {
    (this.options as { seed: number }).seed = seed;
    this.draws = 0;
  }

  /** Adds the COBOT per-head parameters into this module's namespace (declared by applyPeft). */
  declare(name: string, shape: number[]) {
    return this.parameter(name, shape);
  }

  forward(z: Tensor): Tensor {
    const m = this.mlp.forward(z);
    const u = this.norm.forward(z);
    const a = this.downProj.forward(u);
    u.dispose();
    const cobot = this.options.cobot;
    let act: Tensor;
    let kappa: Tensor | null = null;
    let q: Tensor | null = null;
    if (cobot) {
      const pass = cobot.state.pass();
      act = withView(a, [a.numel / this.options.bottleneck, this.options.bottleneck], (rows) =>
        reshapeOwned(cobotBottleneck(rows, pass.kappa, pass.q, { head: cobot.head, relu: true }), a.shape),
      );
      kappa = pass.kappa;
      q = pass.q;
    } else {
      act = relu(a);
    }
    const p = this.training ? this.options.dropout : 0;
    const seed = this.options.seed * 1_000_003 + this.draws++;
    const d = p > 0 ? dropout(act, { p, seed }) : retain(act);
    const o = this.upProj.forward(d);
    d.dispose();
    const out = add(m, o);
    dispose(m, o);
    if (this.training) this.save<Saved>({ a: cobot ? a : null, kappa: kappa && retain(kappa), q: q && retain(q), act, seed });
    else dispose(a, act);
    if (this.training && !cobot) a.dispose();
    this.emit(out);
    return out;
  }

  backward(dy: Tensor, needInput = true): Tensor | null {
    const s = this.restore<Saved>();
    const dz1 = this.mlp.backward(dy, needInput);
    const dD = this.upProj.backward(dy)!;
    const p = this.options.dropout;
    const dAct = p > 0 ? dropoutBackward(dD, { p, seed: s.seed }) : retain(dD);
    dD.dispose();
    let dA: Tensor;
    const cobot = this.options.cobot;
    if (cobot) {
      const { dKappa, dQ } = cobot.state.gradients();
      const shape = [s.act.numel / this.options.bottleneck, this.options.bottleneck];
      const [dRows, aRows, actRows] = [dAct, s.a!, s.act].map((t) => t.reshape(shape)) as [Tensor, Tensor, Tensor];
      dA = reshapeOwned(cobotBottleneckBackward(dRows, aRows, s.kappa!, s.q!, actRows, dKappa, dQ, { head: cobot.head, relu: true }), s.act.shape);
      dispose(dRows, aRows, actRows);
    } else {
      dA = reluBackward(dAct, s.act);
    }
    dispose(dAct, s.a, s.kappa, s.q, s.act);
    const dU = this.downProj.backward(dA)!;
    dA.dispose();
    const dz2 = this.norm.backward(dU);
    dU.dispose();
    if (!dz1) return dz2;
    const dz = add(dz1, dz2);
    dispose(dz1, dz2);
    return dz;
  }
}
