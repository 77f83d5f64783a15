/**
 * The `sam-cobot` command line: predict, info (and the training commands as they land).
 * Each command is a small function; argument errors print usage and exit with code 2.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import sharp from 'sharp';
import { backends } from './device.js';
import { SamCobotError } from './errors.js';
import { decodeImage } from './image.js';
import { loadSam } from './load-sam.js';
import { SamPredictor } from './predictor.js';
import { runDemo } from './demo.js';
import { FolderDataset } from './data/folder-dataset.js';
import { applyPeft, printTrainableParameters, type PeftOptions } from './peft/apply.js';
import { loadAdapter } from './peft/adapter-io.js';
import { Trainer } from './train/trainer.js';
import { evaluate } from './train/evaluate.js';
import { predictionGridPng, type GridItem } from './train/plots.js';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

type Command = (args: string[]) => Promise<void>;

class UsageError extends Error {}

function numbers(text: string, count: number[], name: string): number[] {
  const values = text.split(',').map((v) => Number(v.trim()));
  if (!count.includes(values.length) || values.some((v) => !Number.isFinite(v)))
    throw new UsageError(`Expected ${count.join(' or ')} comma-separated numbers for ${name} but received "${text}"`);
  return values;
}

async function writeMaskPng(path: string, mask: Uint8Array | Float32Array, width: number, height: number): Promise<void> {
  const pixels = Buffer.alloc(width * height);
  for (let i = 0; i < pixels.length; i++) pixels[i] = mask[i]! > 0 ? 255 : 0;
  await sharp(pixels, { raw: { width, height, channels: 1 } }).png().toFile(path);
}

async function writeOverlayPng(path: string, image: { data: Uint8Array; width: number; height: number }, mask: Uint8Array | Float32Array): Promise<void> {
  const out = Buffer.from(image.data);
  for (let i = 0; i < image.width * image.height; i++) {
    if (!(mask[i]! > 0)) continue;
    // Tint masked pixels towards a saturated blue, keeping the picture readable underneath.
    out[i * 3] = Math.round(out[i * 3]! * 0.45 + 30 * 0.55);
    out[i * 3 + 1] = Math.round(out[i * 3 + 1]! * 0.45 + 144 * 0.55);
    out[i * 3 + 2] = Math.round(out[i * 3 + 2]! * 0.45 + 255 * 0.55);
  }
  await sharp(out, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toFile(path);
}

const predict: Command = async (args) => {
  const { values } = parseArgs({
    args,
    options: {
      checkpoint: { type: 'string' },
      config: { type: 'string' },
      image: { type: 'string' },
      box: { type: 'string' },
      point: { type: 'string', multiple: true },
      out: { type: 'string' },
      overlay: { type: 'string' },
      device: { type: 'string', default: 'auto' },
      multimask: { type: 'boolean', default: false },
      adapter: { type: 'string' },
    },
  });
  if (!values.checkpoint || !values.image || !values.out) throw new UsageError('predict needs --checkpoint, --image and --out');
  if (!values.box && !values.point?.length) throw new UsageError('predict needs --box x1,y1,x2,y2 or --point x,y[,label]');
  const config = values.config?.startsWith('vit_') ? (values.config as 'vit_b') : values.config ? JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(values.config!, 'utf8'))) : undefined;
  const sam = await loadSam(values.checkpoint, { config, device: values.device as 'auto' });
  if (values.adapter) await loadAdapter(sam, values.adapter);
  const predictor = new SamPredictor(sam);
  const decoded = await decodeImage(values.image);
  await predictor.setImage({ data: decoded.data, width: decoded.width, height: decoded.height });
  const points = (values.point ?? []).map((p) => numbers(p, [2, 3], '--point'));
  const prediction = await predictor.predict({
    box: values.box ? numbers(values.box, [4], '--box') : undefined,
    pointCoords: points.length ? points.map((p) => [p[0]!, p[1]!]) : undefined,
    pointLabels: points.length ? points.map((p) => p[2] ?? 1) : undefined,
    multimaskOutput: values.multimask,
  });
  // With several masks, keep the one with the highest predicted IoU.
  const scores = prediction.scores.data;
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i]! > scores[best]!) best = i;
  const plane = decoded.width * decoded.height;
  const mask = prediction.masks.data.subarray(best * plane, (best + 1) * plane);
  await writeMaskPng(values.out, mask, decoded.width, decoded.height);
  if (values.overlay) await writeOverlayPng(values.overlay, decoded, mask);
  let area = 0;
  for (const v of mask) area += v > 0 ? 1 : 0;
  console.log(`mask ${values.out}: ${decoded.width}x${decoded.height}, ${area} pixels (${((100 * area) / plane).toFixed(1)}%), predicted IoU ${scores[best]!.toFixed(3)}`);
  predictor.resetImage();
  sam.dispose();
};

/** `--peft` names: the host, with or without COBOT. */
export function peftFromName(name: string): PeftOptions {
  const table: Record<string, PeftOptions> = {
    'cobot-adaptformer': { host: 'adaptformer', cobot: true },
    'cobot-lora': { host: 'lora', cobot: true },
    adaptformer: { host: 'adaptformer', cobot: false },
    lora: { host: 'lora', cobot: false },
    decoder: { host: 'decoder', cobot: false },
  };
  const peft = table[name];
  if (!peft) throw new UsageError(`Expected one of ${Object.keys(table).join(', ')} for --peft but received "${name}"`);
  return peft;
}

