/**
 * PyTorch checkpoints (`torch.save` files, e.g. the official `sam_vit_b_01ec64.pth`) read without
 * running code.
 *
 * Two container formats exist:
 * - zip (the default since PyTorch 1.6): `<folder>/data.pkl` is the pickled object, each storage is
 *   the record `<folder>/data/<key>` (raw little-endian bytes), and `<folder>/byteorder`, when
 *   present, says `little`. The folder is named after the file, so it is found, not assumed.
 * - legacy (`_use_new_zipfile_serialization=False`): five pickles in a row (magic number,
 *   protocol version 1001, sys info, the object, the list of storage keys), then for each key in
 *   that list an int64 element count and the storage's raw bytes.
 * In both, the object refers to storages through persistent ids `('storage', <type>, key,
 * location, numel[, view])`, decoded by the restricted unpickler (unpickle.ts), which refuses any
 * global or opcode a state dict does not need.
 *
 * The tensors of the state dict are then read one at a time: only the byte range a tensor's view
 * covers is read, strided views are gathered into contiguous copies on the host, and element types
 * map to tensor dtypes as described in stored-tensor.ts. The state dict is the top-level dict when
 * all its values are tensors; otherwise (training checkpoints) it is found under a usual key
 * (`state_dict`, `model`, ...) or as the only dict of tensors at the top, and the other top-level
 * entries come back as plain JS values in `extra` (tensors there are described, not read).
 */
import { resolveDevice, type Device, type DeviceRequest } from '../device.js';
import type { Tensor } from '../tensor.js';
import { withFile, fileError, type BinaryFile } from './binary-file.js';
import { storedItemSize, tensorFromStored, type StoredDType } from './stored-tensor.js';
import {
  PyDict,
  PyGlobal,
  PyTuple,
  TorchStorage,
  TorchTensor,
  TruncatedPickleError,
  describePy,
  storageDTypes,
  toPlainValue,
  unpickle,
} from './unpickle.js';
import { readZipDirectory, readZipRecord, type ZipEntry } from './zip.js';

export interface ReadPthOptions {
  /** Where the tensors go (default `'cpu'`). */
  device?: DeviceRequest;
  /** Read only these state-dict tensors (each must exist); default: all, in file order. */
  keys?: Iterable<string>;
  /** The top-level entry holding the state dict, when the automatic choice is not the right one. */
  stateDictKey?: string;
}

/** How a tensor outside the state dict appears in `extra` (its data is not read). */
export interface PthTensorInfo {
  kind: 'tensor';
  dtype: StoredDType;
  shape: number[];
}

export interface PthCheckpoint {
  /** The state dict, in file order. */
  tensors: Map<string, Tensor>;
  /** The other top-level entries of a training checkpoint as plain values (empty for a bare state dict). */
  extra: Record<string, unknown>;
  /** The top-level key the state dict came from, or null when the file is the state dict itself. */
  stateDictKey: string | null;
  format: 'zip' | 'legacy';
}

/** Top-level keys that usually hold the model in training checkpoints, in order of preference. */
const stateDictKeys = ['state_dict', 'model', 'model_state_dict', 'module', 'net', 'network', 'weights', 'params'];

/** Reads byte ranges of storages, whichever container holds them. */
type StorageReader = (storage: TorchStorage, begin: number, end: number) => Promise<Uint8Array>;

interface Decoded {
  root: unknown;
  read: StorageReader;
}

/** Validates a persistent id's common fields: ('storage', <type>, key, location, numel, ...). */
function storageFromPid(path: string, part: string, pid: unknown, offset: number, length: number): { key: string; dtype: StoredDType; count: number; location: string; items: readonly unknown[] } {
  const at = `${part} at byte ${offset}`;
  if (!(pid instanceof PyTuple) || pid.items.length !== length || pid.items[0] !== 'storage')
    throw fileError(path, at, `a persistent id ('storage', type, key, location, numel${length === 6 ? ', view' : ''})`, pid instanceof PyTuple ? `a tuple (${pid.items.map(describePy).join(', ')})` : describePy(pid));
  const [, type, key, location, count] = pid.items;
  const dtype = type instanceof PyGlobal ? storageDTypes[type.qualifiedName] : undefined;
  if (!dtype) throw fileError(path, at, 'a storage type such as torch.FloatStorage', describePy(type));
  if (typeof key !== 'string') throw fileError(path, at, 'a string storage key', describePy(key));
  if (typeof location !== 'string') throw fileError(path, at, 'a string storage location', describePy(location));
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) throw fileError(path, at, 'a non-negative storage size', describePy(count));
  return { key, dtype, count, location, items: pid.items };
}

