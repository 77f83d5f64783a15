/**
 * Image-encoder training step on the CPU at batch 1 (zero the gradients, forward in training mode,
 * backward with a random output gradient, no input gradient): ours beside PyTorch CPU running the
 * official segment-anything ImageEncoderViT on the same weights, in two modes:
 *
 * - `frozen`: every encoder weight frozen (the fine-tuning case), except pos_embed on both sides:
 *   PyTorch needs something that requires a gradient to run backward without an input gradient,
 *   pos_embed's gradient is one sum over the batch, and comparing it checks the whole backward.
 * - `full`: every weight trainable; the patch-embedding weight's gradient is compared.
 *
 * Reported per mode: median step time, peak resident memory (as bench/encoder-forward), the ratio
 * to PyTorch, and for `frozen` the step time over our forward time measured in the same process
 * (goal: under 2.2).
 *
 * `--peft cobot-adaptformer,cobot-lora` also times our step with those adapters (applyPeft with
 * COBOT: every encoder weight frozen, the adapters trained, backward through every block) against
 * our `frozen` step, the "none" baseline (goal: at most 5% slower). PyTorch has no COBOT, so the
 * adapters are compared with our own baseline only.
 *
 *   npm run bench -- encoder-train [--quick] [--configs tiny,small,vit_b] [--threads N] [--peft none|cobot-adaptformer,cobot-lora]
 *   (--quick: ViT-B once with no warm-up; the full run takes the median of 3 ViT-B steps after one warm-up)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measure, torchMissing, type Measurement } from './encoder/processes.js';
import { benchConfig, benchFiles, benchOptions, median, officialEncoderArgs, readF32, relativeDifference, type ConfigName } from './encoder/setup.js';
import { report, type Comparison } from './report.js';

const { quick, threads, configs, option } = benchOptions(process.argv.slice(2));
const pefts = (option('--peft') ?? 'none').split(',').filter((p) => p !== 'none');
for (const p of pefts) if (p !== 'cobot-adaptformer' && p !== 'cobot-lora') throw new Error(`unknown --peft ${p} (none, cobot-adaptformer, cobot-lora)`);
const FORWARD_GOAL = 2.2;
const PEFT_GOAL = 1.05;

const plan = (c: ConfigName) => (c !== 'vit_b' ? { warmup: 2, runs: 5 } : quick ? { warmup: 0, runs: 1 } : { warmup: 1, runs: 3 });

const torchSkip = torchMissing();
if (torchSkip) console.log(`torch: skipped, ${torchSkip}`);
console.log(`encoder-train${quick ? ' (quick)' : ''}: batch 1, ${threads} threads per side${pefts.length ? `, PEFT: ${pefts.join(', ')}` : ''}`);

const scratch = mkdtempSync(join(tmpdir(), 'sam-cobot-encoder-train-'));
const comparisons: Comparison[] = [];
const details: Record<string, unknown> = {};
const MB = 2 ** 20;
try {
  console.log(['config'.padEnd(8), 'mode'.padEnd(18), 'side'.padEnd(6), 'median s'.padStart(10), 'peak MB'.padStart(9), 'grad vs torch'.padStart(14)].join(' '));
  for (const name of configs) {
    const config = benchConfig(name);
    const files = await benchFiles(name);
    const job = { config, weights: files.weights, input: files.input, threads, ...plan(name) };
    const record: Record<string, unknown> = { ...plan(name) };
    const row = (mode: string, side: string, m: Measurement, agreement: number | null) => {
      record[`${mode}_${side}`] = { ...m, medianSeconds: median(m.times), maxRelDiffVsTorch: agreement };
      console.log([name.padEnd(8), mode.padEnd(18), side.padEnd(6), median(m.times).toFixed(3).padStart(10), (m.peakBytes / MB).toFixed(0).padStart(9), (agreement?.toExponential(1) ?? '-').padStart(14)].join(' '));
    };
    let frozenStep = 0;
    for (const mode of ['frozen', 'full'] as const) {
      const output = (side: string) => join(scratch, `${name}-${mode}-${side}.f32`);
      const ours = measure('ours', 'train', { ...job, mode, timeForward: mode === 'frozen', output: output('ours') }, scratch);
      const theirs = torchSkip ? null : measure('torch', 'train', { ...job, config: officialEncoderArgs(config), mode, output: output('torch') }, scratch);
      const agreement = theirs ? relativeDifference(readF32(output('ours')), readF32(output('torch'))) : null;
      row(mode, 'ours', ours, agreement);
      if (theirs) {
        row(mode, 'torch', theirs, null);
        comparisons.push({ name: `encoder_train_${name}_${mode}_time`, ours: median(ours.times), peer: 'torch', theirs: median(theirs.times), unit: 's', lowerIsBetter: true });
        comparisons.push({ name: `encoder_train_${name}_${mode}_peak_memory`, ours: ours.peakBytes / MB, peer: 'torch', theirs: theirs.peakBytes / MB, unit: 'MB', lowerIsBetter: true });
      }
      if (mode === 'frozen') {
        frozenStep = median(ours.times);
        const forward = median(ours.forwardTimes as number[]);
        record.frozenStepOverForward = frozenStep / forward;
        console.log(`${name}: frozen step / forward = ${(frozenStep / forward).toFixed(2)} (forward ${forward.toFixed(3)} s; goal < ${FORWARD_GOAL})`);
        comparisons.push({ name: `encoder_train_${name}_frozen_step_vs_goal`, ours: frozenStep, peer: `${FORWARD_GOAL}x_forward`, theirs: FORWARD_GOAL * forward, unit: 's', lowerIsBetter: true });
      }
    }
    for (const peft of pefts) {
      const m = measure('ours', 'train', { ...job, mode: peft, output: join(scratch, `${name}-${peft}.f32`) }, scratch);
      row(peft, 'ours', m, null);
      const overhead = median(m.times) / frozenStep - 1;
      record[`${peft}_overhead`] = overhead;
      console.log(`${name}: ${peft} adds ${(100 * overhead).toFixed(1)}% to the frozen step (goal <= ${Math.round(100 * (PEFT_GOAL - 1))}%; ${m.trainableParameters} trainable encoder parameters)`);
      comparisons.push({ name: `encoder_train_${name}_${peft}_step`, ours: median(m.times), peer: 'peft_none', theirs: frozenStep, unit: 's', lowerIsBetter: true });
    }
    details[name] = record;
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
report('encoder-train', comparisons, {
  quick,
  details: {
    threads,
    pefts,
    memory: 'resident high-water mark during the runs (reset after loading) above the resident size before loading, per fresh process',
    frozen: 'every encoder weight frozen except pos_embed on both sides (PyTorch needs one tensor that requires a gradient)',
    skipped: { torch: torchSkip },
    configs: details,
  },
});
