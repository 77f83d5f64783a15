/**
 * Our side of bench/train-step, in a fresh Node process so that its resident-memory high-water mark
 * is its own:
 *
 *   worker.js <job.json>
 *
 * SAM with COBOT AdaptFormer adapters (applyPeft: encoder and prompt encoder frozen, adapters and
 * mask decoder trained), loaded with the bench weights; Adam with the official two groups (names
 * containing 'FacT', the rest). One step: zeroGrad, forward of the batch's images with their boxes
 * (single mask), BCE + squared Dice on the low-res logits, backward, Adam step, read the loss.
 *
 * Prints one line `RESULT_JSON {...}`: the times of the timed steps, the loss of every step (warm-up
 * included) and memory as bench/encoder's worker measures it (the resident high-water mark during
 * the steps, reset once loaded, above the resident size before anything was loaded).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Adam, Sam, applyPeft, maskLoss, memoryStats, readSafetensors, type Tensor } from '../../lib/index.js';
import type { SamConfig } from '../../lib/nn/sam-config.js';
import { LR, PEFT, type TrainStepFiles } from './setup.js';
import { resetPeak, statusBytes } from '../process-memory.js';

interface Job {
  config: SamConfig;
  files: TrainStepFiles;
  warmup: number;
  runs: number;
}


/** The bench model: encoder weights by official name, then applyPeft, then decoder, prompt encoder and adapters. */
async function loadModel(job: Job): Promise<Sam> {
  const sam = new Sam(job.config);
  const assign = async (path: string) => {
    const params = sam.parameterMap();
    for (const [name, t] of (await readSafetensors(path)).tensors) {
      const p = params.get(name);
      if (!p) throw new Error(`${path}: ${name} is not a parameter of the model`);
      p.value = t;
    }
  };
  await assign(job.files.encoder);
  applyPeft(sam, PEFT);
  await assign(job.files.model);
  const missing = [...sam.namedParameters({ buffers: true })].filter(([, p]) => !p.loaded).map(([n]) => n);
  if (missing.length) throw new Error(`parameters not loaded: ${missing.slice(0, 5).join(', ')}`);
  return sam;
}

const [jobPath] = process.argv.slice(2);
const job = JSON.parse(readFileSync(jobPath!, 'utf8')) as Job;
const baseline = statusBytes('VmRSS');
const sam = await loadModel(job);
const { tensors } = await readSafetensors(job.files.batch);
const image = tensors.get('image')!;
const target = tensors.get('target')!;
const boxesTensor = tensors.get('boxes')!;
const boxes = { data: Array.from(await boxesTensor.toArray()), shape: boxesTensor.shape };
boxesTensor.dispose();

const trainable = [...sam.namedParameters()].filter(([, p]) => p.requiresGrad);
const adam = new Adam([
  { name: 'FacT', params: trainable.filter(([n]) => n.includes('FacT')).map(([, p]) => p), lr: LR.fact },
  { name: 'rest', params: trainable.filter(([n]) => !n.includes('FacT')).map(([, p]) => p), lr: LR.rest },
]);
sam.train();
const peakReset = resetPeak();

const losses: number[] = [];
async function step(): Promise<void> {
  adam.zeroGrad();
  const out = sam.forward({ image, boxes, multimaskOutput: false });
  const { loss, terms, grad } = maskLoss(out.masks, target);
  sam.backward({ masks: grad, iouPred: null });
  adam.step();
  losses.push((await loss.toArray())[0]!);
  for (const t of [out.masks, out.iouPred, loss, terms, grad] as Tensor[]) t.dispose();
}

for (let i = 0; i < job.warmup; i++) await step();
const times: number[] = [];
for (let i = 0; i < job.runs; i++) {
  const start = performance.now();
  await step();
  times.push((performance.now() - start) / 1000);
}
const peakRss = statusBytes('VmHWM');
const trainableParameters = trainable.reduce((n, [, p]) => n + p.shape.reduce((a, b) => a * b, 1), 0);
console.log(
  `RESULT_JSON ${JSON.stringify({ times, losses, peakReset, trainableParameters, peakBytes: peakRss - baseline, peakRssBytes: peakRss, arenaPeakBytes: memoryStats('cpu').peakBytesInUse })}`,
);
