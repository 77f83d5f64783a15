/** A named, optionally trainable tensor of a module, with its accumulated gradient. */
import { SamCobotError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { accumulate } from '../ops/elementwise.js';

export class Parameter {
  /** The official state-dict key, e.g. `image_encoder.blocks.0.attn.qkv.weight`. */
  readonly name: string;
  /** The shape the module expects (checked when a value is loaded). */
  readonly shape: number[];
  /** Buffers (like the Fourier matrix) are state but never trained. */
  readonly isBuffer: boolean;
  requiresGrad = true;
  grad: Tensor | null = null;
  private current: Tensor | null = null;

  constructor(name: string, shape: number[], options: { buffer?: boolean } = {}) {
    this.name = name;
    this.shape = shape;
    this.isBuffer = options.buffer ?? false;
    if (this.isBuffer) this.requiresGrad = false;
  }

  get value(): Tensor {
    if (!this.current) throw new SamCobotError('ERR_ARGUMENT', `Expected a loaded value for parameter ${this.name} but received none (load weights first)`);
    return this.current;
  }

  get loaded(): boolean {
    return this.current !== null;
  }

  /** Replaces the value (shape-checked); the old value is disposed unless it is the same tensor. */
  set value(tensor: Tensor) {
    const shape = tensor.shape;
    if (shape.length !== this.shape.length || shape.some((d, i) => d !== this.shape[i]))
      throw new SamCobotError('ERR_SHAPE', `Expected shape [${this.shape}] for ${this.name} but received [${shape}]`);
    if (this.current && this.current !== tensor) this.current.dispose();
    this.current = tensor;
  }

  /** Whether backward should compute this parameter's gradient. */
  get needsGrad(): boolean {
    return this.requiresGrad && !this.isBuffer;
  }

  /** Adds `delta` (same shape) into the gradient, allocating zeros on first use. Disposes `delta`. */
  addGrad(delta: Tensor): void {
    if (!this.grad) {
      this.grad = delta.shape.length === this.shape.length ? delta : delta.reshape(this.shape);
      if (this.grad !== delta) delta.dispose();
      return;
    }
    accumulate(this.grad, delta.shape.length === this.shape.length ? delta : delta.reshape(this.shape));
    delta.dispose();
  }

  /** The gradient tensor itself (zeros on first use), for ops that accumulate in place. */
  gradBuffer(): Tensor {
    this.grad ??= Tensor.zeros(this.shape, { device: this.value.device, dtype: this.value.dtype });
    return this.grad;
  }

  zeroGrad(): void {
    this.grad?.dispose();
    this.grad = null;
  }

  dispose(): void {
    this.zeroGrad();
    this.current?.dispose();
    this.current = null;
  }
}
