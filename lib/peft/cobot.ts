/**
 * COBOT's cross-block state (cobot-method.md §3-4, §10.3-10.4): the shared coefficient matrix C
 * and relation matrix P, each head's local coefficients γ and projection head, turned once per
 * encoder pass into κ (T, V) and Q (T, V, V) by one small native op; each adapter's bottleneck op
 * accumulates dκ and dQ, and one op after the encoder's backward scatters them into C, P, γ and
 * the heads.
 */
import { cobotPrepare, cobotPrepareBackward } from '../ops/cobot.js';
import { concat, split } from '../ops/layout.js';
import { Tensor } from '../tensor.js';
import type { Parameter } from '../nn/parameter.js';
import { dispose, retain, withView } from '../nn/retain.js';

export type CoefficientMode = 'dual' | 'local' | 'shared';
export type HeadKind = 'quaternion' | 'linear' | 'none';

export interface CobotOptions {
  /** Learn a T×T relation matrix P mixing the coefficient sets across heads (false: C alone). */
  relation: boolean;
  /** dual: κ = (C·P)ₜ + γₜ; local: γₜ only; shared: (C·P)ₜ only. */
  coefficients: CoefficientMode;
  head: HeadKind;
}

/** One head's parameters: its local coefficients and its projection head weights. */
export interface CobotHead {
  gamma: Parameter; // (V,) or a (2V,) tensor shared by two heads (LoRA's q and v halves)
  gammaHalf: 0 | 1 | null; // which half of a shared gamma (LoRA), or null
  weights: Parameter[]; // quaternion: r, i, j, k (V/4, V/4); linear: one (V, V); none: []
}

export interface CobotPassState {
  kappa: Tensor; // (T, V)
  q: Tensor; // (T, V, V)
}

export class CobotState {
  readonly c: Parameter; // (1, V, T)
  readonly p: Parameter; // (T, T)
  readonly heads: CobotHead[] = [];
  readonly options: CobotOptions;
  readonly width: number;
  private current: CobotPassState | null = null;
  private retired = false;
  private dKappa: Tensor | null = null;
  private dQ: Tensor | null = null;

  constructor(c: Parameter, p: Parameter, width: number, options: CobotOptions) {
    this.c = c;
    this.p = p;
    this.width = width;
    this.options = options;
  }

  get count(): number {
    return this.p.shape[0]!;
  }

  addHead(head: CobotHead): number {
    this.heads.push(head);
    return this.heads.length - 1;
  }

  private stackedGamma(): Tensor {
    const V = this.width;
    const parts: Tensor[] = [];
    const seen = new Set<Parameter>();
    for (const h of this.heads) {
      if (h.gammaHalf === null) parts.push(retain(h.gamma.value));
      else if (!seen.has(h.gamma)) {
        seen.add(h.gamma);
        parts.push(retain(h.gamma.value)); // (2V,): both halves, in head order
      }
    }
    const flat = concat(parts, 0);
    dispose(...parts);
    const out = flat.reshape([this.count, V]);
    flat.dispose();
    return out;
  }

  private stackedHeads(): Tensor {
    const V = this.width;
    if (this.options.head === 'none') return Tensor.zeros([1], { device: this.c.value.device });
    const shape = this.options.head === 'quaternion' ? [1, 4, V / 4, V / 4] : [1, V, V];
    const parts = this.heads.map((h) => {
      const ws = h.weights.map((w) => retain(w.value));
      const joined = concat(ws, 0);
      dispose(...ws);
      const r = joined.reshape(shape);
      joined.dispose();
      return r;
    });
    const out = concat(parts, 0);
    dispose(...parts);
    return out;
  }

  /** Forms κ and Q for this pass (call at the start of each encoder forward). */
  beginPass(): void {
    this.dropPass();
    if (this.retired) return;
    const C = withView(this.c.value, [this.width, this.count], (c) => retain(c));
    const gamma = this.stackedGamma();
    const heads = this.stackedHeads();
    const { kappa, q } = cobotPrepare(C, this.p.value, gamma, heads, this.options);
    dispose(C, gamma, heads);
    this.current = { kappa, q };
  }

  /** κ and Q of the current pass (adapters retain what they save for backward). */
  pass(): CobotPassState {
    if (!this.current) this.beginPass();
    return this.current!;
  }

  /** Accumulators for dκ and dQ, zeroed at first use in a backward pass. */
  gradients(): { dKappa: Tensor; dQ: Tensor } {
    const device = this.c.value.device;
    this.dKappa ??= Tensor.zeros([this.count, this.width], { device });
    this.dQ ??= Tensor.zeros([this.count, this.width, this.width], { device });
    return { dKappa: this.dKappa, dQ: this.dQ };
  }

  /** Scatters the accumulated dκ, dQ into C, P, γ and the heads (call after the encoder's backward). */
  finishBackward(): void {
    if (this.retired || !this.dKappa || !this.dQ) return;
    const C = withView(this.c.value, [this.width, this.count], (c) => retain(c));
    const g = cobotPrepareBackward(C, this.p.value, this.dKappa, this.dQ, this.options);
    C.dispose();
    dispose(this.dKappa, this.dQ);
    this.dKappa = this.dQ = null;
    if (this.c.needsGrad) this.c.addGrad(withView(g.dC, [1, this.width, this.count], (v) => retain(v)));
    if (this.p.needsGrad) this.p.addGrad(g.dP);
    else g.dP.dispose();
    g.dC.dispose();
    this.scatterGamma(g.dGamma);
    this.scatterHeads(g.dHeads);
  }

  private scatterGamma(dGamma: Tensor): void {
    const rows = split(dGamma, 0, new Array(this.count).fill(1));
    dGamma.dispose();
    for (let t = 0; t < this.heads.length; t++) {
      const h = this.heads[t]!;
      if (h.gammaHalf === 1) continue; // joined with the previous (q) row below
      if (h.gammaHalf === 0) {
        const pair = concat([rows[t]!, rows[t + 1]!], 1);
        if (h.gamma.needsGrad) h.gamma.addGrad(pair);
        else pair.dispose();
      } else if (h.gamma.needsGrad) {
        h.gamma.addGrad(rows[t]!.reshape(h.gamma.shape));
      }
    }
    dispose(...rows);
  }

  private scatterHeads(dHeads: Tensor): void {
    if (this.options.head === 'none') return dHeads.dispose();
    const perHead = split(dHeads, 0, new Array(this.count).fill(1));
    dHeads.dispose();
    perHead.forEach((d, t) => {
      const weights = this.heads[t]!.weights;
      const parts = weights.length === 1 ? [d] : split(d, 1, [1, 1, 1, 1]);
      parts.forEach((part, i) => {
        const w = weights[i]!;
        if (w.needsGrad) w.addGrad(part.reshape(w.shape));
        if (part !== d) part.dispose();
      });
      d.dispose();
    });
  }

  private dropPass(): void {
    if (this.current) dispose(this.current.kappa, this.current.q);
    this.current = null;
  }

  /** Frees the pass state and stops responding to encoder passes (after a merge). */
  dispose(): void {
    this.retired = true;
    this.dropPass();
    dispose(this.dKappa, this.dQ);
    this.dKappa = this.dQ = null;
  }
}
