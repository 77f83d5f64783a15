/**
 * Golden-data helpers: paths into test/golden (the byte-identical copy of ../shared/golden) and a
 * comparison with the golden README's metric, max|ours − golden| / max|golden|.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { readSafetensors } from '../../lib/io/safetensors.js';
import type { Tensor } from '../../lib/tensor.js';

export const goldenRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'golden');

export function goldenPath(...parts: string[]): string {
  return join(goldenRoot, ...parts);
}

export async function readGolden(config: string, file: string): Promise<Map<string, Tensor>> {
  return (await readSafetensors(goldenPath(config, file))).tensors;
}

export interface Comparison {
  maxAbs: number;
  maxRef: number;
  relToMax: number;
}

export async function compare(actual: Tensor, expected: Tensor): Promise<Comparison> {
  assert.equal(actual.shape, expected.shape, `shape of ${actual} vs golden ${expected}`);
  const a = await actual.toArray();
  const e = await expected.toArray();
  let maxAbs = 0;
  let maxRef = 0;
  let bad = -1;
  for (let i = 0; i < e.length; i++) {
    const d = Math.abs(a[i]! - e[i]!);
    if (!(d <= maxAbs)) {
      maxAbs = Number.isNaN(d) ? Infinity : d;
      bad = i;
    }
    maxRef = Math.max(maxRef, Math.abs(e[i]!));
  }
  void bad;
  return { maxAbs, maxRef, relToMax: maxRef > 0 ? maxAbs / maxRef : maxAbs };
}

/** Fails with a readable message when max|ours − golden| > tol · max|golden| (or > absFloor). */
export async function expectGolden(name: string, actual: Tensor, expected: Tensor, tol: number, absFloor = 0): Promise<Comparison> {
  const c = await compare(actual, expected);
  const ok = c.maxAbs <= tol * c.maxRef || c.maxAbs <= absFloor;
  assert.ok(ok, `${name}: max|ours - golden| = ${c.maxAbs.toExponential(3)}, max|golden| = ${c.maxRef.toExponential(3)}, relative ${c.relToMax.toExponential(3)} > ${tol}`);
  return c;
}
