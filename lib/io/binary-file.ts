/**
 * Bounds-checked positioned reads of a file, and the one error shape of the file readers.
 *
 * Every reader in lib/io asks for byte ranges it computed from untrusted fields; this class checks
 * each range against the file size before allocating, so a corrupt offset or length can only give
 * an `ERR_FILE` error, never a huge allocation or a short read passed off as data.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { SamCobotError } from '../errors.js';

/** `Expected <what> for <file>: <key> but received <received>`, with code `ERR_FILE`. */
export function fileError(file: string, key: string, what: string, received: string, cause?: unknown): SamCobotError {
  // Received values come from the file: clip them so a corrupt header cannot flood the message.
  const shown = received.length > 200 ? `${received.slice(0, 200)}...` : received;
  return new SamCobotError('ERR_FILE', `Expected ${what} for ${file}: ${key} but received ${shown}`, cause === undefined ? undefined : { cause });
}

// One read call moves at most this many bytes (fs reads are limited to 2 GiB per call).
const maxChunk = 1 << 30;

/** A file open for reading, with its size taken once at open; every read is checked against it. */
export class BinaryFile {
  private constructor(
    readonly path: string,
    readonly size: number,
    private readonly handle: FileHandle,
  ) {}

  /** Opens `path` for reading; a missing or unreadable file is an `ERR_FILE` error. */
  static async open(path: string): Promise<BinaryFile> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      throw fileError(path, 'open', 'a readable file', (error as Error).message, error);
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw fileError(path, 'open', 'a regular file', 'a directory or device');
      return new BinaryFile(path, stat.size, handle);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /**
   * The `length` bytes at `offset`, in a fresh (so aligned) array. A range past the end of the file
   * is reported as truncation of the part named `key`.
   */
  async read(offset: number, length: number, key: string): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size)
      throw fileError(this.path, key, `bytes [${offset}, ${offset + length}) inside the file`, `a file of ${this.size} bytes (truncated or corrupt)`);
    const bytes = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(bytes, done, Math.min(maxChunk, length - done), offset + done);
      if (bytesRead === 0) throw fileError(this.path, key, `${length} bytes at offset ${offset}`, `${done} (the file shrank while being read)`);
      done += bytesRead;
    }
    return bytes;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Runs `body` with the file at `path` open, closing it whatever happens. */
export async function withFile<T>(path: string, body: (file: BinaryFile) => Promise<T>): Promise<T> {
  const file = await BinaryFile.open(path);
  try {
    return await body(file);
  } finally {
    await file.close();
  }
}
