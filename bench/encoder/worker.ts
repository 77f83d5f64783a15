/**
 * One measurement in a fresh Node process, so that its resident-memory high-water mark is its own:
 *
 *   worker.js forward <job.json>        our encoder, eval mode, forward passes
 *   worker.js train <job.json>          our encoder, training steps (job "mode": frozen | full |
 *                                       cobot-adaptformer | cobot-lora), optionally eval forwards first
 *   worker.js onnxruntime <job.json>    onnxruntime-node on the exported encoder (CPU provider)
 *
 * Prints one line `RESULT_JSON {...}`: the times of the timed runs, and memory measured as the
 * Python peer does (bench/peers/sam_encoder.py): the resident high-water mark during the runs
 * (reset once the weights are loaded) above the resident size before anything was loaded.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Sam, Tensor, applyPeft, memoryStats, readSafetensors, synchronize } from '../../lib/index.js';
import type { SamConfig } from '../../lib/nn/sam-config.js';
import { resetPeak, statusBytes } from '../process-memory.js';

interface Job {
  config: SamConfig;
  weights: string;
  input: string;
  onnx?: string;
  mode?: 'frozen' | 'full' | 'cobot-adaptformer' | 'cobot-lora';
  /** train: also time eval forwards first (for the step/forward ratio). */
  timeForward?: boolean;
  warmup: number;
  runs: number;
  threads: number;
  /** Where the output (forward) or the checked gradient (train) goes, as raw f32. */
  output: string;
}


async function timed(step: () => Promise<void>, warmup: number, runs: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await step();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await step();
    times.push((performance.now() - start) / 1000);
  }
  return times;
}

async function inputs(job: Job): Promise<{ image: Tensor; dy: Tensor }> {
  const { tensors } = await readSafetensors(job.input);
  return { image: tensors.get('image')!, dy: tensors.get('dy')! };
}

/** A SAM whose image encoder holds the bench weights (the prompt encoder and decoder stay unloaded). */
async function loadEncoder(job: Job): Promise<Sam> {
  const sam = new Sam(job.config);
  const params = new Map(sam.imageEncoder.namedParameters({ buffers: true }));
  const { tensors } = await readSafetensors(job.weights);
  for (const [name, t] of tensors) params.get(name)!.value = t;
  return sam;
}

async function writeOutput(job: Job, t: Tensor): Promise<void> {
  const data = (await t.toArray()) as Float32Array;
  writeFileSync(job.output, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/** Times `runs` eval-mode forwards (after `warmup` more); returns the last output. */
async function forwardTimes(sam: Sam, image: Tensor, warmup: number, runs: number): Promise<{ times: number[]; y: Tensor }> {
  sam.imageEncoder.eval();
  let y: Tensor | null = null;
  const times = await timed(
    async () => {
      y?.dispose();
      y = sam.imageEncoder.forward(image);
      await synchronize('cpu');
    },
    warmup,
    runs,
  );
  return { times, y: y! };
}

async function forward(job: Job): Promise<Record<string, unknown>> {
  const sam = await loadEncoder(job);
  const { image, dy } = await inputs(job);
  dy.dispose();
  const peakReset = resetPeak();
  const { times, y } = await forwardTimes(sam, image, job.warmup, job.runs);
  await writeOutput(job, y);
  return { times, peakReset };
}

/**
 * "frozen": every encoder weight frozen but pos_embed (as the PyTorch peer must, to call backward
 * at all; its gradient is one sum and is written out for the comparison); "full": everything
 * trainable, the patch-embedding weight's gradient written out (it depends on every block);
 * "cobot-*": applyPeft's freezing (all encoder weights) with the adapters trainable. Never an input
 * gradient. With `timeForward`, eval forwards are timed first in the same process, for the
 * step/forward ratio.
 */
async function train(job: Job): Promise<Record<string, unknown>> {
  const sam = await loadEncoder(job);
  const { image, dy } = await inputs(job);
  const mode = job.mode ?? 'frozen';
  if (mode === 'cobot-adaptformer' || mode === 'cobot-lora') applyPeft(sam, { host: mode === 'cobot-lora' ? 'lora' : 'adaptformer', cobot: true, seed: 1 });
  else for (const [name, p] of sam.imageEncoder.namedParameters()) p.requiresGrad = mode === 'full' || name === 'image_encoder.pos_embed';
  const peakReset = resetPeak();
  let forwardRuns: number[] | null = null;
  if (job.timeForward) {
    const { times, y } = await forwardTimes(sam, image, job.warmup, job.runs);
    y.dispose();
    forwardRuns = times;
  }
  sam.imageEncoder.train();
  const times = await timed(
    async () => {
      sam.imageEncoder.zeroGrad();
      const y = sam.imageEncoder.forward(image);
      sam.imageEncoder.backward(dy, false);
      y.dispose();
      await synchronize('cpu');
    },
    job.warmup,
    job.runs,
  );
  const checked = mode === 'full' ? sam.imageEncoder.patchEmbed.weight : sam.imageEncoder.posEmbed;
  if (checked.grad) await writeOutput(job, checked.grad);
  const trainable = sam.imageEncoder.parameters().filter((p) => p.requiresGrad).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
  return { times, forwardTimes: forwardRuns, peakReset, trainableParameters: trainable };
}

async function onnxruntime(job: Job): Promise<Record<string, unknown>> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(job.onnx!, {
    executionProviders: ['cpu'],
    intraOpNumThreads: job.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const { image, dy } = await inputs(job);
  const feed = { [session.inputNames[0]!]: new ort.Tensor('float32', (await image.toArray()) as Float32Array, image.shape) };
  image.dispose();
  dy.dispose();
  const peakReset = resetPeak();
  let out: Float32Array | null = null;
  const times = await timed(
    async () => {
      const result = await session.run(feed);
      out = result[session.outputNames[0]!]!.data as Float32Array;
    },
    job.warmup,
    job.runs,
  );
  writeFileSync(job.output, new Uint8Array(out!.buffer, out!.byteOffset, out!.byteLength));
  await session.release();
  return { times, peakReset, version: ort.env.versions.node };
}

const [command, jobPath] = process.argv.slice(2);
const job = JSON.parse(readFileSync(jobPath!, 'utf8')) as Job;
const baseline = statusBytes('VmRSS');
const run = { forward, train, onnxruntime }[command as 'forward' | 'train' | 'onnxruntime'];
if (!run) throw new Error(`unknown worker command ${command}`);
const result = await run(job);
const peakRss = statusBytes('VmHWM');
console.log(`RESULT_JSON ${JSON.stringify({ ...result, peakBytes: peakRss - baseline, peakRssBytes: peakRss, arenaPeakBytes: command === 'onnxruntime' ? null : memoryStats('cpu').peakBytesInUse })}`);
