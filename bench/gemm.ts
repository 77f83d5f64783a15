/**
 * CPU f32 GEMM throughput: ours (ops.gemm on the CPU backend) beside OpenBLAS cblas_sgemm, run both
 * with the kernels it picks itself (`openblas`) and with OPENBLAS_CORETYPE=SkylakeX for that process
 * only (`openblas_skylakex`), and beside PyTorch CPU torch.mm (`torch`) when python3 can import torch.
 *
 * Shapes are M x K x N: square 256..2048, and SAM ViT-B's per-block products on a 64 x 64 token grid
 * (4096 tokens, width 768: qkv, proj, mlp up and down), plus a small and a skinny one. Each figure
 * is the median of several samples; a sample repeats the product until it holds about 4 GFLOP (2
 * with --quick), the same rule in every peer. Every side uses all the cores (its default thread count), and the sides
 * take turns shape by shape.
 *
 *   npm run bench -- gemm [--quick]      (--quick: fewer shapes and samples, well within 2 minutes)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Tensor, backends, ops, synchronize } from '../lib/index.js';
import { report, type Comparison } from './report.js';

const quick = process.argv.includes('--quick');
const samples = quick ? 3 : 11;
const shapes = quick
  ? ['256x256x256', '1024x1024x1024', '2048x2048x2048', '4096x768x2304', '4096x3072x768', '196x48x144']
  : [
      '256x256x256',
      '512x512x512',
      '1024x1024x1024',
      '2048x2048x2048',
      '4096x768x2304',
      '4096x768x768',
      '4096x768x3072',
      '4096x3072x768',
      '196x48x144',
      '4096x64x4096',
    ];
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const flopsPerSample = quick ? 2e9 : 4e9;

const dims = (shape: string): [number, number, number] => shape.split('x').map(Number) as [number, number, number];
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Our GFLOP/s on one shape (median over samples). */
async function ours(shape: string): Promise<number> {
  const [M, K, N] = dims(shape);
  const a = Tensor.rand([M, K], { seed: 1, low: -0.5, high: 0.5 }); // (M, K)
  const b = Tensor.rand([K, N], { seed: 2, low: -0.5, high: 0.5 }); // (K, N)
  const flops = 2 * M * N * K;
  const repeats = Math.floor(flopsPerSample / flops) + 1;
  const values: number[] = [];
  for (let s = -1; s < samples; ++s) {
    await synchronize('cpu');
    const start = performance.now();
    // Queued ops keep their output alive, so disposing at once lets the arena recycle it.
    for (let r = 0; r < repeats; ++r) ops.gemm(a, b).dispose();
    await synchronize('cpu');
    const seconds = (performance.now() - start) / 1000;
    if (s >= 0) values.push((flops * repeats) / seconds / 1e9);
  }
  a.dispose();
  b.dispose();
  return median(values);
}

/** Parses a peer's "MxKxN <GFLOP/s>" lines. */
function parseRates(stdout: string): Map<string, number> {
  const rates = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    const m = /^(\d+x\d+x\d+) ([\d.]+)/.exec(line);
    if (m) rates.set(m[1]!, Number(m[2]));
  }
  return rates;
}

/** Builds the OpenBLAS peer; null (with the reason printed) when the compiler or the library is missing. */
function buildOpenblasPeer(): string | null {
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'peers');
  mkdirSync(dir, { recursive: true });
  const binary = join(dir, 'openblas_sgemm');
  const cc = process.env.CC ?? 'cc';
  const build = spawnSync(cc, ['-O2', join(root, 'bench', 'peers', 'openblas_sgemm.c'), '-o', binary, '-lopenblas'], { encoding: 'utf8' });
  if (build.status !== 0) {
    console.log(`openblas: skipped, could not build the peer (${cc} ... -lopenblas): ${(build.stderr || build.error?.message || '').trim()}`);
    return null;
  }
  return binary;
}

/** Runs the OpenBLAS peer with extra environment; returns its rates and the kernels OpenBLAS reported. */
function openblas(binary: string, shape: string, env: Record<string, string>): { rates: Map<string, number>; core: string } {
  const run = spawnSync(binary, [String(samples), String(flopsPerSample), shape], { encoding: 'utf8', env: { ...process.env, ...env, OPENBLAS_VERBOSE: '2' } });
  if (run.status !== 0) throw new Error(`openblas peer failed: ${run.stderr}`);
  const core = /Core: (\S+)/.exec(run.stdout + run.stderr)?.[1] ?? 'unknown';
  return { rates: parseRates(run.stdout), core };
}

function torch(shape: string): Map<string, number> {
  const run = spawnSync('python3', [join(root, 'bench', 'peers', 'torch_mm.py'), String(samples), String(flopsPerSample), shape], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`torch peer failed: ${run.stderr}`);
  return parseRates(run.stdout);
}

const kernel = /GEMM kernel (\S+)/.exec(backends().cpu.reason)?.[1] ?? 'unknown';
console.log(`gemm bench${quick ? ' (quick)' : ''}: ${samples} samples per shape, ours with the ${kernel} kernel`);
// Shape by shape, every side in turn, so that a change in the machine's other load between
// shapes does not favour one side.
const binary = buildOpenblasPeer();
const hasTorch = spawnSync('python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
if (!hasTorch) console.log('torch: skipped, python3 cannot import torch');
const peers = new Map<string, Map<string, number>>([['ours', new Map()]]);
const peerNotes: Record<string, string> = {};
const record = (peer: string, shape: string, value: number | undefined): void => {
  if (!peers.has(peer)) peers.set(peer, new Map());
  if (value !== undefined) peers.get(peer)!.set(shape, value);
};
for (const shape of shapes) {
  record('ours', shape, await ours(shape));
  if (binary) {
    const native = openblas(binary, shape, {});
    record('openblas', shape, native.rates.get(shape));
    peerNotes.openblas = `OpenBLAS kernels: ${native.core} (as the environment sets them)`;
    const skylakex = openblas(binary, shape, { OPENBLAS_CORETYPE: 'SkylakeX' });
    record('openblas_skylakex', shape, skylakex.rates.get(shape));
    peerNotes.openblas_skylakex = `OpenBLAS kernels: ${skylakex.core} (OPENBLAS_CORETYPE=SkylakeX)`;
  }
  if (hasTorch) record('torch', shape, torch(shape).get(shape));
}

const names = [...peers.keys()];
console.log(['shape (MxKxN)'.padEnd(16), ...names.map((n) => n.padStart(18))].join(''));
for (const shape of shapes) console.log([shape.padEnd(16), ...names.map((n) => (peers.get(n)!.get(shape)?.toFixed(1) ?? '-').padStart(18))].join(''));
for (const note of Object.values(peerNotes)) console.log(note);

const comparisons: Comparison[] = [];
for (const shape of shapes)
  for (const peer of names.slice(1)) {
    const theirs = peers.get(peer)!.get(shape);
    if (theirs !== undefined) comparisons.push({ name: `gemm_${shape}`, ours: peers.get('ours')!.get(shape)!, peer, theirs, unit: 'GFLOP/s' });
  }
report('gemm', comparisons, {
  quick,
  details: {
    samples,
    flopsPerSample,
    kernel,
    peers: peerNotes,
    table: shapes.map((shape) => ({ shape, ...Object.fromEntries(names.map((n) => [n, peers.get(n)!.get(shape) ?? null])) })),
  },
});