async function folder(dir: string, skipBad: boolean): Promise<FolderDataset> {
  const images = existsSync(join(dir, 'images')) ? join(dir, 'images') : dir;
  const masks = join(dir, 'masks');
  const dataset = await FolderDataset.open({ images, masks, skipBad });
  const report = await dataset.check();
  if (report.skipped) console.error(`skipped ${report.skipped} bad image/mask pair(s) in ${dir}`);
  return dataset;
}

async function samFrom(values: { checkpoint?: string; config?: string; device?: string }) {
  if (!values.checkpoint) throw new UsageError('--checkpoint is required');
  const config = values.config?.startsWith('vit_') ? (values.config as 'vit_b') : values.config ? JSON.parse(await readFile(values.config, 'utf8')) : undefined;
  return loadSam(values.checkpoint, { config, device: (values.device ?? 'auto') as 'auto' });
}

const trainOptions: ParseArgsConfig['options'] = {
  config: { type: 'string' },
  checkpoint: { type: 'string' },
  'model-config': { type: 'string' },
  data: { type: 'string' },
  val: { type: 'string' },
  peft: { type: 'string', default: 'cobot-adaptformer' },
  epochs: { type: 'string', default: '10' },
  lr: { type: 'string', default: '1e-4' },
  'cobot-lr': { type: 'string' },
  'weight-decay': { type: 'string', default: '0' },
  optimizer: { type: 'string', default: 'adam' },
  'batch-size': { type: 'string', default: '1' },
  objects: { type: 'string', default: '4' },
  accumulate: { type: 'string', default: '1' },
  jitter: { type: 'string', default: 'shift:50' },
  'warmup-steps': { type: 'string', default: '0' },
  'clip-grad-norm': { type: 'string' },
  'checkpoint-every': { type: 'string' },
  out: { type: 'string' },
  device: { type: 'string', default: 'auto' },
  seed: { type: 'string', default: '0' },
  resume: { type: 'boolean', default: false },
  'skip-bad': { type: 'boolean', default: false },
};

const train: Command = async (args) => {
  const { values: cli } = parseArgs({ args, options: trainOptions });
  // --config train.json supplies defaults (same names as the flags); flags given on the line win.
  const file = cli.config ? (JSON.parse(await readFile(String(cli.config), 'utf8')) as Record<string, unknown>) : {};
  const v = (name: string) => (args.includes(`--${name}`) ? cli[name] : (file[name] ?? cli[name])) as string | boolean | undefined;
  if (!v('checkpoint') || !v('data') || !v('out')) throw new UsageError('train needs --checkpoint, --data and --out (or them in --config)');
  const sam = await samFrom({ checkpoint: String(v('checkpoint')), config: v('model-config') as string | undefined, device: String(v('device')) });
  const peft = { ...peftFromName(String(v('peft'))), seed: Number(v('seed')) };
  applyPeft(sam, peft);
  printTrainableParameters(sam);
  const [mode, max] = String(v('jitter')).split(':');
  const trainer = new Trainer(sam, {
    train: await folder(String(v('data')), !!v('skip-bad')),
    val: v('val') ? await folder(String(v('val')), !!v('skip-bad')) : undefined,
    epochs: Number(v('epochs')),
    batchSize: Number(v('batch-size')),
    objectsPerImage: Number(v('objects')),
    accumulate: Number(v('accumulate')),
    optimizer: {
      type: String(v('optimizer')) as 'adam',
      lr: Number(v('lr')),
      cobotLr: v('cobot-lr') ? Number(v('cobot-lr')) : null,
      weightDecay: Number(v('weight-decay')),
      warmupSteps: Number(v('warmup-steps')),
    },
    jitter: mode === 'none' ? null : { mode: mode as 'shift', max: Number(max ?? 50) },
    clipGradNorm: v('clip-grad-norm') ? Number(v('clip-grad-norm')) : null,
    checkpointEvery: v('checkpoint-every') ? Number(v('checkpoint-every')) : undefined,
    outDir: String(v('out')),
    seed: Number(v('seed')),
  });
  const controller = new AbortController();
  process.once('SIGINT', () => {
    console.error('\nstopping after this step (checkpoint kept; resume with --resume)');
    controller.abort();
  });
  (trainer.options as { signal?: AbortSignal }).signal = controller.signal;
  if (v('resume')) await trainer.resume();
  trainer.on('validation', (e: { epoch: number; summary: { meanDice: number; meanIou: number } }) =>
    console.error(`epoch ${e.epoch + 1}: validation Dice ${e.summary.meanDice.toFixed(4)}, IoU ${e.summary.meanIou.toFixed(4)}`),
  );
  const result = await trainer.fit();
  console.log(`${result.status}: ${result.steps} steps in ${result.seconds.toFixed(1)} s; best validation Dice ${result.best ? result.best.summary.meanDice.toFixed(4) : 'n/a'}; logs, curves.svg and best/ in ${String(v('out'))}`);
};

