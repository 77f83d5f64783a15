/**
 * Tensors: contiguous row-major arrays on a device, backed by native memory. Native memory is freed
 * by `dispose()` (or by leaving a {@link withScope}); a finalizer is only a safety net.
 */
import { SamCobotError, describe, expected, fromNative } from './errors.js';
import { resolveDevice, type Device, type DeviceRequest } from './device.js';
import { call, type NativeTensor } from './native.js';

export type DType = 'f32' | 'f64' | 'bf16' | 'f16' | 'i32' | 'u8';
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array | Uint16Array;

export interface TensorOptions {
  device?: DeviceRequest;
  dtype?: DType;
}

const arrayTypes: Record<DType, new (length: number) => TypedArray> = {
  f32: Float32Array,
  f64: Float64Array,
  bf16: Uint16Array,
  f16: Uint16Array,
  i32: Int32Array,
  u8: Uint8Array,
};

/** The array type each dtype reads back as (bf16 and f16 as their raw 16-bit patterns). */
function arrayFor(dtype: DType, buffer: ArrayBuffer): TypedArray {
  switch (dtype) {
    case 'f32': return new Float32Array(buffer);
    case 'f64': return new Float64Array(buffer);
    case 'i32': return new Int32Array(buffer);
    case 'u8': return new Uint8Array(buffer);
    default: return new Uint16Array(buffer);
  }
}

function defaultDtype(data: TypedArray | number[]): DType {
  if (data instanceof Float64Array) return 'f64';
  if (data instanceof Int32Array) return 'i32';
  if (data instanceof Uint8Array) return 'u8';
  return 'f32';
}

function checkShape(shape: readonly number[], name = 'shape'): number[] {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0))
    throw expected('ERR_SHAPE', 'an array of non-negative integers', name, shape);
  return [...shape];
}

const finalizer = new FinalizationRegistry<NativeTensor>((handle) => handle.dispose());

// Scopes: tensors created inside withScope() are disposed when it returns, except those it returns.
const scopes: Set<Tensor>[] = [];

export class Tensor {
  /** @internal */
  readonly handle: NativeTensor;

  /** @internal Wraps an addon handle; use the static constructors instead. */
  constructor(handle: NativeTensor) {
    this.handle = handle;
    finalizer.register(this, handle, this);
    scopes.at(-1)?.add(this);
  }

  /** A tensor holding `data` (copied now), with `shape`; dtype defaults from the array type. */
  static fromArray(data: TypedArray | number[], shape: readonly number[], options: TensorOptions = {}): Tensor {
    if (!Array.isArray(data) && !ArrayBuffer.isView(data)) throw expected('ERR_ARGUMENT', 'a typed array or an array of numbers', 'data', data);
    const dtype = options.dtype ?? defaultDtype(data);
    if (!Object.hasOwn(arrayTypes, dtype)) throw expected('ERR_DTYPE', 'one of f32, f64, bf16, f16, i32, u8', 'dtype', dtype);
    const device = resolveDevice(options.device);
    const dims = checkShape(shape);
    const count = dims.reduce((a, b) => a * b, 1);
    // Checked before anything is allocated, so a huge shape fails here rather than in new ArrayBuffer().
    if (data.length !== count)
      throw new SamCobotError('ERR_SHAPE', `Expected ${count} elements for shape [${dims}] for data but received ${data.length} elements`);
    if ((dtype === 'bf16' || dtype === 'f16') && !(data instanceof Uint16Array))
      throw expected('ERR_DTYPE', `raw 16-bit patterns in a Uint16Array for dtype ${dtype} (or f32 data cast on the device)`, 'data', data);
    // Values of another array type are converted (an Int32Array's bits are never read as f32).
    let view = data as TypedArray;
    if (!(data instanceof arrayTypes[dtype])) {
      view = new arrayTypes[dtype](count);
      view.set(data);
    }
    return new Tensor(call((a) => a.fromBytes(view, dims, dtype, device)));
  }

