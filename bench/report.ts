/**
 * The shared ending of every bench: one `RESULT` line per comparison, and a JSON record in
 * bench/results/ with the command, the machine and the date, so numbers can be traced to where and
 * how they were measured.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backends } from '../lib/index.js';

/** One comparison of ours against a peer on the same work. */
export interface Comparison {
  /** What was measured, e.g. `gemm_1024x1024x1024` (no spaces). */
  name: string;
  ours: number;
  /** The peer's name, e.g. `openblas` or `torch` (no spaces). */
  peer: string;
  theirs: number;
  /** e.g. `GFLOP/s` or `ms`. */
  unit: string;
  /** True for times: then the ratio is theirs / ours, so that > 1 always means ours is faster. */
  lowerIsBetter?: boolean;
}

/** `ratio` > 1 means ours is that many times faster. */
export function ratio(c: Comparison): number {
  return c.lowerIsBetter ? c.theirs / c.ours : c.ours / c.theirs;
}

const format = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4));

/** The machine, as far as a bench result needs it. */
export function machine(): Record<string, unknown> {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    platform: `${process.platform}-${process.arch}`,
    node: process.version,
    backends: backends(),
    // Other work on the machine skews timings: the 1/5/15-minute load when the bench ended.
    loadAverage: loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

/**
 * Prints `RESULT <name> ours=<v><unit> <peer>=<v><unit> ratio=<r>` per comparison and writes
 * bench/results/<bench>[-quick]-<date>.json with them, the command, the machine, the date and
 * `details` (anything else worth keeping, e.g. every run's time). Returns the JSON's path.
 */
export function report(bench: string, comparisons: Comparison[], options: { quick?: boolean; details?: Record<string, unknown> } = {}): string {
  for (const c of comparisons)
    console.log(`RESULT ${c.name} ours=${format(c.ours)}${c.unit} ${c.peer}=${format(c.theirs)}${c.unit} ratio=${ratio(c).toFixed(2)}`);
  const date = new Date();
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = date.toISOString().slice(0, 19).replace(/:/g, '-');
  const file = join(dir, `${bench}${options.quick ? '-quick' : ''}-${stamp}.json`);
  const record = {
    bench,
    command: `npm run bench -- ${[bench, ...process.argv.slice(2)].join(' ')}`,
    date: date.toISOString(),
    machine: machine(),
    results: comparisons.map((c) => ({ ...c, ratio: Math.round(ratio(c) * 1000) / 1000 })),
    ...options.details,
  };
  writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
  console.log(`wrote ${relative(root, file)}`);
  return file;
}
