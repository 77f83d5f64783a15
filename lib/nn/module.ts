/**
 * The module base class (design section 4): named parameters under their official state-dict
 * keys, training/eval mode, and explicit forward/backward passes. Forward pushes what backward
 * needs onto a per-module stack (only when training); backward pops it, so a module called several
 * times before one backward (one call per image, say) unwinds in the right order.
 */
import { SamCobotError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { Parameter } from './parameter.js';

/** Receives named intermediate activations (module path, tensor) when set; used by golden tests. */
export type ActivationHook = (path: string, tensor: Tensor) => void;
let activationHook: ActivationHook | null = null;

/** Installs (or clears with null) the hook that sees every module output by its official path. */
export function setActivationHook(hook: ActivationHook | null): void {
  activationHook = hook;
}

export abstract class Module {
  /** Dotted path in the official model (`image_encoder.blocks.3.attn`). */
  readonly path: string;
  protected training = false;
  /** Set while a checkpointed block runs its first forward: training semantics, nothing saved. */
  private saving = true;
  private readonly ownParameters: Parameter[] = [];
  private readonly children: Module[] = [];
  private readonly saved: unknown[] = [];

  constructor(path: string) {
    this.path = path;
  }

  /** Declares a parameter named `<path>.<name>`. */
  protected parameter(name: string, shape: number[], options: { buffer?: boolean } = {}): Parameter {
    const p = new Parameter(this.path ? `${this.path}.${name}` : name, shape, options);
    this.ownParameters.push(p);
    return p;
  }

  protected child<M extends Module>(module: M): M {
    this.children.push(module);
    return module;
  }

  /** Removes a child (adapters replacing a wrapped module). */
  protected dropChild(module: Module): void {
    const i = this.children.indexOf(module);
    if (i >= 0) this.children.splice(i, 1);
  }

  /** Every parameter and buffer of this module and its children, in declaration order. */
  *namedParameters(options: { buffers?: boolean } = {}): Generator<[string, Parameter]> {
    for (const p of this.ownParameters) if (options.buffers || !p.isBuffer) yield [p.name, p];
    for (const c of this.children) yield* c.namedParameters(options);
  }

  parameters(): Parameter[] {
    return [...this.namedParameters()].map(([, p]) => p);
  }

  train(on = true): this {
    this.training = on;
    for (const c of this.children) c.train(on);
    if (!on) this.clearSaved();
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  get isTraining(): boolean {
    return this.training;
  }

  zeroGrad(): void {
    for (const [, p] of this.namedParameters()) p.zeroGrad();
  }

  /** Bytes held for backward by this module and its children. */
  activationBytes(): number {
    let total = 0;
    for (const ctx of this.saved) total += savedBytes(ctx);
    for (const c of this.children) total += c.activationBytes();
    return total;
  }

  /** Drops everything saved for backward (after an aborted step, or when leaving training). */
  clearSaved(): void {
    for (const ctx of this.saved.splice(0)) disposeSaved(ctx);
    for (const c of this.children) c.clearSaved();
  }

  protected save<T>(ctx: T): void {
    if (this.training && this.saving) this.saved.push(ctx);
    else disposeSaved(ctx);
  }

  /** Turns saving for backward off or on in this subtree (activation checkpointing). */
  setSaving(on: boolean): void {
    this.saving = on;
    for (const c of this.children) c.setSaving(on);
  }

  /** Random-stream positions of this subtree (dropout), so a recomputed forward draws the same masks. */
  randomState(): unknown[] {
    return this.children.flatMap((c) => c.randomState());
  }

  setRandomState(state: unknown[]): void {
    let i = 0;
    for (const c of this.children) {
      const n = c.randomState().length;
      c.setRandomState(state.slice(i, i + n));
      i += n;
    }
  }

  protected restore<T>(): T {
    if (!this.saved.length)
      throw new SamCobotError('ERR_ARGUMENT', `Expected a forward pass in training mode before backward for ${this.path || 'the model'} but received none (call train() and forward() first)`);
    return this.saved.pop() as T;
  }

  protected emit(tensor: Tensor, suffix = ''): void {
    if (activationHook) activationHook(suffix ? `${this.path}.${suffix}` : this.path, tensor);
  }
}

function isTensorLike(v: unknown): v is Tensor {
  return !!v && typeof v === 'object' && 'handle' in (v as object) && typeof (v as Tensor).dispose === 'function';
}

function savedBytes(ctx: unknown): number {
  if (isTensorLike(ctx)) return ctx.disposed ? 0 : ctx.numel * (ctx.dtype === 'f64' ? 8 : ctx.dtype === 'bf16' || ctx.dtype === 'f16' ? 2 : ctx.dtype === 'u8' ? 1 : 4);
  if (Array.isArray(ctx)) return ctx.reduce((s: number, v) => s + savedBytes(v), 0);
  if (ctx && typeof ctx === 'object') return Object.values(ctx).reduce((s: number, v) => s + savedBytes(v), 0);
  return 0;
}

/** Disposes every tensor in a saved context (tensors, arrays, plain objects). */
export function disposeSaved(ctx: unknown): void {
  if (isTensorLike(ctx)) ctx.dispose();
  else if (Array.isArray(ctx)) for (const v of ctx) disposeSaved(v);
  else if (ctx && typeof ctx === 'object') for (const v of Object.values(ctx)) disposeSaved(v);
}
