/**
 * Builds pickles, torch zip archives and legacy torch files byte by byte, for tests that need
 * checkpoints PyTorch would never write (malicious, truncated, inconsistent) as well as small valid
 * ones. Opcode values follow CPython's pickle.py.
 */
import { crc32 } from '../../lib/io/zip.js';

/** A pickle under construction: each method appends one opcode (with its argument). */
export class Pickle {
  private readonly bytes: number[] = [];

  raw(...values: number[]): this {
    this.bytes.push(...values);
    return this;
  }
  proto(version = 2): this {
    return this.raw(0x80, version);
  }
  mark(): this {
    return this.raw(0x28);
  }
  stop(): this {
    return this.raw(0x2e);
  }
  none(): this {
    return this.raw(0x4e);
  }
  bool(value: boolean): this {
    return this.raw(value ? 0x88 : 0x89);
  }
  /** BININT1, BININT2 or BININT, whichever fits. */
  int(value: number): this {
    if (value >= 0 && value < 256) return this.raw(0x4b, value);
    if (value >= 0 && value < 65536) return this.raw(0x4d, value & 0xff, value >> 8);
    const b = Buffer.alloc(4);
    b.writeInt32LE(value);
    return this.raw(0x4a, ...b);
  }
  /** LONG1 with the minimal two's-complement little-endian bytes of `value`. */
  long(value: bigint): this {
    let n = 1;
    while (value < -(1n << BigInt(8 * n - 1)) || value >= 1n << BigInt(8 * n - 1)) n++;
    const out = Array.from({ length: n }, (_, i) => Number((value >> BigInt(8 * i)) & 0xffn));
    return this.raw(0x8a, n, ...out);
  }
  float(value: number): this {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(value);
    return this.raw(0x47, ...b);
  }
  str(value: string): this {
    const b = Buffer.from(value, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32LE(b.length);
    return this.raw(0x58, ...length, ...b);
  }
  global(module: string, name: string): this {
    return this.raw(0x63, ...Buffer.from(`${module}\n${name}\n`, 'latin1'));
  }
  emptyTuple(): this {
    return this.raw(0x29);
  }
  tuple(): this {
    return this.raw(0x74);
  }
  tuple1(): this {
    return this.raw(0x85);
  }
  emptyDict(): this {
    return this.raw(0x7d);
  }
  emptyList(): this {
    return this.raw(0x5d);
  }
  append(): this {
    return this.raw(0x61);
  }
  setitem(): this {
    return this.raw(0x73);
  }
  setitems(): this {
    return this.raw(0x75);
  }
  reduce(): this {
    return this.raw(0x52);
  }
  build(): this {
    return this.raw(0x62);
  }
  binpersid(): this {
    return this.raw(0x51);
  }
  put(index: number): this {
    return this.raw(0x71, index);
  }
  get(index: number): this {
    return this.raw(0x68, index);
  }
  /** A tuple of small non-negative ints. */
  ints(values: number[]): this {
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }
  toBytes(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

export interface CraftedTensor {
  name: string;
  /** Storage type name under `torch`, e.g. 'FloatStorage'. */
  storageType?: string;
  key: string;
  /** Elements in the storage. */
  count: number;
  offset?: number;
  shape: number[];
  stride?: number[];
}

function rowMajor(shape: number[]): number[] {
  const stride = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) stride[i] = stride[i + 1]! * shape[i + 1]!;
  return stride;
}

/** Appends `_rebuild_tensor_v2(<persistent storage>, offset, shape, stride, False, OrderedDict())`. */
export function pushTensor(p: Pickle, t: CraftedTensor, legacy: boolean): Pickle {
  p.global('torch._utils', '_rebuild_tensor_v2').mark();
  p.mark().str('storage').global('torch', t.storageType ?? 'FloatStorage').str(t.key).str('cpu').int(t.count);
  if (legacy) p.none();
  p.tuple().binpersid();
  p.int(t.offset ?? 0).ints(t.shape).ints(t.stride ?? rowMajor(t.shape)).bool(false);
  p.global('collections', 'OrderedDict').emptyTuple().reduce();
  return p.tuple().reduce();
}

/** A complete pickle of an OrderedDict state dict, as torch.save writes it. */
export function stateDictPickle(tensors: CraftedTensor[], legacy = false): Uint8Array {
  const p = new Pickle().proto().global('collections', 'OrderedDict').emptyTuple().reduce().mark();
  for (const t of tensors) pushTensor(p.str(t.name), t, legacy);
  return p.setitems().stop().toBytes();
}

/** An uncompressed zip of `records` (no zip64), laid out as torch writes it. */
export function makeZip(records: Array<{ name: string; data: Uint8Array }>): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of records) {
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    locals.push(local, nameBytes, Buffer.from(data));
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(records.length, 8);
  end.writeUInt16LE(records.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, directory, end]));
}

/** A torch zip checkpoint: `folder/data.pkl` plus one record per storage key. */
export function makeTorchZip(pickle: Uint8Array, storages: Record<string, Uint8Array>, folder = 'archive'): Uint8Array {
  return makeZip([
    { name: `${folder}/data.pkl`, data: pickle },
    { name: `${folder}/byteorder`, data: Buffer.from('little') },
    ...Object.entries(storages).map(([key, data]) => ({ name: `${folder}/data/${key}`, data })),
    { name: `${folder}/version`, data: Buffer.from('3\n') },
  ]);
}

/** A legacy torch file: magic, protocol, sys info, `pickle`, the key list, then each storage. */
export function makeLegacy(pickle: Uint8Array, storages: Array<{ key: string; count: number; data: Uint8Array }>): Uint8Array {
  const magic = new Pickle().proto().long(0x1950a86a20f9469cfc6cn).stop().toBytes();
  const protocol = new Pickle().proto().int(1001).stop().toBytes();
  const sysInfo = new Pickle().proto().emptyDict().mark().str('protocol_version').int(1001).str('little_endian').bool(true).setitems().stop().toBytes();
  const keys = new Pickle().proto().emptyList().mark();
  for (const s of storages) keys.str(s.key);
  const parts: Uint8Array[] = [magic, protocol, sysInfo, pickle, keys.raw(0x65).stop().toBytes()];
  for (const s of storages) {
    const count = Buffer.alloc(8);
    count.writeBigInt64LE(BigInt(s.count));
    parts.push(count, s.data);
  }
  return new Uint8Array(Buffer.concat(parts));
}

/** The little-endian bytes of float32 values. */
export function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}
