/**
 * Adam with coupled L2 weight decay (torch.optim.Adam, the COBOT recipes' optimizer,
 * cobot-method.md §6 and §10.8) and AdamW (decoupled decay), as one fused native step over every
 * parameter that has a gradient.
 */
import type { Parameter } from '../nn/parameter.js';
import { adamStep } from '../ops/optim.js';
import type { Tensor } from '../tensor.js';
import { expected } from '../errors.js';
import { Optimizer, type ParamGroupInput, type StepEntry } from './optimizer.js';

export interface AdamOptions {
  /** Default learning rate of groups that set none (default 1e-3). */
  lr?: number;
  /** Default weight decay of groups that set none (default 0). */
  weightDecay?: number;
  /** β1, β2 (default [0.9, 0.999]). */
  betas?: [number, number];
  /** Added to √v̂ (default 1e-8). */
  eps?: number;
}

function checkUnit(value: number, name: string): number {
  if (!(Number.isFinite(value) && value >= 0 && value < 1)) throw expected('ERR_ARGUMENT', 'a number in [0, 1)', name, value);
  return value;
}

/**
 * torch.optim.Adam: g ← g + wd·θ (coupled L2); m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²;
 * θ ← θ − lr · m/(1 − β1^k) / (√(v/(1 − β2^k)) + eps). State per parameter: exp_avg, exp_avg_sq and
 * its step count k.
 */
export class Adam extends Optimizer {
  protected readonly slots = ['exp_avg', 'exp_avg_sq'] as const;
  readonly betas: [number, number];
  readonly eps: number;
  protected readonly decoupled: boolean = false;

  constructor(params: Parameter[] | ParamGroupInput[], options: AdamOptions = {}) {
    super(params, { lr: options.lr ?? 1e-3, weightDecay: options.weightDecay ?? 0 });
    const [beta1, beta2] = options.betas ?? [0.9, 0.999];
    this.betas = [checkUnit(beta1, 'betas[0]'), checkUnit(beta2, 'betas[1]')];
    this.eps = options.eps ?? 1e-8;
    if (!(Number.isFinite(this.eps) && this.eps >= 0)) throw expected('ERR_ARGUMENT', 'a finite number >= 0', 'eps', options.eps);
  }

  protected update(entries: StepEntry[], step: number, scale: Tensor): void {
    adamStep(
      scale,
      entries.map((e) => ({ param: e.param.value, grad: e.param.grad!, expAvg: e.state[0]!, expAvgSq: e.state[1]! })),
      {
        lr: entries.map((e) => e.group.lr),
        weightDecay: entries.map((e) => e.group.weightDecay),
        beta1: this.betas[0],
        beta2: this.betas[1],
        eps: this.eps,
        step,
        decoupled: this.decoupled,
      },
    );
  }

  protected settings(): Record<string, number | boolean> {
    return { beta1: this.betas[0], beta2: this.betas[1], eps: this.eps, decoupled: this.decoupled };
  }
}

/** torch.optim.AdamW: θ ← θ·(1 − lr·wd) (decoupled decay), then the Adam update without L2. Default weight decay 1e-2, as PyTorch. */
export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;

  constructor(params: Parameter[] | ParamGroupInput[], options: AdamOptions = {}) {
    super(params, { ...options, weightDecay: options.weightDecay ?? 1e-2 });
  }
}