/** One storage object per key; a key seen again must agree on type and size. */
function internStorage(path: string, at: string, storages: Map<string, TorchStorage>, fields: { key: string; dtype: StoredDType; count: number; location: string }): { storage: TorchStorage; isNew: boolean } {
  const known = storages.get(fields.key);
  if (known) {
    if (known.dtype !== fields.dtype || known.count !== fields.count)
      throw fileError(path, at, `storage ${JSON.stringify(fields.key)} as ${known.dtype} x ${known.count}, as first declared`, `${fields.dtype} x ${fields.count}`);
    return { storage: known, isNew: false };
  }
  const storage = new TorchStorage(fields.key, fields.dtype, fields.count, fields.location);
  storages.set(fields.key, storage);
  return { storage, isNew: true };
}

// torch never compresses; a re-zipped checkpoint may be deflated, within this bound per record.
const maxInflatedRecord = 1 << 30;

async function decodeZip(file: BinaryFile): Promise<Decoded> {
  const path = file.path;
  const directory = await readZipDirectory(file);
  const pickles = [...directory.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1) throw fileError(path, 'data.pkl', 'exactly one <folder>/data.pkl record (a torch.save zip)', `${pickles.length}`);
  const part = pickles[0]!;
  const folder = part.slice(0, -'data.pkl'.length);
  const recordOf = (entry: ZipEntry): ZipEntry => {
    if (entry.method !== 0 && entry.size > maxInflatedRecord)
      throw fileError(path, entry.name, `a stored record, or a compressed one of at most ${maxInflatedRecord} bytes`, `${entry.size} compressed bytes`);
    return entry;
  };
  const byteorder = directory.get(`${folder}byteorder`);
  if (byteorder) {
    const order = Buffer.from(await readZipRecord(file, recordOf(byteorder), 0, Math.min(byteorder.size, 16), true)).toString('latin1');
    if (order !== 'little') throw fileError(path, byteorder.name, "'little' (big-endian checkpoints are not supported)", JSON.stringify(order));
  }
  const pickle = await readZipRecord(file, recordOf(directory.get(part)!), 0, undefined, true);
  const storages = new Map<string, TorchStorage>();
  const records = new Map<TorchStorage, ZipEntry>();
  const { value: root } = unpickle(pickle, {
    file: path,
    part,
    persistentLoad(pid, offset) {
      const at = `${part} at byte ${offset}`;
      const fields = storageFromPid(path, part, pid, offset, 5);
      const { storage, isNew } = internStorage(path, at, storages, fields);
      if (isNew) {
        const record = directory.get(`${folder}data/${fields.key}`);
        if (!record) throw fileError(path, at, `a record ${folder}data/${fields.key} for the storage`, 'none in the archive');
        const bytes = fields.count * storedItemSize[fields.dtype];
        if (record.size !== bytes) throw fileError(path, record.name, `${bytes} bytes (${fields.count} x ${fields.dtype})`, `${record.size}`);
        records.set(storage, recordOf(record));
      }
      return storage;
    },
  });
  return { root, read: (storage, begin, end) => readZipRecord(file, records.get(storage)!, begin, end) };
}

const legacyMagic = 0x1950a86a20f9469cfc6cn;

/** The five legacy pickles, decoded from a prefix of the file that must hold them all. */
function decodeLegacyPickles(path: string, bytes: Uint8Array): { root: unknown; storages: Map<string, TorchStorage>; keys: unknown; end: number } {
  const magic = unpickle(bytes, { file: path, part: 'magic number' });
  if (magic.value !== legacyMagic) throw fileError(path, 'magic number', 'the PyTorch magic number 0x1950a86a20f9469cfc6c', describePy(magic.value));
  const protocol = unpickle(bytes, { file: path, part: 'protocol version', start: magic.end });
  if (protocol.value !== 1001) throw fileError(path, 'protocol version', '1001', describePy(protocol.value));
  const sysInfo = unpickle(bytes, { file: path, part: 'sys info', start: protocol.end });
  if (!(sysInfo.value instanceof PyDict) || sysInfo.value.map.get('little_endian') !== true)
    throw fileError(path, 'sys info', "a dict with little_endian True (big-endian checkpoints are not supported)", describePy(sysInfo.value));
  const storages = new Map<string, TorchStorage>();
  const part = 'object pickle';
  const main = unpickle(bytes, {
    file: path,
    part,
    start: sysInfo.end,
    persistentLoad(pid, offset) {
      if (pid instanceof PyTuple && pid.items[0] === 'module')
        throw fileError(path, `${part} at byte ${offset}`, 'tensors only', 'a pickled module with its source (not loadable without running code)');
      const fields = storageFromPid(path, part, pid, offset, 6);
      if (fields.items[5] !== null) throw fileError(path, `${part} at byte ${offset}`, 'a storage without view metadata', 'a storage view (pre-1.0 format)');
      return internStorage(path, `${part} at byte ${offset}`, storages, fields).storage;
    },
  });
  const keys = unpickle(bytes, { file: path, part: 'storage keys', start: main.end });
  return { root: main.value, storages, keys: keys.value, end: keys.end };
}

