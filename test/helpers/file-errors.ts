/** Assertions about file-reading failures, and a per-test scratch folder. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { SamCobotError } from '../../lib/errors.js';

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
export function scratchFolder(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `sam-cobot-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
