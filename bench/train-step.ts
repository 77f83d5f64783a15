/**
 * One COBOT fine-tuning step on the CPU: SAM with AdaptFormer + COBOT adapters (encoder and prompt
 * encoder frozen, adapters and mask decoder trained), a batch of 2 images with 4 boxes each, single
 * mask, BCE + squared Dice on the low-res logits, Adam with the official two groups; ours
 * (bench/train-step/worker.ts) beside the same step in PyTorch CPU with the official
 * segment-anything modules and a COBOT module written for the benchmark
 * (bench/peers/train_step.py), on the same weights and batch (bench/train-step/setup.ts), for the
 * tiny and small golden configs and ViT-B at 1024x1024.
 *
 * Each side runs in a fresh process with the same thread count (the machine's cores unless
 * --threads) and reports the median time of its timed steps and its peak resident memory above its
 * resident size before loading (as bench/encoder-forward). Both record the loss of every step
 * (warm-up included, the same fixed batch each time): the first step's loss checks that the forward
 * passes agree, the later ones that the gradients and the Adam updates do too.
 *
 *   npm run bench -- train-step [--quick] [--configs tiny,small,vit_b] [--threads N]
 *   (--quick: one ViT-B step with no warm-up on each side, about 4 minutes on 2 cores, where a
 *   ViT-B step takes 1-2 minutes per side; the full run takes the median of 2 ViT-B steps after one
 *   warm-up, about 12 minutes)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { torchMissing, type Measurement } from './encoder/processes.js';
import { benchConfig, benchOptions, median, root, type ConfigName } from './encoder/setup.js';
import { report, type Comparison } from './report.js';
import { BOXES_PER_IMAGE, IMAGES, LR, trainStepFiles } from './train-step/setup.js';

const { quick, threads, configs } = benchOptions(process.argv.slice(2));

const plan = (c: ConfigName) => (c !== 'vit_b' ? { warmup: 2, runs: 8 } : quick ? { warmup: 0, runs: 1 } : { warmup: 1, runs: 2 });

type Side = 'ours' | 'torch';
interface StepMeasurement extends Measurement {
  losses: number[];
  trainableParameters: number;
}

const scratch = mkdtempSync(join(tmpdir(), 'sam-cobot-train-step-'));
let jobCounter = 0;

/** Runs one side in a fresh process and reads back its RESULT_JSON line. */
function measure(side: Side, job: Record<string, unknown>): StepMeasurement {
  const jobPath = join(scratch, `job-${jobCounter++}.json`);
  writeFileSync(jobPath, JSON.stringify(job));
  const [program, script] =
    side === 'ours' ? [process.execPath, join(dirname(fileURLToPath(import.meta.url)), 'train-step', 'worker.js')] : ['python3', join(root, 'bench', 'peers', 'train_step.py')];
  const run = spawnSync(program, [script, jobPath], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, SAM_COBOT_THREADS: String(threads) },
    maxBuffer: 64 * 2 ** 20,
  });
  const line = run.stdout?.split('\n').find((l) => l.startsWith('RESULT_JSON '));
  if (run.status !== 0 || !line) throw new Error(`${side} failed (exit ${run.status ?? run.signal}): ${run.stdout ?? ''}${run.error?.message ?? ''}`);
  return JSON.parse(line.slice('RESULT_JSON '.length)) as StepMeasurement;
}

const relative = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

const torchSkip = torchMissing();
if (torchSkip) console.log(`torch: skipped, ${torchSkip}`);
console.log(`train-step${quick ? ' (quick)' : ''}: ${IMAGES} images x ${BOXES_PER_IMAGE} boxes, AdaptFormer + COBOT, decoder trained, ${threads} threads per side`);

const comparisons: Comparison[] = [];
const details: Record<string, unknown> = {};
const MB = 2 ** 20;
try {
  console.log(['config'.padEnd(8), 'side'.padEnd(6), 'median s'.padStart(10), 'peak MB'.padStart(9), 'first loss'.padStart(12), 'loss rel diff: first'.padStart(21), 'all steps'.padStart(10)].join(' '));
  for (const name of configs) {
    const config = benchConfig(name);
    const files = await trainStepFiles(name);
    const job = { config, files, threads, lr: LR, ...plan(name) };
    const ours = measure('ours', job);
    const theirs = torchSkip ? null : measure('torch', job);
    const firstDiff = theirs ? relative(ours.losses[0]!, theirs.losses[0]!) : null;
    const allDiff = theirs ? Math.max(...ours.losses.map((l, i) => relative(l, theirs.losses[i]!))) : null;
    details[name] = { ...plan(name), ours: { ...ours, medianSeconds: median(ours.times) }, torch: theirs && { ...theirs, medianSeconds: median(theirs.times) }, firstLossRelDiff: firstDiff, maxLossRelDiff: allDiff };
    const row = (side: Side, m: StepMeasurement, first: number | null, all: number | null) =>
      console.log(
        [name.padEnd(8), side.padEnd(6), median(m.times).toFixed(3).padStart(10), (m.peakBytes / MB).toFixed(0).padStart(9), m.losses[0]!.toFixed(6).padStart(12), (first?.toExponential(1) ?? '-').padStart(21), (all?.toExponential(1) ?? '-').padStart(10)].join(' '),
      );
    row('ours', ours, firstDiff, allDiff);
    if (!theirs) continue;
    row('torch', theirs, null, null);
    if (ours.trainableParameters !== theirs.trainableParameters) console.log(`${name}: trainable parameters differ: ours ${ours.trainableParameters}, torch ${theirs.trainableParameters}`);
    comparisons.push({ name: `train-step-${name}`, ours: median(ours.times), peer: 'torch', theirs: median(theirs.times), unit: 's', lowerIsBetter: true });
    comparisons.push({ name: `train-step-${name}-peak-memory`, ours: ours.peakBytes / MB, peer: 'torch', theirs: theirs.peakBytes / MB, unit: 'MB', lowerIsBetter: true });
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
report('train-step', comparisons, {
  quick,
  details: {
    threads,
    batch: { images: IMAGES, boxesPerImage: BOXES_PER_IMAGE, multimaskOutput: false },
    lr: LR,
    memory: 'resident high-water mark during the steps (reset after loading) above the resident size before loading, per fresh process',
    losses: 'every step (warm-up included) on the same fixed batch; relative differences are |ours − torch| / |torch|',
    skipped: { torch: torchSkip },
    configs: details,
  },
});