async function decodeLegacy(file: BinaryFile): Promise<Decoded> {
  const path = file.path;
  // The pickles come first and are small next to the data; read a prefix, growing it until they fit.
  let length = Math.min(file.size, 1 << 20);
  let decoded: ReturnType<typeof decodeLegacyPickles>;
  for (;;) {
    try {
      decoded = decodeLegacyPickles(path, await file.read(0, length, 'pickles'));
      break;
    } catch (error) {
      if (!(error instanceof TruncatedPickleError) || length === file.size) throw error;
      length = Math.min(file.size, length * 4);
    }
  }
  const { root, storages, keys, end } = decoded;
  if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string')) throw fileError(path, 'storage keys', 'a list of strings', describePy(keys));
  const starts = new Map<TorchStorage, number>();
  let offset = end;
  for (const key of keys as string[]) {
    const storage = storages.get(key);
    if (!storage) throw fileError(path, `storage ${JSON.stringify(key)}`, 'a storage the object refers to', 'a key no tensor uses');
    if (starts.has(storage)) throw fileError(path, `storage ${JSON.stringify(key)}`, 'each storage once', 'a repeated key');
    const count = new DataView((await file.read(offset, 8, `storage ${JSON.stringify(key)} size`)).buffer).getBigInt64(0, true);
    if (count !== BigInt(storage.count)) throw fileError(path, `storage ${JSON.stringify(key)}`, `${storage.count} elements, as declared`, `${count}`);
    starts.set(storage, offset + 8);
    offset += 8 + storage.count * storedItemSize[storage.dtype];
    if (offset > file.size) throw fileError(path, `storage ${JSON.stringify(key)}`, `data ending at byte ${offset}`, `a file of ${file.size} bytes (truncated)`);
  }
  return {
    root,
    read: (storage, begin, end) => {
      const start = starts.get(storage);
      if (start === undefined) throw fileError(path, `storage ${JSON.stringify(storage.key)}`, 'data in the file', 'a storage missing from the key list');
      return file.read(start + begin, end - begin, `storage ${JSON.stringify(storage.key)}`);
    },
  };
}

function isStateDict(value: unknown): value is PyDict {
  if (!(value instanceof PyDict)) return false;
  for (const [key, v] of value.map) if (typeof key !== 'string' || !(v instanceof TorchTensor)) return false;
  return true;
}

function withoutKey(dict: PyDict, key: string): PyDict {
  const rest = new PyDict();
  for (const [k, v] of dict.map) if (k !== key) rest.map.set(k, v);
  return rest;
}

function findStateDict(path: string, root: unknown, requested: string | undefined): { dict: PyDict; key: string | null } {
  if (requested !== undefined) {
    const value = root instanceof PyDict ? root.map.get(requested) : undefined;
    if (!isStateDict(value)) throw fileError(path, requested, 'a dict of tensors under that top-level key', value === undefined ? 'no such entry' : describePy(value));
    return { dict: value, key: requested };
  }
  if (isStateDict(root)) return { dict: root, key: null };
  if (root instanceof PyDict) {
    for (const key of stateDictKeys) {
      const value = root.map.get(key);
      if (isStateDict(value)) return { dict: value, key };
    }
    const candidates = [...root.map].filter(([key, value]) => typeof key === 'string' && isStateDict(value));
    if (candidates.length === 1) return { dict: candidates[0]![1] as PyDict, key: candidates[0]![0] as string };
  }
  throw fileError(path, 'top-level object', `a dict of tensors, or a dict holding one (under ${stateDictKeys.join(', ')}, or the only one)`, describePy(root));
}

