/**
 * `sam-cobot demo`: the product's main job on an embedded default, with no download. A small SAM
 * that this library pretrained on synthetic plain shapes (assets/demo/, reproduced by
 * scripts/pretrain-demo.mjs) is adapted with AdaptFormer + COBOT to camouflaged objects (the
 * background's texture, a small contrast), where it segments poorly zero-shot; the demo prints
 * zero-shot and fine-tuned Dice on held-out images and ends with one RESULT line.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SamCobotError } from './errors.js';
import type { DeviceRequest } from './device.js';
import { syntheticDataset } from './data/synthetic.js';
import { loadSam } from './load-sam.js';
import { applyPeft, printTrainableParameters } from './peft/apply.js';
import { evaluate } from './train/evaluate.js';
import { Trainer } from './train/trainer.js';

export const DEMO_ASSETS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'assets', 'demo');

export interface DemoOptions {
  device?: DeviceRequest;
  epochs?: number;
  trainImages?: number;
  testImages?: number;
  seed?: number;
  outDir?: string;
  log?: (line: string) => void;
}

export interface DemoResult {
  zeroShotDice: number;
  finetunedDice: number;
  trainable: number;
  seconds: number;
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const log = options.log ?? console.log;
  const started = performance.now();
  const weights = join(DEMO_ASSETS, 'sam-synthetic.safetensors');
  if (!existsSync(weights)) throw new SamCobotError('ERR_FILE', `Expected the demo model at ${weights} but received nothing (run node scripts/pretrain-demo.mjs)`);
  const seed = options.seed ?? 0;
  const size = 128;
  const domain = { size, domain: 'camouflage' as const, difficulty: 0.8 };
  const train = syntheticDataset({ n: options.trainImages ?? 128, seed: 11 + seed, ...domain });
  const val = syntheticDataset({ n: 12, seed: 12 + seed, ...domain });
  const test = syntheticDataset({ n: options.testImages ?? 48, seed: 13 + seed, ...domain });
  const sam = await loadSam(weights, { device: options.device ?? 'auto' });
  log(`sam-cobot demo: a ${sam.config.embedDim}-wide, ${sam.config.depth}-block SAM pretrained on synthetic shapes, adapted to camouflaged objects`);
  const zeroShot = await evaluate(sam, test);
  log(`zero-shot Dice on ${test.length} held-out camouflage images: ${zeroShot.summary.meanDice.toFixed(4)} (IoU ${zeroShot.summary.meanIou.toFixed(4)})`);
  applyPeft(sam, { host: 'adaptformer', cobot: true, dropout: 0, seed });
  const counts = printTrainableParameters(sam, log);
  const trainer = new Trainer(sam, {
    train,
    val,
    epochs: options.epochs ?? 10,
    batchSize: 4,
    objectsPerImage: 3,
    seed,
    optimizer: { type: 'adam', lr: 2e-3, cobotLr: 2e-2, schedule: 'cosine', warmupSteps: 5 },
    jitter: { mode: 'shift', max: 16 },
    outDir: options.outDir,
    progress: !!process.stderr.isTTY,
  });
  trainer.on('validation', (v: { epoch: number; summary: { meanDice: number } }) => log(`epoch ${v.epoch + 1}: validation Dice ${v.summary.meanDice.toFixed(4)}`));
  await trainer.fit();
  const tuned = await evaluate(sam, test);
  const seconds = (performance.now() - started) / 1000;
  log(`fine-tuned Dice on the same held-out images: ${tuned.summary.meanDice.toFixed(4)} (IoU ${tuned.summary.meanIou.toFixed(4)})`);
  const result = { zeroShotDice: zeroShot.summary.meanDice, finetunedDice: tuned.summary.meanDice, trainable: counts.trainable, seconds };
  log(`RESULT demo zero_shot_dice=${result.zeroShotDice.toFixed(4)} finetuned_dice=${result.finetunedDice.toFixed(4)} trainable=${result.trainable} seconds=${seconds.toFixed(1)}`);
  sam.dispose();
  return result;
}
