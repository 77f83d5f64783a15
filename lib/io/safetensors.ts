/**
 * safetensors files: read with every header field checked, written atomically.
 *
 * Layout (https://github.com/huggingface/safetensors): an 8-byte little-endian header length N,
 * N bytes of UTF-8 JSON `{name: {dtype, shape, data_offsets: [begin, end)}, "__metadata__": {..}}`
 * (padded with spaces), then the data section; offsets are relative to its start.
 *
 * Reading never trusts the file: the header length is bounded by the file size (and 100 MB) before
 * anything is allocated, the JSON is decoded only after strict UTF-8 validation, and every entry's
 * dtype, shape, size and offsets are validated (in range, non-overlapping) before any tensor data
 * is read. Tensor bytes are then read one tensor at a time with positioned reads, so memory stays
 * at one tensor plus what the caller keeps. Every problem is a `SamCobotError` with code
 * `ERR_FILE`. Element types map to tensor dtypes as described in stored-tensor.ts.
 *
 * Writing keeps the caller's key order, pads the header to 8 bytes, streams one tensor at a time
 * (`await t.toArray()`) into a temporary file beside the target, fsyncs it and renames it over the
 * target: a reader sees the old file or the new one, never a partial write.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SamCobotError, expected } from '../errors.js';
import { resolveDevice, type DeviceRequest } from '../device.js';
import { Tensor } from '../tensor.js';
import { withFile, fileError, type BinaryFile } from './binary-file.js';
import { isStoredDType, storedDTypeOf, storedItemSize, tensorFromStored, type StoredDType } from './stored-tensor.js';

/** The largest header accepted (the format's reference implementation uses the same bound). */
export const maxHeaderBytes = 100_000_000;

/** One validated header entry. */
export interface SafetensorsEntry {
  name: string;
  dtype: StoredDType;
  shape: number[];
  /** [begin, end) in bytes, relative to the data section. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** Entries in data order (the order of their offsets, which writers use for the header too). */
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  /** Absolute file offset of the data section (8 + N). */
  dataStart: number;
  /** Bytes in the data section (file size − dataStart). */
  dataBytes: number;
}

export interface ReadSafetensorsOptions {
  /** Where the tensors go (default `'cpu'`). */
  device?: DeviceRequest;
  /** Read only these tensors (each must exist); default: all, in data order. */
  keys?: Iterable<string>;
}

const supported = Object.keys(storedItemSize).join(', ');

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function validateEntry(file: string, name: string, raw: unknown, dataBytes: number): SafetensorsEntry {
  if (!isPlainObject(raw)) throw fileError(file, name, 'an object {dtype, shape, data_offsets}', JSON.stringify(raw) ?? String(raw));
  const { dtype, shape, data_offsets: offsets } = raw;
  if (!isStoredDType(dtype))
    throw fileError(file, name, `a dtype among ${supported} (U16, U32, U64 and the F8 types are not supported)`, JSON.stringify(dtype) ?? 'none');
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0))
    throw fileError(file, name, 'a shape of non-negative integers', JSON.stringify(shape) ?? 'none');
  if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o) || o < 0))
    throw fileError(file, name, 'data_offsets [begin, end] of two non-negative integers', JSON.stringify(offsets) ?? 'none');
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataBytes)
    throw fileError(file, name, `data_offsets with begin <= end <= ${dataBytes} (the data section's size)`, `[${begin}, ${end}]`);
  // A product beyond 2^53 is inexact, but it is then far larger than any real byte count, so the
  // equality below still rejects it.
  const numel = (shape as number[]).reduce((a, b) => a * b, 1);
  if (numel * storedItemSize[dtype] !== end - begin)
    throw fileError(file, name, `${numel} x ${storedItemSize[dtype]} bytes for shape [${shape}] of ${dtype}`, `${end - begin} bytes`);
  return { name, dtype, shape: [...(shape as number[])], dataOffsets: [begin, end] };
}

function validateMetadata(file: string, raw: unknown): Record<string, string> {
  if (raw === undefined) return {};
  if (!isPlainObject(raw) || Object.values(raw).some((v) => typeof v !== 'string'))
    throw fileError(file, '__metadata__', 'an object of string values', JSON.stringify(raw));
  return Object.fromEntries(Object.entries(raw)) as Record<string, string>;
}

async function readHeader(file: BinaryFile): Promise<SafetensorsHeader> {
  const path = file.path;
  if (file.size < 8) throw fileError(path, 'header length', 'an 8-byte header length', `a file of ${file.size} bytes (truncated)`);
  const length = new DataView((await file.read(0, 8, 'header length')).buffer).getBigUint64(0, true);
  const limit = Math.min(file.size - 8, maxHeaderBytes);
  if (length > BigInt(limit))
    throw fileError(path, 'header length', `at most ${limit} bytes (the file's size after the length field, and at most ${maxHeaderBytes})`, `${length}`);
  const headerBytes = Number(length);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await file.read(8, headerBytes, 'header'));
  } catch (error) {
    if (error instanceof SamCobotError) throw error;
    throw fileError(path, 'header', 'valid UTF-8', 'invalid byte sequences', error);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw fileError(path, 'header', 'a JSON object', (error as Error).message, error);
  }
  if (!isPlainObject(json)) throw fileError(path, 'header', 'a JSON object', Array.isArray(json) ? 'an array' : JSON.stringify(json));
  const dataStart = 8 + headerBytes;
  const dataBytes = file.size - dataStart;
  const metadata = validateMetadata(path, json.__metadata__);
  const entries = Object.entries(json)
    .filter(([name]) => name !== '__metadata__')
    .map(([name, raw]) => validateEntry(path, name, raw, dataBytes))
    .sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  for (let i = 1; i < entries.length; i++) {
    const previous = entries[i - 1]!;
    const entry = entries[i]!;
    if (entry.dataOffsets[0] < previous.dataOffsets[1])
      throw fileError(path, entry.name, `data starting at or after byte ${previous.dataOffsets[1]} (the end of ${JSON.stringify(previous.name)})`, `overlapping data_offsets [${entry.dataOffsets}]`);
  }
  return { entries, metadata, dataStart, dataBytes };
}