function isRowMajor(t: TorchTensor): boolean {
  let expected = 1;
  for (let i = t.shape.length - 1; i >= 0; i--) {
    if (t.shape[i] !== 1 && t.stride[i] !== expected) return false;
    expected *= t.shape[i]!;
  }
  return true;
}

/** Copies a strided view (`bytes` starts at its first element) into row-major order. */
function gather(bytes: Uint8Array, t: TorchTensor, itemSize: number, numel: number): Uint8Array {
  // Copy in the widest unit that divides the element size (8-byte elements as two 32-bit words).
  const unit = Math.min(itemSize, 4);
  const words = itemSize / unit;
  const source = bytes.byteOffset % unit === 0 ? bytes : bytes.slice();
  const out = new Uint8Array(numel * itemSize);
  const Words = unit === 4 ? Uint32Array : unit === 2 ? Uint16Array : Uint8Array;
  const from = new Words(source.buffer as ArrayBuffer, source.byteOffset, source.byteLength / unit);
  const to = new Words(out.buffer);
  const rank = t.shape.length;
  const index = new Array<number>(rank).fill(0);
  let at = 0;
  for (let i = 0; i < numel; i++) {
    for (let w = 0; w < words; w++) to[i * words + w] = from[at * words + w]!;
    for (let k = rank - 1; k >= 0; k--) {
      index[k]!++;
      at += t.stride[k]!;
      if (index[k]! < t.shape[k]!) break;
      at -= t.stride[k]! * t.shape[k]!;
      index[k] = 0;
    }
  }
  return out;
}

async function readTensor(read: StorageReader, t: TorchTensor, device: Device, path: string, key: string): Promise<Tensor> {
  const { dtype } = t.storage;
  const itemSize = storedItemSize[dtype];
  const numel = t.shape.reduce((a, b) => a * b, 1);
  if (numel === 0) return tensorFromStored(new Uint8Array(0), dtype, t.shape, device, path, key);
  // The unpickler checked that this span lies inside the storage.
  const span = 1 + t.shape.reduce((sum, d, i) => sum + (d - 1) * t.stride[i]!, 0);
  const bytes = await read(t.storage, t.offset * itemSize, (t.offset + span) * itemSize);
  const dense = isRowMajor(t) ? bytes : gather(bytes, t, itemSize, numel);
  return tensorFromStored(dense, dtype, t.shape, device, path, key);
}

/** Decodes the file's object, from either container format. */
async function decode(file: BinaryFile): Promise<Decoded & { format: 'zip' | 'legacy' }> {
  const head = await file.read(0, Math.min(file.size, 4), 'file signature');
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return { ...(await decodeZip(file)), format: 'zip' };
  if (head[0] === 0x80) return { ...(await decodeLegacy(file)), format: 'legacy' };
  throw fileError(file.path, 'file signature', 'a PyTorch checkpoint (a zip, or a legacy file starting with a pickle)', `the bytes ${[...head].map((b) => b.toString(16).padStart(2, '0')).join(' ')}`);
}

/**
 * Reads a PyTorch checkpoint (zip or legacy format) without executing anything: see the file's
 * description for the accepted content. The state dict's tensors come back in file order on
 * `options.device`; F64 stays f64 on the CPU (f32 on CUDA), BF16/F16 become f32 on the CPU,
 * integer types become i32 (int64 values must fit), bool becomes u8. Malformed, truncated or
 * refused content throws `ERR_FILE` naming the file, the part and the byte offset; on error no
 * tensor is left allocated.
 */
export async function readPth(path: string, options: ReadPthOptions = {}): Promise<PthCheckpoint> {
  const device = resolveDevice(options.device);
  return withFile(path, async (file) => {
    const { root, read, format } = await decode(file);
    const { dict, key: stateDictKey } = findStateDict(path, root, options.stateDictKey);
    const extra = stateDictKey === null ? {} : (toPlainValue(withoutKey(root as PyDict, stateDictKey), path, 'top-level object') as Record<string, unknown>);
    let names = [...dict.map.keys()] as string[];
    if (options.keys !== undefined) {
      names = [...new Set(options.keys)];
      for (const name of names) if (!dict.map.has(name)) throw fileError(path, name, 'a tensor of that name in the state dict', 'none');
    }
    const tensors = new Map<string, Tensor>();
    try {
      for (const name of names) tensors.set(name, await readTensor(read, dict.map.get(name) as TorchTensor, device, path, name));
    } catch (error) {
      for (const t of tensors.values()) t.dispose();
      throw error;
    }
    return { tensors, extra, stateDictKey, format };
  });
}
