/** Prompt inputs given as plain JS data: nested arrays or {data, shape}. */
import { SamCobotError } from '../errors.js';

export type NestedNumbers = number | NestedNumbers[];
export interface HostArray {
  data: ArrayLike<number>;
  shape: number[];
}
export type HostArrayLike = HostArray | NestedNumbers[];

/** Flattens and checks the rank (and any fixed dims given as numbers in `dims`). */
export function toHostArray(value: HostArrayLike, name: string, dims: Array<number | null>): { data: Float64Array; shape: number[] } {
  let data: number[] | ArrayLike<number>;
  let shape: number[];
  if (Array.isArray(value)) {
    shape = [];
    let level: unknown = value;
    while (Array.isArray(level)) {
      shape.push(level.length);
      level = level[0];
    }
    data = (value as unknown[]).flat(Infinity) as number[];
  } else if (value && typeof value === 'object' && 'data' in value && 'shape' in value) {
    data = value.data;
    shape = [...value.shape];
  } else {
    throw new SamCobotError('ERR_ARGUMENT', `Expected a nested number array or {data, shape} for ${name} but received ${typeof value}`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const ok = shape.length === dims.length && dims.every((d, i) => d === null || d === shape[i]) && data.length === count;
  if (!ok)
    throw new SamCobotError('ERR_SHAPE', `Expected shape [${dims.map((d) => d ?? '*')}] for ${name} but received [${shape}] with ${data.length} values`);
  const out = Float64Array.from(data as ArrayLike<number>);
  for (let i = 0; i < out.length; i++)
    if (!Number.isFinite(out[i]!)) throw new SamCobotError('ERR_ARGUMENT', `Expected finite numbers for ${name} but received ${out[i]} at index ${i}`);
  return { data: out, shape };
}