const evalCommand: Command = async (args) => {
  const { values } = parseArgs({
    args,
    options: {
      checkpoint: { type: 'string' },
      config: { type: 'string' },
      adapter: { type: 'string' },
      data: { type: 'string' },
      out: { type: 'string' },
      device: { type: 'string', default: 'auto' },
      grid: { type: 'string', default: '8' },
      'skip-bad': { type: 'boolean', default: false },
    },
  });
  if (!values.data || !values.out) throw new UsageError('eval needs --checkpoint, --data and --out');
  const sam = await samFrom(values);
  if (values.adapter) await loadAdapter(sam, values.adapter);
  const dataset = await folder(values.data, values['skip-bad']!);
  const gridItems: GridItem[] = [];
  const result = await evaluate(sam, dataset, {
    onPrediction: (sample, predictions, targets) => {
      if (gridItems.length < Number(values.grid) && predictions.length) gridItems.push({ image: sample.image, target: targets[0]!, prediction: predictions[0]! });
    },
  });
  await mkdir(values.out, { recursive: true });
  await writeFile(join(values.out, 'metrics.json'), JSON.stringify(result.accumulator.toJSON(), null, 2) + '\n');
  await writeFile(join(values.out, 'metrics.csv'), result.accumulator.toCsv());
  if (gridItems.length) await predictionGridPng(gridItems, join(values.out, 'grid.png'));
  const s = result.summary;
  console.log(`${result.records.length} objects: mean Dice ${s.meanDice.toFixed(4)}, mean IoU ${s.meanIou.toFixed(4)} (per object); pooled Dice ${s.pooledDice.toFixed(4)}; files in ${values.out}`);
};

const demo: Command = async (args) => {
  const { values } = parseArgs({ args, options: { device: { type: 'string', default: 'auto' }, epochs: { type: 'string' }, out: { type: 'string' } } });
  await runDemo({ device: values.device as 'auto', epochs: values.epochs ? Number(values.epochs) : undefined, outDir: values.out });
};

const info: Command = async () => {
  const b = backends();
  console.log(`sam-cobot backends:\n  cpu:  ${b.cpu.available ? 'available' : 'unavailable'} (${b.cpu.reason})\n  cuda: ${b.cuda.built ? 'built' : 'not built'}, ${b.cuda.available ? 'available' : 'unavailable'} (${b.cuda.reason})`);
};

export const commands: Record<string, { run: Command; help: string }> = {
  predict: { run: predict, help: 'predict --checkpoint F [--config vit_b|file.json] --image I (--box x1,y1,x2,y2 | --point x,y[,label] ...) --out mask.png [--overlay overlay.png]' },
  train: { run: train, help: 'train --checkpoint F --data DIR [--val DIR] --peft cobot-adaptformer|cobot-lora|lora|adaptformer|decoder --epochs N --lr X --out RUN/ [--config train.json] [--resume]' },
  eval: { run: evalCommand, help: 'eval --checkpoint F [--adapter RUN/best] --data DIR --out DIR   (metrics.json, metrics.csv, grid.png)' },
  demo: { run: demo, help: 'demo: adapt the embedded small SAM to a new synthetic domain and print Dice before and after' },
  info: { run: info, help: 'info: backends built and available here' },
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name ? commands[name] : undefined;
  if (!command) {
    console.log(`usage: sam-cobot <command> [options]\n\n${Object.values(commands).map((c) => `  ${c.help}`).join('\n')}`);
    return name && name !== 'help' && name !== '--help' ? 2 : 0;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      console.error(`sam-cobot ${name}: ${(error as Error).message}\nusage: sam-cobot ${command.help}`);
      return 2;
    }
    if (error instanceof SamCobotError) {
      console.error(`sam-cobot ${name}: ${error.code}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
