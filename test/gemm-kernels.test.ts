/**
 * The f32 CPU GEMM (native/cpu/gemm_packed.cc) on every micro-kernel level, against the
 * straightforward f64 path (dgemm): odd sizes that leave edge tiles on every side, K, M and N past
 * one cache block, all four transpose combinations, alpha and beta (beta = 0 over a NaN-filled C),
 * the batched and shared-B forms of `gemm`, and `gemmAccumulate` (batched, and summed over the
 * batch into a rank-2 C).
 *
 * The level is fixed when the addon loads (SAM_COBOT_CPU caps it), so each level runs in a child
 * Node process: this file re-runs itself with GEMM_KERNELS_CHILD set, the child runs every case and
 * prints one JSON line with the kernel it used and the failures.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor, backends, ops } from '../lib/index.js';
import { assertClose, numel, randomArray, toF64 } from './helpers/check-op.js';

// f32 against f64, relative to the largest output: sqrt(K) rounding steps of 6e-8 for K <= 1000,
// with room; a wrong tile, panel or block gives errors of order 1.
const TOL = 2e-5;

interface Case {
  label: string;
  run: (dtype: 'f32' | 'f64') => Promise<Float64Array>;
}

let seed = 1;
const inputOf = (shape: number[], dtype: 'f32' | 'f64', values: Float64Array): Tensor => Tensor.fromArray(dtype === 'f32' ? Float32Array.from(values) : values, shape, { dtype });

/** A case computing one `gemm`: A and B random, with the given options. */
function gemmCase(label: string, aShape: number[], bShape: number[], options: { transA?: boolean; transB?: boolean; alpha?: number; bias?: number }): Case {
  const a = randomArray(numel(aShape), { seed: seed++ });
  const b = randomArray(numel(bShape), { seed: seed++ });
  const bias = options.bias === undefined ? undefined : randomArray(options.bias, { seed: seed++ });
  return {
    label,
    run: async (dtype) => {
      const out = ops.gemm(inputOf(aShape, dtype, a), inputOf(bShape, dtype, b), {
        transA: options.transA,
        transB: options.transB,
        alpha: options.alpha,
        bias: bias && inputOf([bias.length], dtype, bias),
      });
      return toF64(out);
    },
  };
}

/** A case computing `gemmAccumulate` into C (NaN-filled when beta is 0: it must be ignored). */
function accumulateCase(label: string, aShape: number[], bShape: number[], cShape: number[], options: { transA?: boolean; transB?: boolean; alpha?: number; beta?: number }): Case {
  const a = randomArray(numel(aShape), { seed: seed++ });
  const b = randomArray(numel(bShape), { seed: seed++ });
  const c = options.beta === 0 ? new Float64Array(numel(cShape)).fill(NaN) : randomArray(numel(cShape), { seed: seed++ });
  return {
    label,
    run: async (dtype) => {
      const out = inputOf(cShape, dtype, c);
      ops.gemmAccumulate(out, inputOf(aShape, dtype, a), inputOf(bShape, dtype, b), options);
      return toF64(out);
    },
  };
}

