#!/usr/bin/env node
// Reproduces the demo's pretrained SAM (assets/demo/): a small SAM trained from scratch by this
// library, every parameter trainable, on the synthetic 'shapes' domain with box prompts. The
// demo then adapts it with COBOT to the 'camouflage' domain, where it segments poorly.
//   node scripts/pretrain-demo.mjs [--steps N] [--out assets/demo]
import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Sam, resolveSamConfig, saveSam } from '../dist/lib/index.js';
import { initializeSam } from '../dist/lib/nn/init.js';
import { syntheticDataset } from '../dist/lib/data/synthetic.js';
import { Trainer } from '../dist/lib/train/trainer.js';
import { evaluate } from '../dist/lib/train/evaluate.js';

const { values } = parseArgs({ options: { epochs: { type: 'string', default: '24' }, images: { type: 'string', default: '512' }, out: { type: 'string', default: 'assets/demo' }, seed: { type: 'string', default: '7' } } });
export const DEMO_CONFIG = {
  img_size: 128, patch_size: 16, in_chans: 3, embed_dim: 64, depth: 4, num_heads: 4, mlp_ratio: 4, out_chans: 64,
  window_size: 4, global_attn_indexes: [1, 3], prompt_embed_dim: 64, mask_in_chans: 16, decoder_depth: 2,
  decoder_mlp_dim: 256, decoder_num_heads: 4, attention_downsample_rate: 2, iou_head_depth: 3, iou_head_hidden_dim: 64,
  num_multimask_outputs: 3,
};
const seed = Number(values.seed);
const sam = new Sam(resolveSamConfig(DEMO_CONFIG));
initializeSam(sam, { seed });
const train = syntheticDataset({ n: Number(values.images), size: 128, seed: 1000 + seed, domain: 'shapes', difficulty: 0.3 });
const val = syntheticDataset({ n: 32, size: 128, seed: 2000 + seed, domain: 'shapes', difficulty: 0.3 });
const epochs = Number(values.epochs);
const trainer = new Trainer(sam, {
  train, val, epochs, batchSize: 4, objectsPerImage: 3, seed,
  optimizer: { type: 'adam', lr: 1e-3, schedule: 'cosine', warmupSteps: 50, minLrFactor: 0.05 },
  jitter: { mode: 'shift', max: 20 },
  augment: { hflip: 0.5, vflip: 0.5 },
  clipGradNorm: 1,
  progress: false,
});
trainer.on('step', (e) => { if (e.step % 50 === 0) console.log(`step ${e.step}: loss ${e.loss.toFixed(4)} (BCE ${e.terms.bce.toFixed(4)}, Dice ${e.terms.dice.toFixed(4)})`); });
trainer.on('validation', (v) => console.log(`epoch ${v.epoch + 1}: validation Dice ${v.summary.meanDice.toFixed(4)} IoU ${v.summary.meanIou.toFixed(4)}`));
const started = performance.now();
await trainer.fit();
mkdirSync(values.out, { recursive: true });
await saveSam(sam, join(values.out, 'sam-synthetic.safetensors'));
const shapes = await evaluate(sam, val);
const camo = await evaluate(sam, syntheticDataset({ n: 32, size: 128, seed: 3000 + seed, domain: 'camouflage', difficulty: 0.8 }));
console.log(`saved ${values.out}/sam-synthetic.safetensors after ${((performance.now() - started) / 1000).toFixed(0)} s: shapes Dice ${shapes.summary.meanDice.toFixed(4)}, camouflage Dice ${camo.summary.meanDice.toFixed(4)}`);
