/**
 * The optimizer base: parameter groups with their own learning rate and weight decay (COBOT's C, P
 * and quaternion heads train at their own rate, cobot-method.md §6), per-parameter state, zeroGrad,
 * and a state dict of tensors plus plain values that a checkpoint can write with safetensors.
 *
 * As in PyTorch, a parameter whose `grad` is null is skipped by `step()` (its state and step count
 * do not move). A step updates every parameter that has a gradient in one native call per
 * (step count, device, dtype), usually exactly one call.
 */
import { SamCobotError, expected } from '../errors.js';
import type { Parameter } from '../nn/parameter.js';
import { copy } from '../ops/elementwise.js';
import { Tensor } from '../tensor.js';

/** A group of parameters sharing hyper-parameters; unset values come from the optimizer's defaults. */
export interface ParamGroupInput {
  params: Parameter[];
  lr?: number;
  weightDecay?: number;
  /** For messages, state dicts and schedules (default `group<i>`). */
  name?: string;
}

export interface ParamGroup {
  readonly params: Parameter[];
  /** The learning rate the next step uses (schedules write it). */
  lr: number;
  weightDecay: number;
  readonly name: string;
}

export interface OptimizerDefaults {
  lr: number;
  weightDecay?: number;
}

/** What {@link Optimizer.stateDict} returns and {@link Optimizer.loadStateDict} takes. */
export interface OptimizerStateDict {
  /** State tensors keyed `<parameter name>.<slot>` (Adam: exp_avg, exp_avg_sq; SGD: momentum_buffer). */
  tensors: Record<string, Tensor>;
  /** Plain values (JSON-serialisable): the optimizer's kind and settings, groups, per-parameter step counts. */
  values: {
    kind: string;
    settings: Record<string, number | boolean>;
    groups: Array<{ name: string; lr: number; weightDecay: number; params: string[] }>;
    steps: Record<string, number>;
  };
}

/** A parameter with a gradient, ready for one step: its group's settings and its state. */
export interface StepEntry {
  param: Parameter;
  group: ParamGroup;
  /** The state slots (created on the first step) in the subclass's slot order. */
  state: Tensor[];
}

function checkRate(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw expected('ERR_ARGUMENT', 'a finite number >= 0', name, value);
  return value;
}

export abstract class Optimizer {
  readonly paramGroups: ParamGroup[];
  /** The state slot names, in the order the native step takes them after (param, grad). */
  protected abstract readonly slots: readonly string[];
  private readonly state = new Map<Parameter, Tensor[]>();
  private readonly steps = new Map<Parameter, number>();

  constructor(params: Parameter[] | ParamGroupInput[], defaults: OptimizerDefaults) {
    if (!Array.isArray(params) || params.length === 0) throw expected('ERR_ARGUMENT', 'a non-empty array of parameters or parameter groups', 'params', params);
    const inputs: ParamGroupInput[] = params.every((p) => 'params' in p) ? (params as ParamGroupInput[]) : [{ params: params as Parameter[] }];
    const seen = new Set<Parameter>();
    this.paramGroups = inputs.map((g, i) => {
      const name = g.name ?? `group${i}`;
      if (!Array.isArray(g.params)) throw expected('ERR_ARGUMENT', 'an array of parameters', `params of ${name}`, g.params);
      for (const p of g.params) {
        if (seen.has(p)) throw expected('ERR_ARGUMENT', 'each parameter in one group only', name, p.name);
        seen.add(p);
      }
      return {
        params: [...g.params],
        lr: checkRate(g.lr ?? defaults.lr, `lr of ${name}`),
        weightDecay: checkRate(g.weightDecay ?? defaults.weightDecay ?? 0, `weightDecay of ${name}`),
        name,
      };
    });
  }

