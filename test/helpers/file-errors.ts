/** Assertions about file-reading failures, and a per-test scratch folder. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { SamCobotError } from '../../lib/errors.js';
import type { Tensor } from '../../lib/tensor.js';

/** The error `run` throws or rejects with, or undefined when it succeeds. */
export async function errorOf(run: () => unknown): Promise<unknown> {
  try {
    await run();
    return undefined;
  } catch (error) {
    return error;
  }
}

/** Asserts that `run` fails with an `ERR_FILE` SamCobotError whose message matches `pattern`. */
export async function expectFileError(run: () => unknown, pattern?: RegExp, label = ''): Promise<SamCobotError> {
  const error = await errorOf(run);
  assert.ok(error instanceof SamCobotError, `${label}: expected a SamCobotError but got ${error === undefined ? 'success' : String(error)}`);
  const e = error as SamCobotError;
  assert.is(e.code, 'ERR_FILE', `${label}: ${e.message}`);
  if (pattern) assert.match(e.message, pattern, `${label}: ${e.message}`);
  return e;
}

/** A fresh folder under the system temp folder, and a function that removes it. */
export interface ScratchFolder {
  path: string;
  /** Writes `bytes` to a new numbered file named `name` in the folder; returns its path. */
  write: (bytes: Uint8Array, name: string) => string;
  remove: () => void;
}

export function scratchFolder(prefix: string): ScratchFolder {
  const path = mkdtempSync(join(tmpdir(), `sam-cobot-${prefix}-`));
  let count = 0;
  return {
    path,
    write: (bytes, name) => {
      const file = join(path, `${count++}-${name}`);
      writeFileSync(file, bytes);
      return file;
    },
    remove: () => rmSync(path, { recursive: true, force: true }),
  };
}

export function disposeAll(tensors: Map<string, Tensor>): void {
  for (const t of tensors.values()) t.dispose();
}

/** A tensor's raw bytes. */
export async function bytesOf(t: Tensor): Promise<Uint8Array> {
  const a = await t.toArray();
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
