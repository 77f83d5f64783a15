/**
 * Image-encoder forward on the CPU at batch 1: ours beside PyTorch CPU running the official
 * segment-anything ImageEncoderViT (`torch`) and beside onnxruntime-node running that encoder
 * exported to ONNX (`onnxruntime`, what a Node user would pick for inference), all on the same
 * random weights and image, for the tiny and small golden configs and ViT-B at 1024x1024.
 *
 * Each side runs in a fresh process (bench/encoder/processes.ts) with the same thread count (the
 * machine's cores unless --threads), and reports the median time of its timed runs and its peak
 * resident memory above its resident size before loading the weights (weights + activations +
 * workspace). Outputs are compared with PyTorch's (largest difference over largest magnitude), so
 * the times are of the same computation.
 *
 *   npm run bench -- encoder-forward [--quick] [--configs tiny,small,vit_b] [--threads N]
 *   (--quick: ViT-B once with no warm-up, within about two minutes; the full run takes the median
 *   of 5 ViT-B runs after one warm-up)
 */
import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnxruntimeMissing, measure, torchMissing, type Measurement } from './encoder/processes.js';
import { benchConfig, benchFiles, benchOptions, forwardFlops, median, officialEncoderArgs, readF32, relativeDifference, type ConfigName } from './encoder/setup.js';
import { report, type Comparison } from './report.js';

const { quick, threads, configs } = benchOptions(process.argv.slice(2));

/** Small configs: many runs; ViT-B: as the time allows. */
const plan = (c: ConfigName) => (c !== 'vit_b' ? { warmup: 2, runs: 10 } : quick ? { warmup: 0, runs: 1 } : { warmup: 1, runs: 5 });

const torchSkip = torchMissing();
const ortSkip = await onnxruntimeMissing();
if (torchSkip) console.log(`torch: skipped, ${torchSkip}`);
if (ortSkip) console.log(`onnxruntime: skipped, ${ortSkip}`);
console.log(`encoder-forward${quick ? ' (quick)' : ''}: batch 1, ${threads} threads per side`);

const scratch = mkdtempSync(join(tmpdir(), 'sam-cobot-encoder-forward-'));
const comparisons: Comparison[] = [];
const details: Record<string, unknown> = {};
const MB = 2 ** 20;
try {
  console.log(['config'.padEnd(8), 'side'.padEnd(12), 'median s'.padStart(10), 'GFLOP/s'.padStart(9), 'peak MB'.padStart(9), 'vs torch'.padStart(10)].join(' '));
  for (const name of configs) {
    const config = benchConfig(name);
    const files = await benchFiles(name);
    const flops = forwardFlops(config);
    const job = { config, weights: files.weights, input: files.input, threads, ...plan(name) };
    const sides = new Map<string, Measurement>();
    const outputs = new Map<string, string>();
    const run = (side: string, measureSide: () => Measurement) => {
      outputs.set(side, join(scratch, `${name}-${side}.f32`));
      sides.set(side, measureSide());
    };
    run('ours', () => measure('ours', 'forward', { ...job, output: outputs.get('ours')! }, scratch));
    if (!torchSkip) {
      const torchJob = { ...job, config: officialEncoderArgs(config) };
      run('torch', () => measure('torch', 'forward', { ...torchJob, output: outputs.get('torch')! }, scratch));
      if (!ortSkip && !existsSync(files.onnx)) {
        const exported = measure('torch', 'export', { ...torchJob, onnx: `${files.onnx}.tmp` }, scratch);
        renameSync(`${files.onnx}.tmp`, files.onnx);
        console.log(`exported ${name} to ONNX in ${(exported.seconds as number).toFixed(1)} s (${files.onnx})`);
      }
    }
    if (!ortSkip && existsSync(files.onnx)) run('onnxruntime', () => measure('ours', 'onnxruntime', { ...job, onnx: files.onnx, output: outputs.get('onnxruntime')! }, scratch));

    const reference = sides.has('torch') ? readF32(outputs.get('torch')!) : null;
    const record: Record<string, unknown> = { flops, ...plan(name) };
    for (const [side, m] of sides) {
      const seconds = median(m.times);
      const agreement = reference && side !== 'torch' ? relativeDifference(readF32(outputs.get(side)!), reference) : null;
      record[side] = { ...m, medianSeconds: seconds, gflops: flops / seconds / 1e9, maxRelDiffVsTorch: agreement };
      console.log(
        [name.padEnd(8), side.padEnd(12), seconds.toFixed(3).padStart(10), (flops / seconds / 1e9).toFixed(1).padStart(9), (m.peakBytes / MB).toFixed(0).padStart(9), (agreement?.toExponential(1) ?? '-').padStart(10)].join(' '),
      );
    }
    details[name] = record;
    const ours = sides.get('ours')!;
    for (const peer of ['torch', 'onnxruntime']) {
      const theirs = sides.get(peer);
      if (!theirs) continue;
      comparisons.push({ name: `encoder_forward_${name}_time`, ours: median(ours.times), peer, theirs: median(theirs.times), unit: 's', lowerIsBetter: true });
      comparisons.push({ name: `encoder_forward_${name}_peak_memory`, ours: ours.peakBytes / MB, peer, theirs: theirs.peakBytes / MB, unit: 'MB', lowerIsBetter: true });
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
report('encoder-forward', comparisons, {
  quick,
  details: {
    threads,
    memory: 'resident high-water mark during the runs (reset after loading) above the resident size before loading, per fresh process',
    skipped: { torch: torchSkip, onnxruntime: ortSkip },
    configs: details,
  },
});