  /** Every parameter of every group, in group order. */
  get params(): Parameter[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /** Drops every gradient (PyTorch's zero_grad(set_to_none=True)): the next backward starts afresh. */
  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  /** How many steps `param` has taken (0 before its first). */
  stepCount(param: Parameter): number {
    return this.steps.get(param) ?? 0;
  }

  /**
   * One update of every parameter that has a gradient. `gradScale` (a (1) tensor on the parameters'
   * device, e.g. {@link clipGradNorm}'s `scale`) multiplies the gradients first.
   */
  step(options: { gradScale?: Tensor } = {}): void {
    const batches = new Map<string, StepEntry[]>();
    for (const group of this.paramGroups) {
      for (const param of group.params) {
        const grad = param.grad;
        if (!grad) continue;
        const value = param.value;
        if (grad.dtype !== value.dtype || grad.shape.join() !== value.shape.join())
          throw expected('ERR_SHAPE', `a gradient of shape [${value.shape}] and dtype ${value.dtype}`, `the gradient of ${param.name}`, `[${grad.shape}] ${grad.dtype}`);
        const step = this.stepCount(param) + 1;
        const key = `${step}/${value.device}/${value.dtype}`;
        const entry = { param, group, state: this.stateOf(param) };
        batches.set(key, [...(batches.get(key) ?? []), entry]);
      }
    }
    for (const [key, entries] of batches) {
      const step = Number(key.split('/')[0]);
      const { device, dtype } = entries[0]!.param.value;
      const scale = options.gradScale ?? Tensor.ones([1], { device, dtype });
      try {
        this.update(entries, step, scale);
      } finally {
        if (scale !== options.gradScale) scale.dispose();
      }
      for (const e of entries) this.steps.set(e.param, step);
    }
  }

  /** Runs the native step for `entries` (one device and dtype, all at step number `step`). */
  protected abstract update(entries: StepEntry[], step: number, scale: Tensor): void;

  /** The optimizer's own settings (betas, momentum...) for the state dict. */
  protected abstract settings(): Record<string, number | boolean>;

  private stateOf(param: Parameter): Tensor[] {
    let state = this.state.get(param);
    if (!state) {
      const { shape, device, dtype } = param.value;
      state = this.slots.map(() => Tensor.zeros(shape, { device, dtype }));
      this.state.set(param, state);
    }
    return state;
  }

  /**
   * The state as tensors and plain values, keyed by parameter name. The tensors are the live state
   * (not copies): write them out before the next step, and do not dispose them.
   */
  stateDict(): OptimizerStateDict {
    const tensors: Record<string, Tensor> = {};
    const steps: Record<string, number> = {};
    for (const p of this.params) {
      const state = this.state.get(p);
      if (state) this.slots.forEach((slot, i) => (tensors[`${p.name}.${slot}`] = state[i]!));
      if (this.steps.has(p)) steps[p.name] = this.steps.get(p)!;
    }
    return {
      tensors,
      values: {
        kind: this.constructor.name,
        settings: this.settings(),
        groups: this.paramGroups.map((g) => ({ name: g.name, lr: g.lr, weightDecay: g.weightDecay, params: g.params.map((p) => p.name) })),
        steps,
      },
    };
  }

  /**
   * Restores a {@link stateDict} of an optimizer of the same kind over parameters of the same names:
   * copies the state tensors (to each parameter's device), the step counts and each group's lr and
   * weight decay. Settings (betas, momentum...) stay those given to the constructor.
   */
  loadStateDict(dict: OptimizerStateDict): void {
    const { values, tensors } = dict;
    if (values.kind !== this.constructor.name) throw expected('ERR_ARGUMENT', `a ${this.constructor.name} state dict`, 'the state dict', values.kind);
    if (values.groups.length !== this.paramGroups.length)
      throw expected('ERR_ARGUMENT', `${this.paramGroups.length} parameter groups`, 'the state dict', `${values.groups.length} groups`);
    values.groups.forEach((g, i) => {
      const group = this.paramGroups[i]!;
      if (g.params.join() !== group.params.map((p) => p.name).join())
        throw expected('ERR_ARGUMENT', `the parameters of group ${group.name}`, `group ${i} of the state dict`, g.name);
    });
    const restored = new Map<Parameter, Tensor[]>();
    try {
      for (const p of this.params) {
        const saved = this.slots.map((slot) => tensors[`${p.name}.${slot}`]);
        if (saved.every((t) => t === undefined)) continue;
        restored.set(
          p,
          saved.map((t, i) => {
            const key = `${p.name}.${this.slots[i]}`;
            if (!t) throw new SamCobotError('ERR_ARGUMENT', `Expected a tensor for ${key} but received none`);
            if (t.shape.join() !== p.value.shape.join()) throw expected('ERR_SHAPE', `shape [${p.value.shape}]`, key, `[${t.shape}]`);
            if (t.dtype !== p.value.dtype) throw expected('ERR_DTYPE', `dtype ${p.value.dtype}`, key, t.dtype);
            const moved = t.to(p.value.device);
            return moved === t ? copy(t) : moved;
          }),
        );
      }
    } catch (error) {
      for (const state of restored.values()) for (const t of state) t.dispose();
      throw error;
    }
    this.disposeState();
    for (const [p, state] of restored) this.state.set(p, state);
    for (const p of this.params) if (values.steps[p.name] !== undefined) this.steps.set(p, values.steps[p.name]!);
    values.groups.forEach((g, i) => {
      this.paramGroups[i]!.lr = checkRate(g.lr, `lr of ${g.name}`);
      this.paramGroups[i]!.weightDecay = checkRate(g.weightDecay, `weightDecay of ${g.name}`);
    });
  }

  private disposeState(): void {
    for (const state of this.state.values()) for (const t of state) t.dispose();
    this.state.clear();
    this.steps.clear();
  }

  /** Frees the state tensors (the parameters are untouched). */
  dispose(): void {
    this.disposeState();
  }
}

