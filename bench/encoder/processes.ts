/**
 * Runs each measurement of the encoder benches in its own process (our worker.js, or the Python
 * peer) and reads back its `RESULT_JSON` line, so every side's memory high-water mark covers only
 * its own work and every side starts equally cold.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { root } from './setup.js';

const ourWorker = join(dirname(fileURLToPath(import.meta.url)), 'worker.js');

export type Side = 'ours' | 'torch';

/** What every measurement reports (plus side-specific fields). */
export interface Measurement {
  times: number[];
  /** Resident high-water mark during the runs, above the resident size before loading (bytes). */
  peakBytes: number;
  peakRssBytes: number;
  peakReset: boolean;
  [field: string]: unknown;
}

/** Whether python3 can import torch and segment_anything; the reason when not. */
export function torchMissing(): string | null {
  const probe = spawnSync('python3', ['-c', 'import importlib.util, torch, sys; sys.exit(0 if importlib.util.find_spec("segment_anything") else 3)'], { encoding: 'utf8' });
  if (probe.error) return `python3 not found (${probe.error.message})`;
  if (probe.status === 3) return 'segment_anything is not installed (pip install segment-anything --no-deps)';
  if (probe.status !== 0) return `python3 cannot import torch (${probe.stderr.trim().split('\n').at(-1)})`;
  return null;
}

/** Whether onnxruntime-node loads; the reason when not. */
export async function onnxruntimeMissing(): Promise<string | null> {
  try {
    const ort = await import('onnxruntime-node');
    return ort.listSupportedBackends().some((b) => b.name === 'cpu') ? null : 'onnxruntime-node has no CPU backend';
  } catch (error) {
    return `onnxruntime-node does not load (${(error as Error).message.split('\n')[0]}); install it with ONNXRUNTIME_NODE_INSTALL=skip npm install`;
  }
}

let jobCounter = 0;

/**
 * Runs `command` with `job` (written to a JSON file in `dir`) in a fresh process: our worker for
 * `side` 'ours' (forward, train, onnxruntime), the PyTorch peer for 'torch' (forward, train,
 * export). Threads: SAM_COBOT_THREADS for ours, torch.set_num_threads and intraOpNumThreads for the peers.
 */
export function measure(side: Side, command: string, job: Record<string, unknown> & { threads: number }, dir: string): Measurement {
  const jobPath = join(dir, `job-${jobCounter++}.json`);
  writeFileSync(jobPath, JSON.stringify(job));
  const [program, script] =
    side === 'ours' ? [process.execPath, ourWorker] : ['python3', join(root, 'bench', 'peers', 'sam_encoder.py')];
  const run = spawnSync(program, [script, command, jobPath], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, SAM_COBOT_THREADS: String(job.threads) },
    maxBuffer: 64 * 2 ** 20,
  });
  const line = run.stdout?.split('\n').find((l) => l.startsWith('RESULT_JSON '));
  if (run.status !== 0 || !line) throw new Error(`${side} ${command} failed (exit ${run.status ?? run.signal}): ${run.stdout ?? ''}${run.error?.message ?? ''}`);
  return JSON.parse(line.slice('RESULT_JSON '.length)) as Measurement;
}
