/**
 * Turns the raw little-endian bytes of a stored tensor into a {@link Tensor} on a device.
 *
 * Files hold more element types than our tensors do, so each stored type maps to the closest
 * tensor dtype the target device holds, converting on the host where needed:
 * - F32, I32, U8: as they are.
 * - F64: f64 on the CPU (its reference precision); rounded to f32 for CUDA, which has no f64.
 * - BF16, F16: kept as bf16/f16 on CUDA; widened exactly to f32 on the CPU (no 16-bit CPU dtype).
 * - I64, I16, I8: to i32; an I64 value outside the int32 range is an `ERR_FILE` error.
 * - BOOL: to u8 (0/1).
 * The names are the safetensors dtype names; the `.pth` reader maps PyTorch storage types onto them.
 */
import type { Device } from '../device.js';
import { Tensor, type DType, type TypedArray } from '../tensor.js';
import { fileError } from './binary-file.js';

export type StoredDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** Bytes per element of each stored type. */
export const storedItemSize: Record<StoredDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** The stored type a tensor dtype is written as (one to one). */
export const storedDTypeOf: Record<DType, StoredDType> = { f64: 'F64', f32: 'F32', f16: 'F16', bf16: 'BF16', i32: 'I32', u8: 'U8' };

export function isStoredDType(name: unknown): name is StoredDType {
  return typeof name === 'string' && Object.hasOwn(storedItemSize, name);
}

let halfTable: Float32Array | undefined;

/** All 65,536 IEEE half values as floats (built once, 256 KiB): a lookup beats decoding bit fields. */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) halfTable[h] = sign * mantissa * 2 ** -24;
    else if (exponent === 31) halfTable[h] = mantissa ? NaN : sign * Infinity;
    else halfTable[h] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return halfTable;
}

function widenHalf(bits: Uint16Array, dtype: 'F16' | 'BF16'): Float32Array {
  if (dtype === 'BF16') {
    const wide = new Uint32Array(bits.length);
    for (let i = 0; i < bits.length; i++) wide[i] = bits[i]! << 16;
    return new Float32Array(wide.buffer);
  }
  const table = halfToFloatTable();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!;
  return out;
}

/**
 * The host array and tensor dtype for `bytes` of stored type `dtype` on `device`. `file`/`key`
 * name the tensor in errors.
 */
export function decodeStored(bytes: Uint8Array, dtype: StoredDType, device: Device, file: string, key: string): { data: TypedArray; dtype: DType } {
  // Typed-array views need a buffer of their own (aligned, exact length); fresh reads already are.
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  const buffer = (whole ? bytes : bytes.slice()).buffer as ArrayBuffer;
  switch (dtype) {
    case 'F32':
      return { data: new Float32Array(buffer), dtype: 'f32' };
    case 'F64': {
      const data = new Float64Array(buffer);
      return device === 'cpu' ? { data, dtype: 'f64' } : { data: Float32Array.from(data), dtype: 'f32' };
    }
    case 'F16':
    case 'BF16': {
      const bits = new Uint16Array(buffer);
      if (device === 'cuda') return { data: bits, dtype: dtype === 'F16' ? 'f16' : 'bf16' };
      return { data: widenHalf(bits, dtype), dtype: 'f32' };
    }
    case 'I32':
      return { data: new Int32Array(buffer), dtype: 'i32' };
    case 'I16':
      return { data: Int32Array.from(new Int16Array(buffer)), dtype: 'i32' };
    case 'I8':
      return { data: Int32Array.from(new Int8Array(buffer)), dtype: 'i32' };
    case 'I64': {
      const wide = new BigInt64Array(buffer);
      const out = new Int32Array(wide.length);
      for (let i = 0; i < wide.length; i++) {
        const v = wide[i]!;
        if (v < -2147483648n || v > 2147483647n) throw fileError(file, key, 'I64 values that fit in int32 (they are read as i32)', `${v} at element ${i}`);
        out[i] = Number(v);
      }
      return { data: out, dtype: 'i32' };
    }
    case 'U8':
      return { data: new Uint8Array(buffer), dtype: 'u8' };
    case 'BOOL': {
      const data = new Uint8Array(buffer);
      for (let i = 0; i < data.length; i++) data[i] = data[i] ? 1 : 0;
      return { data, dtype: 'u8' };
    }
  }
}

/** A tensor of `shape` on `device` holding `bytes` of stored type `dtype` (see the file's rules). */
export function tensorFromStored(bytes: Uint8Array, dtype: StoredDType, shape: readonly number[], device: Device, file: string, key: string): Tensor {
  const decoded = decodeStored(bytes, dtype, device, file, key);
  return Tensor.fromArray(decoded.data, shape, { dtype: decoded.dtype, device });
}
