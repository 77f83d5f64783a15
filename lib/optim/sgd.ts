/** SGD with momentum, dampening and Nesterov (torch.optim.SGD), as one fused native step. */
import type { Parameter } from '../nn/parameter.js';
import { sgdStep } from '../ops/optim.js';
import type { Tensor } from '../tensor.js';
import { expected } from '../errors.js';
import { Optimizer, type ParamGroupInput, type StepEntry } from './optimizer.js';

export interface SgdOptions {
  /** Default learning rate of groups that set none (required, as in PyTorch). */
  lr: number;
  /** Default weight decay (coupled L2) of groups that set none (default 0). */
  weightDecay?: number;
  /** Momentum μ (default 0: plain SGD). */
  momentum?: number;
  /** Dampening of the gradient in the momentum buffer (default 0). */
  dampening?: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). */
  nesterov?: boolean;
}

/**
 * torch.optim.SGD: g ← g + wd·θ; with momentum, buf ← g on a parameter's first step, then
 * buf ← μ·buf + (1 − dampening)·g, and g ← buf (or g + μ·buf with Nesterov); θ ← θ − lr·g.
 * State per parameter: momentum_buffer (also kept, unused, when momentum is 0) and its step count.
 */
export class SGD extends Optimizer {
  protected readonly slots = ['momentum_buffer'] as const;
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;

  constructor(params: Parameter[] | ParamGroupInput[], options: SgdOptions) {
    super(params, { lr: options.lr, weightDecay: options.weightDecay ?? 0 });
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.nesterov = options.nesterov ?? false;
    if (!(Number.isFinite(this.momentum) && this.momentum >= 0)) throw expected('ERR_ARGUMENT', 'a finite number >= 0', 'momentum', options.momentum);
    if (!Number.isFinite(this.dampening)) throw expected('ERR_ARGUMENT', 'a finite number', 'dampening', options.dampening);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0))
      throw expected('ERR_ARGUMENT', 'momentum > 0 and dampening 0 with Nesterov', 'momentum, dampening', [this.momentum, this.dampening]);
  }

  protected update(entries: StepEntry[], step: number, scale: Tensor): void {
    sgdStep(
      scale,
      entries.map((e) => ({ param: e.param.value, grad: e.param.grad!, momentumBuffer: e.state[0]! })),
      {
        lr: entries.map((e) => e.group.lr),
        weightDecay: entries.map((e) => e.group.weightDecay),
        momentum: this.momentum,
        dampening: this.dampening,
        nesterov: this.nesterov,
        step,
      },
    );
  }

  protected settings(): Record<string, number | boolean> {
    return { momentum: this.momentum, dampening: this.dampening, nesterov: this.nesterov };
  }
}
