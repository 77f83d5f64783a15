/**
 * The zip reading PyTorch checkpoints need: the central directory (zip64 included) and records
 * read by byte range, stored or deflated.
 *
 * `torch.save` writes an uncompressed zip whose records are 64-byte aligned, so a storage can be
 * read with one positioned read of just the bytes a tensor uses. The reader walks the end-of-
 * central-directory record, then the directory, validating every size and offset against the file
 * before reading; the local header of a record is read only when the record is opened (its extra
 * field may differ from the directory's: torch pads it to align the data). Deflated records are
 * inflated whole, with the output bounded by the declared size. Small records (the pickle) are
 * checked against their CRC-32; storages are not, since that would cost a pass over gigabytes.
 */
import { inflateRawSync } from 'node:zlib';
import { fileError, type BinaryFile } from './binary-file.js';

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const eocdSignature = 0x06054b50;
const zip64LocatorSignature = 0x07064b50;
const zip64EocdSignature = 0x06064b50;
const centralSignature = 0x02014b50;
const localSignature = 0x04034b50;

function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function u64(view: DataView, at: number): number {
  return Number(view.getBigUint64(at, true));
}

/** Every entry of the central directory, by name. */
export async function readZipDirectory(file: BinaryFile): Promise<Map<string, ZipEntry>> {
  const path = file.path;
  // The end record is 22 bytes plus a comment of at most 65,535 bytes.
  const tailLength = Math.min(file.size, 22 + 65535);
  const tailStart = file.size - tailLength;
  const tail = await file.read(tailStart, tailLength, 'zip end record');
  const tailView = dataView(tail);
  let eocd = -1;
  for (let i = tailLength - 22; i >= 0; i--) {
    if (tailView.getUint32(i, true) === eocdSignature && i + 22 + tailView.getUint16(i + 20, true) <= tailLength) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw fileError(path, 'zip end record', 'a zip end-of-central-directory record', 'none (truncated or not a zip)');
  let count = tailView.getUint16(eocd + 10, true);
  let directorySize = tailView.getUint32(eocd + 12, true);
  let directoryOffset = tailView.getUint32(eocd + 16, true);
  if (tailView.getUint16(eocd + 4, true) !== 0 || tailView.getUint16(eocd + 6, true) !== 0)
    throw fileError(path, 'zip end record', 'a single-disk zip', 'a multi-disk archive');
  if (count === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator < 0 || tailView.getUint32(locator, true) !== zip64LocatorSignature)
      throw fileError(path, 'zip64 locator', 'a zip64 end-record locator before the end record', 'none');
    const recordOffset = u64(tailView, locator + 8);
    const record = dataView(await file.read(recordOffset, 56, 'zip64 end record'));
    if (record.getUint32(0, true) !== zip64EocdSignature) throw fileError(path, 'zip64 end record', 'the zip64 end-record signature', `0x${record.getUint32(0, true).toString(16)}`);
    count = u64(record, 32);
    directorySize = u64(record, 40);
    directoryOffset = u64(record, 48);
  }
  // Each directory entry takes at least 46 bytes, which bounds the count by the file size.
  if (directoryOffset + directorySize > file.size || count * 46 > directorySize)
    throw fileError(path, 'zip central directory', `${count} entries inside the file`, `offset ${directoryOffset}, size ${directorySize} in a file of ${file.size} bytes`);
  const directory = await file.read(directoryOffset, directorySize, 'zip central directory');
  const view = dataView(directory);
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let n = 0; n < count; n++) {
    if (at + 46 > directorySize || view.getUint32(at, true) !== centralSignature)
      throw fileError(path, `zip central directory entry ${n}`, 'a central directory entry', `bytes at directory offset ${at}`);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const end = at + 46 + nameLength + extraLength + commentLength;
    if (end > directorySize) throw fileError(path, `zip central directory entry ${n}`, 'an entry inside the directory', `one ending at ${end} of ${directorySize}`);
    const name = Buffer.from(directory.subarray(at + 46, at + 46 + nameLength)).toString('utf8');
    const entry: ZipEntry = {
      name,
      flags: view.getUint16(at + 8, true),
      method: view.getUint16(at + 10, true),
      crc32: view.getUint32(at + 16, true),
      compressedSize: view.getUint32(at + 20, true),
      size: view.getUint32(at + 24, true),
      localHeaderOffset: view.getUint32(at + 42, true),
    };
    readZip64Extra(directory.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength), entry);
    if (entries.has(name)) throw fileError(path, name, 'unique record names', 'a duplicate');
    entries.set(name, entry);
    at = end;
  }
  return entries;
}