function cases(): Case[] {
  const list: Case[] = [];
  // (M, N, K): edge tiles in both directions for every kernel's MR and NR; K past KC (384/256) with
  // uneven blocks; N past NC (480/512) within one thread's share; M past MC (4096); and products
  // large enough to run on several threads, split by C's columns and, for a narrow C, by rows.
  const sizes: Array<[number, number, number]> = [
    [1, 1, 1],
    [7, 17, 33],
    [17, 7, 65],
    [33, 65, 7],
    [65, 129, 17],
    [129, 33, 257],
    [257, 257, 129],
    [13, 1000, 400],
    [4099, 33, 20],
    [1, 257, 800],
    [300, 1, 65],
    [300, 1000, 400],
    [2000, 20, 500],
  ];
  for (const [M, N, K] of sizes)
    for (const transA of [false, true])
      for (const transB of [false, true])
        list.push(gemmCase(`gemm ${M}x${N}x${K}${transA ? ' transA' : ''}${transB ? ' transB' : ''}`, transA ? [K, M] : [M, K], transB ? [N, K] : [K, N], { transA, transB }));
  list.push(gemmCase('gemm alpha -0.75 with bias', [33, 65], [65, 129], { alpha: -0.75, bias: 129 }));
  list.push(gemmCase('gemm batched, transB', [3, 17, 33], [3, 65, 33], { transB: true }));
  list.push(gemmCase('gemm batched, transA', [3, 33, 17], [3, 33, 65], { transA: true }));
  list.push(gemmCase('gemm shared B folds the batch into M', [2, 5, 7, 33], [33, 17], {}));
  list.push(accumulateCase('gemmAccumulate beta 0 over NaN', [65, 33], [33, 129], [65, 129], { alpha: 2, beta: 0 }));
  list.push(accumulateCase('gemmAccumulate beta 1', [129, 400], [400, 33], [129, 33], { beta: 1 }));
  list.push(accumulateCase('gemmAccumulate alpha 0.5 beta -1.5 transA transB', [257, 17], [65, 257], [17, 65], { transA: true, transB: true, alpha: 0.5, beta: -1.5 }));
  list.push(accumulateCase('gemmAccumulate batched', [3, 17, 33], [3, 33, 20], [3, 17, 20], { beta: 0.25 }));
  list.push(accumulateCase('gemmAccumulate summed over the batch into rank-2 C', [4, 33, 17], [4, 33, 20], [17, 20], { transA: true, beta: 0 }));
  return list;
}

async function runChild(): Promise<void> {
  const failures: string[] = [];
  for (const c of cases()) {
    try {
      const expected = await c.run('f64');
      const actual = await c.run('f32');
      assertClose(actual, expected, { tol: TOL, name: c.label });
    } catch (error) {
      failures.push(error instanceof Error ? error.message : String(error));
    }
  }
  console.log(JSON.stringify({ reason: backends().cpu.reason, failures }));
}

/** Runs this file as a child with the given environment; resolves with its JSON line. */
function runLevel(env: Record<string, string | undefined>): Promise<{ reason: string; failures: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], { env: { ...process.env, ...env, GEMM_KERNELS_CHILD: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`child exited with ${code}: ${stderr || stdout}`));
      else resolve(JSON.parse(line) as { reason: string; failures: string[] });
    });
  });
}

if (process.env.GEMM_KERNELS_CHILD) {
  await runChild();
} else {
  const levels: Array<{ name: string; threads?: number; env: Record<string, string | undefined>; kernels: string[] }> = [
    { name: 'portable', env: { SAM_COBOT_CPU: 'portable' }, kernels: ['portable'] },
    { name: 'avx2', env: { SAM_COBOT_CPU: 'avx2' }, kernels: ['avx2+fma', 'portable'] },
    { name: "CPU's best", env: { SAM_COBOT_CPU: undefined }, kernels: ['avx512', 'avx2+fma', 'portable'] },
    { name: "CPU's best", threads: 3, env: { SAM_COBOT_CPU: undefined, SAM_COBOT_THREADS: '3' }, kernels: ['avx512', 'avx2+fma', 'portable'] },
  ];
  for (const level of levels) {
    test(`f32 GEMM matches f64 with the ${level.name} micro-kernel${level.threads ? ` on ${level.threads} threads (uneven splits)` : ''}`, async () => {
      const { reason, failures } = await runLevel(level.env);
      const kernel = /GEMM kernel (\S+)/.exec(reason)?.[1] ?? '';
      assert.ok(level.kernels.includes(kernel), `expected one of ${level.kernels.join(', ')} but the child used "${kernel}" (${reason})`);
      assert.equal(failures, [], failures.join('\n'));
    });
  }
  test.run();
}