/** The validated header of a safetensors file (names, dtypes, shapes, offsets, metadata) without reading tensor data. */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  return withFile(path, readHeader);
}

/**
 * Reads the tensors and metadata of a safetensors file. Tensors come back in data order (a `Map`
 * keyed by name). F64 stays f64 on the CPU and becomes f32 on CUDA; BF16/F16 stay 16-bit on CUDA
 * and become f32 on the CPU; I64/I16/I8 become i32 (an I64 value outside int32 is an error); BOOL
 * becomes u8. Any malformed, truncated or unsupported content throws `ERR_FILE` naming the file and
 * the entry; on error no tensor is left allocated.
 */
export async function readSafetensors(
  path: string,
  options: ReadSafetensorsOptions = {},
): Promise<{ tensors: Map<string, Tensor>; metadata: Record<string, string> }> {
  const device = resolveDevice(options.device);
  return withFile(path, async (file) => {
    const header = await readHeader(file);
    let entries = header.entries;
    if (options.keys !== undefined) {
      const byName = new Map(entries.map((e) => [e.name, e]));
      entries = [...new Set(options.keys)].map((key) => {
        const entry = byName.get(key);
        if (!entry) throw fileError(path, key, 'a tensor of that name', 'none in the file');
        return entry;
      });
    }
    const tensors = new Map<string, Tensor>();
    try {
      for (const entry of entries) {
        const [begin, end] = entry.dataOffsets;
        const bytes = await file.read(header.dataStart + begin, end - begin, entry.name);
        tensors.set(entry.name, tensorFromStored(bytes, entry.dtype, entry.shape, device, path, entry.name));
      }
    } catch (error) {
      for (const t of tensors.values()) t.dispose();
      throw error;
    }
    return { tensors, metadata: header.metadata };
  });
}

function checkWriteArguments(path: string, tensors: Array<[string, Tensor]>, metadata: Record<string, string>): void {
  if (typeof path !== 'string' || path.length === 0) throw expected('ERR_ARGUMENT', 'a file path', 'path', path);
  for (const [name, t] of tensors) {
    if (typeof name !== 'string' || name.length === 0 || name === '__metadata__')
      throw expected('ERR_ARGUMENT', 'a non-empty tensor name other than "__metadata__"', 'tensors', name);
    if (!(t instanceof Tensor)) throw expected('ERR_ARGUMENT', 'a Tensor', `tensors[${JSON.stringify(name)}]`, t);
    if (t.disposed) throw expected('ERR_DISPOSED', 'a live tensor', `tensors[${JSON.stringify(name)}]`, 'a disposed one');
  }
  if (typeof metadata !== 'object' || metadata === null || Object.values(metadata).some((v) => typeof v !== 'string'))
    throw expected('ERR_ARGUMENT', 'an object of string values', 'metadata', metadata);
}

/** The header bytes (length field included), padded with spaces so the data section starts 8-aligned. */
function encodeHeader(tensors: Array<[string, Tensor]>, metadata: Record<string, string> | undefined): { bytes: Buffer; offsets: number[] } {
  // Built by hand rather than from one object: JSON.stringify would move integer-like names first.
  const fields: string[] = [];
  if (metadata) fields.push(`"__metadata__":${JSON.stringify(metadata)}`);
  const offsets: number[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const dtype = storedDTypeOf[t.dtype];
    const size = t.numel * storedItemSize[dtype];
    fields.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype, shape: t.shape, data_offsets: [offset, offset + size] })}`);
    offsets.push(offset);
    offset += size;
  }
  const json = Buffer.from(`{${fields.join(',')}}`, 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  const bytes = Buffer.alloc(8 + padded, 0x20);
  bytes.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(bytes, 8);
  return { bytes, offsets };
}

/**
 * Writes `tensors` (in their iteration order) and optional string `metadata` to `path` as
 * safetensors. Data goes to a temporary file in the same folder, which is fsynced and then renamed
 * over `path`, so `path` holds either its old content or the complete new file; the temporary file
 * is removed on failure. Errors are `ERR_ARGUMENT` for bad arguments and `ERR_FILE` for I/O.
 */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, Tensor> | Map<string, Tensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  const list = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  checkWriteArguments(path, list, metadata ?? {});
  const { bytes: header, offsets } = encodeHeader(list, metadata);
  const temporary = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  let handle;
  try {
    handle = await open(temporary, 'wx');
    await writeAll(handle, header, 0);
    for (let i = 0; i < list.length; i++) {
      const data = await list[i]![1].toArray();
      await writeAll(handle, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), header.length + offsets[i]!);
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temporary, path);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined);
    if (error instanceof SamCobotError) throw error;
    throw fileError(path, 'write', 'a writable file', (error as Error)?.message ?? String(error), error);
  }
  await syncDirectory(dirname(path));
}

async function writeAll(handle: Awaited<ReturnType<typeof open>>, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/** Makes the rename durable where the platform allows fsync on a folder (not on Windows). */
async function syncDirectory(folder: string): Promise<void> {
  const handle = await open(folder, 'r').catch(() => undefined);
  await handle?.sync().catch(() => undefined);
  await handle?.close().catch(() => undefined);
}
