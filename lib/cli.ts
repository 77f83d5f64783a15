/**
 * The `sam-cobot` command line: predict, info (and the training commands as they land).
 * Each command is a small function; argument errors print usage and exit with code 2.
 */
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { backends } from './device.js';
import { SamCobotError } from './errors.js';
import { decodeImage } from './image.js';
import { loadSam } from './load-sam.js';
import { SamPredictor } from './predictor.js';

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
    },
  });
  if (!values.checkpoint || !values.image || !values.out) throw new UsageError('predict needs --checkpoint, --image and --out');
  if (!values.box && !values.point?.length) throw new UsageError('predict needs --box x1,y1,x2,y2 or --point x,y[,label]');
  const config = values.config?.startsWith('vit_') ? (values.config as 'vit_b') : values.config ? JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(values.config!, 'utf8'))) : undefined;
  const sam = await loadSam(values.checkpoint, { config, device: values.device as 'auto' });
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

const info: Command = async () => {
  const b = backends();
  console.log(`sam-cobot backends:\n  cpu:  ${b.cpu.available ? 'available' : 'unavailable'} (${b.cpu.reason})\n  cuda: ${b.cuda.built ? 'built' : 'not built'}, ${b.cuda.available ? 'available' : 'unavailable'} (${b.cuda.reason})`);
};

export const commands: Record<string, { run: Command; help: string }> = {
  predict: { run: predict, help: 'predict --checkpoint F [--config vit_b|file.json] --image I (--box x1,y1,x2,y2 | --point x,y[,label] ...) --out mask.png [--overlay overlay.png]' },
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