  /** An uninitialised tensor (contents are whatever the arena held). */
  static empty(shape: readonly number[], options: TensorOptions = {}): Tensor {
    const device = resolveDevice(options.device);
    return new Tensor(call((a) => a.empty(checkShape(shape), options.dtype ?? 'f32', device)));
  }

  static full(shape: readonly number[], value: number, options: TensorOptions = {}): Tensor {
    const t = Tensor.empty(shape, options);
    call((a) => a.op('fill', [t.handle], { value }));
    return t;
  }

  static zeros(shape: readonly number[], options: TensorOptions = {}): Tensor {
    return Tensor.full(shape, 0, options);
  }

  static ones(shape: readonly number[], options: TensorOptions = {}): Tensor {
    return Tensor.full(shape, 1, options);
  }

  /**
   * Standard normal values (times `std`, plus `mean`). Element i depends only on (seed, i), so CPU
   * and CUDA give the same tensor.
   */
  static randn(shape: readonly number[], options: TensorOptions & { seed?: number; mean?: number; std?: number } = {}): Tensor {
    const t = Tensor.empty(shape, options);
    call((a) => a.op('random_fill', [t.handle], { seed: options.seed ?? 0, distribution: 'normal', mean: options.mean ?? 0, std: options.std ?? 1 }));
    return t;
  }

  /** Uniform values in [low, high), seeded as {@link Tensor.randn}. */
  static rand(shape: readonly number[], options: TensorOptions & { seed?: number; low?: number; high?: number } = {}): Tensor {
    const t = Tensor.empty(shape, options);
    call((a) => a.op('random_fill', [t.handle], { seed: options.seed ?? 0, distribution: 'uniform', low: options.low ?? 0, high: options.high ?? 1 }));
    return t;
  }

  get shape(): number[] {
    return call(() => this.handle.shape);
  }
  get dtype(): DType {
    return call(() => this.handle.dtype) as DType;
  }
  get device(): Device {
    return call(() => this.handle.device);
  }
  get disposed(): boolean {
    return this.handle.disposed;
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** A copy on `device` (this tensor itself when it is already there). */
  to(device: DeviceRequest): Tensor {
    const target = resolveDevice(device);
    if (target === this.device) return this;
    return new Tensor(call((a) => a.transfer(this.handle, target)));
  }

  /** The same storage with another shape of the same element count. */
  reshape(shape: readonly number[]): Tensor {
    return new Tensor(call(() => this.handle.reshape(checkShape(shape))));
  }

  /** Resolves with the values once every op that produces them has run. */
  async toArray(): Promise<TypedArray> {
    const dtype = this.dtype;
    const buffer = await call(() => this.handle.read()).catch((error: unknown) => {
      throw fromNative(error);
    });
    return arrayFor(dtype, buffer);
  }

  /** Frees the native memory now (idempotent). Ops already queued keep what they need. */
  dispose(): void {
    finalizer.unregister(this);
    this.handle.dispose();
  }

  toString(): string {
    return this.disposed ? 'Tensor(disposed)' : `Tensor(${describe(this.shape)}, ${this.dtype}, ${this.device})`;
  }
}

/**
 * Runs `fn`, then disposes every tensor created inside it except those in its result (a tensor, or
 * an array or plain object of tensors). Works with async functions too.
 */
export function withScope<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw error;
  }
  if (result instanceof Promise) {
    scopes.pop();
    throw new SamCobotError('ERR_ARGUMENT', 'Expected a synchronous function for withScope but received an async one (await inside a scope cannot be tracked)');
  }
  scopes.pop();
  const keep = new Set<Tensor>();
  collect(result, keep);
  for (const t of scope) if (!keep.has(t)) t.dispose();
  const parent = scopes.at(-1);
  if (parent) for (const t of keep) parent.add(t);
  return result;
}

function collect(value: unknown, into: Set<Tensor>): void {
  if (value instanceof Tensor) into.add(value);
  else if (Array.isArray(value)) for (const v of value) collect(v, into);
  else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype)
    for (const v of Object.values(value)) collect(v, into);
}