/** Replaces 0xffffffff sizes and offset by their 64-bit values from the zip64 extra field (id 1). */
function readZip64Extra(extra: Uint8Array, entry: ZipEntry): void {
  const view = dataView(extra);
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = view.getUint16(at, true);
    const length = view.getUint16(at + 2, true);
    if (id === 1) {
      let field = at + 4;
      const end = Math.min(at + 4 + length, extra.length);
      for (const key of ['size', 'compressedSize', 'localHeaderOffset'] as const) {
        if (entry[key] === 0xffffffff && field + 8 <= end) {
          entry[key] = u64(view, field);
          field += 8;
        }
      }
    }
    at += 4 + length;
  }
}

/** Where a record's data starts, from its local header. */
async function dataStart(file: BinaryFile, entry: ZipEntry): Promise<number> {
  const header = dataView(await file.read(entry.localHeaderOffset, 30, `${entry.name} (local header)`));
  if (header.getUint32(0, true) !== localSignature) throw fileError(file.path, entry.name, 'a zip local header', 'other bytes');
  const start = entry.localHeaderOffset + 30 + header.getUint16(26, true) + header.getUint16(28, true);
  if (start + entry.compressedSize > file.size)
    throw fileError(file.path, entry.name, `${entry.compressedSize} bytes of data from offset ${start}`, `a file of ${file.size} bytes (truncated)`);
  return start;
}

/**
 * Bytes [begin, end) of a record's uncompressed content. `verify` checks the whole record's CRC-32
 * (for small records).
 */
export async function readZipRecord(file: BinaryFile, entry: ZipEntry, begin = 0, end = entry.size, verify = false): Promise<Uint8Array> {
  if (entry.flags & 1) throw fileError(file.path, entry.name, 'an unencrypted record', 'an encrypted one');
  if (begin < 0 || begin > end || end > entry.size) throw fileError(file.path, entry.name, `bytes [${begin}, ${end}) inside the record`, `a record of ${entry.size} bytes`);
  const start = await dataStart(file, entry);
  let data: Uint8Array;
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.size) throw fileError(file.path, entry.name, 'equal stored and uncompressed sizes', `${entry.compressedSize} and ${entry.size}`);
    if (!verify) return file.read(start + begin, end - begin, entry.name);
    data = await file.read(start, entry.size, entry.name);
  } else if (entry.method === 8) {
    const compressed = await file.read(start, entry.compressedSize, entry.name);
    try {
      data = inflateRawSync(compressed, { maxOutputLength: Math.max(1, entry.size) });
    } catch (error) {
      throw fileError(file.path, entry.name, `deflate data of ${entry.size} bytes`, (error as Error).message, error);
    }
    if (data.length !== entry.size) throw fileError(file.path, entry.name, `${entry.size} bytes after inflating`, `${data.length}`);
  } else {
    throw fileError(file.path, entry.name, 'a stored or deflated record (method 0 or 8)', `method ${entry.method}`);
  }
  if (verify && crc32(data) !== entry.crc32)
    throw fileError(file.path, entry.name, `CRC-32 0x${entry.crc32.toString(16)}`, `0x${crc32(data).toString(16)} (corrupt record)`);
  return data.subarray(begin, end);
}

let crcTable: Uint32Array | undefined;

/** The zip (IEEE) CRC-32 of `data`. */
export function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = crcTable[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
