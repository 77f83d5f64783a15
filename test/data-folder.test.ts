/**
 * FolderDataset on files written here with sharp: PNG, JPEG and TIFF images (8- and 16-bit, gray
 * and RGB) pair with their masks by stem (or stem + suffix); 8- and 16-bit label values and
 * colour-coded masks keep their labels; 'label', 'component' (4 or 8 neighbours) and 'binary'
 * objects and ignoreLabels give the expected masks; every problem (missing mask or image, a
 * duplicate stem, an unreadable file, a text file named .png, a size mismatch, a truncated file
 * with decode) is reported with its file names in one ERR_FILE, and skipBad drops and counts them.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SamCobotError } from '../lib/errors.js';
import { FolderDataset } from '../lib/data/folder-dataset.js';
import { expectFileError, scratchFolder } from './helpers/file-errors.js';

const scratch = scratchFolder('data-folder');
test.after(() => scratch.remove());

let folderCount = 0;
function folders(): { images: string; masks: string } {
  const root = join(scratch.path, `case-${folderCount++}`);
  const images = join(root, 'images');
  const masks = join(root, 'masks');
  mkdirSync(images, { recursive: true });
  mkdirSync(masks, { recursive: true });
  return { images, masks };
}

type Format = 'png' | 'tiff' | 'jpeg';

/** Writes raw pixels (8-bit Uint8Array or 16-bit Uint16Array; 1 or 3 channels) losslessly where the format allows. */
async function write(path: string, data: Uint8Array | Uint16Array, width: number, height: number, channels: 1 | 3, format: Format): Promise<void> {
  const wide = data instanceof Uint16Array;
  let pipeline = sharp(data, { raw: { width, height, channels } });
  pipeline = pipeline.toColourspace(channels === 1 ? (wide ? 'grey16' : 'b-w') : wide ? 'rgb16' : 'srgb');
  if (format === 'png') pipeline = pipeline.png();
  else if (format === 'tiff') pipeline = pipeline.tiff({ compression: 'lzw' });
  else pipeline = pipeline.jpeg({ quality: 95 });
  await pipeline.toFile(path);
}

const W = 12;
const H = 10;

/** Label map: 1 = a 3×3 square at (1, 1); 2 = two diagonal-touching 2×2 blocks at (6, 1) and (8, 3); 5 = a bar on row 8. */
function labelMap<T extends Uint8Array | Uint16Array>(array: T, values = [1, 2, 5]): T {
  const set = (x: number, y: number, v: number): void => void (array[y * W + x] = v);
  for (let y = 1; y <= 3; y++) for (let x = 1; x <= 3; x++) set(x, y, values[0]!);
  for (const [x0, y0] of [[6, 1], [8, 3]]) for (let y = y0!; y < y0! + 2; y++) for (let x = x0!; x < x0! + 2; x++) set(x, y, values[1]!);
  for (let x = 2; x < 10; x++) set(x, 8, values[2]!);
  return array;
}

function maskWhere(labels: ArrayLike<number>, keep: (v: number, x: number, y: number) => boolean): Uint8Array {
  return Uint8Array.from({ length: W * H }, (_, i) => (keep(labels[i]!, i % W, Math.floor(i / W)) ? 1 : 0));
}

function gradient(channels: 1 | 3, wide: boolean): Uint8Array | Uint16Array {
  const n = W * H * channels;
  return wide ? Uint16Array.from({ length: n }, (_, i) => (i * 997) % 65536) : Uint8Array.from({ length: n }, (_, i) => (i * 7) % 256);
}

/** Four good pairs in four formats. */
async function goodFolders(): Promise<{ images: string; masks: string }> {
  const f = folders();
  await write(join(f.images, 'a.png'), gradient(3, false), W, H, 3, 'png');
  await write(join(f.masks, 'a.png'), labelMap(new Uint8Array(W * H)), W, H, 1, 'png');
  await write(join(f.images, 'b.tif'), gradient(1, true), W, H, 1, 'tiff');
  await write(join(f.masks, 'b.tif'), labelMap(new Uint16Array(W * H), [1000, 40000, 65535]), W, H, 1, 'tiff');
  await write(join(f.images, 'c.jpg'), gradient(1, false), W, H, 1, 'jpeg');
  await write(join(f.masks, 'c.png'), maskWhere(labelMap(new Uint8Array(W * H)), (v) => v !== 0).map((v) => v * 255), W, H, 1, 'png');
  await write(join(f.images, 'd.tiff'), gradient(3, true), W, H, 3, 'tiff');
  const colour = new Uint8Array(W * H * 3);
  labelMap(new Uint8Array(W * H)).forEach((v, i) => colour.set(v === 1 ? [255, 0, 0] : v === 2 ? [0, 128, 255] : v === 5 ? [9, 9, 9] : [0, 0, 0], 3 * i));
  await write(join(f.masks, 'd.png'), colour, W, H, 3, 'png');
  writeFileSync(join(f.images, 'notes.txt'), 'not an image, and not listed');
  return f;
}

test('pairs by stem across formats and decodes images to 8-bit RGB', async () => {
  const ds = await FolderDataset.open(await goodFolders());
  assert.is(ds.length, 4);
  assert.equal(ds.names, ['a', 'b', 'c', 'd']);
  assert.is(ds.skipped, 0);
  const a = await ds.get(0);
  assert.equal([a.image.width, a.image.height, a.image.data.length], [W, H, W * H * 3]);
  assert.equal(Array.from(a.image.data.subarray(0, 6)), [0, 7, 14, 21, 28, 35]);
  // 16-bit gray: the high byte, replicated to RGB.
  const b = await ds.get(1);
  const v = (5 * 997) % 65536;
  assert.ok(Math.abs(b.image.data[15]! - v / 257) <= 1 && b.image.data[15] === b.image.data[17], `${b.image.data[15]} for ${v}`);
  const c = await ds.get(2);
  assert.is(c.image.data.length, W * H * 3);
  const d = await ds.get(3);
  assert.is(d.image.width, W);
});

test("'label' objects keep 8-bit, 16-bit and colour label values", async () => {
  const ds = await FolderDataset.open(await goodFolders());
  const labels8 = labelMap(new Uint8Array(W * H));
  const [a, b, c, d] = await Promise.all([0, 1, 2, 3].map((i) => ds.get(i)));
  assert.equal(a.objects.map((o) => o.label), [1, 2, 5]);
  for (const o of a.objects) assert.equal(o.mask, maskWhere(labels8, (v) => v === o.label));
  assert.equal(b.objects.map((o) => o.label), [1000, 40000, 65535]);
  assert.equal(b.objects[1]!.mask, maskWhere(labels8, (v) => v === 2));
  assert.equal(c.objects.map((o) => o.label), [255]);
  assert.equal(d.objects.map((o) => o.label), [0x0080ff, 0x090909, 0xff0000]);
  assert.equal(d.objects[2]!.mask, maskWhere(labels8, (v) => v === 1));
});

test("'component', 'binary' and ignoreLabels", async () => {
  const f = await goodFolders();
  const labels8 = labelMap(new Uint8Array(W * H));
  const eight = await (await FolderDataset.open({ ...f, objects: 'component' })).get(0);
  assert.equal(eight.objects.map((o) => o.label), [1, 2, 5], 'diagonal blocks join with 8 neighbours');
  const four = await (await FolderDataset.open({ ...f, objects: 'component', connectivity: 4 })).get(0);
  assert.equal(four.objects.map((o) => o.label), [1, 2, 2, 5]);
  assert.equal(four.objects[1]!.mask, maskWhere(labels8, (v, x, y) => v === 2 && y < 3));
  assert.equal(four.objects[2]!.mask, maskWhere(labels8, (v, x, y) => v === 2 && y >= 3));
  const binary = await (await FolderDataset.open({ ...f, objects: 'binary' })).get(0);
  assert.equal(binary.objects.map((o) => o.label), [1]);
  assert.equal(binary.objects[0]!.mask, maskWhere(labels8, (v) => v !== 0));
  const ignored = await (await FolderDataset.open({ ...f, ignoreLabels: [0, 2] })).get(0);
  assert.equal(ignored.objects.map((o) => o.label), [1, 5]);
  const small = await (await FolderDataset.open({ ...f, objects: 'component', connectivity: 4, minPixels: 5 })).get(0);
  assert.equal(small.objects.map((o) => o.label), [1, 5]);
});

test('masks named with a suffix pair with maskSuffix', async () => {
  const f = folders();
  await write(join(f.images, 'scan.png'), gradient(3, false), W, H, 3, 'png');
  await write(join(f.masks, 'scan_mask.png'), labelMap(new Uint8Array(W * H)), W, H, 1, 'png');
  const ds = await FolderDataset.open({ ...f, maskSuffix: '_mask' });
  assert.equal(ds.names, ['scan']);
  await expectFileError(() => FolderDataset.open(f), /no mask for .*scan\.png[\s\S]*no image for .*scan_mask\.png/, 'without the suffix');
});

/** The good folders plus one file of each problem. */
async function badFolders(): Promise<{ images: string; masks: string; bad: Record<string, string[]> }> {
  const f = await goodFolders();
  const p = (folder: string, name: string): string => join(folder, name);
  await write(p(f.images, 'lonely.png'), gradient(3, false), W, H, 3, 'png');
  await write(p(f.masks, 'orphan.png'), labelMap(new Uint8Array(W * H)), W, H, 1, 'png');
  await write(p(f.images, 'twice.png'), gradient(3, false), W, H, 3, 'png');
  await write(p(f.images, 'twice.jpg'), gradient(3, false), W, H, 3, 'jpeg');
  await write(p(f.masks, 'twice.png'), labelMap(new Uint8Array(W * H)), W, H, 1, 'png');
  writeFileSync(p(f.images, 'text.png'), 'this is a text file with a .png name\n');
  await write(p(f.masks, 'text.png'), labelMap(new Uint8Array(W * H)), W, H, 1, 'png');
  await write(p(f.images, 'sized.png'), gradient(3, false), W, H, 3, 'png');
  await write(p(f.masks, 'sized.png'), new Uint8Array(10 * 10), 10, 10, 1, 'png');
  await write(p(f.images, 'broken.png'), gradient(3, false), W, H, 3, 'png');
  writeFileSync(p(f.masks, 'broken.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]));
  const bad = {
    'missing-mask': [p(f.images, 'lonely.png')],
    'missing-image': [p(f.masks, 'orphan.png')],
    duplicate: [p(f.images, 'twice.png'), p(f.images, 'twice.jpg')],
    unreadable: [p(f.images, 'text.png'), p(f.masks, 'broken.png')],
    'size-mismatch': [p(f.images, 'sized.png'), p(f.masks, 'sized.png')],
  };
  return { images: f.images, masks: f.masks, bad };
}

test('every problem is reported with its file names in one ERR_FILE', async () => {
  const { bad, ...f } = await badFolders();
  const error = await expectFileError(() => FolderDataset.open(f), /6 problem\(s\)/, 'bad folders');
  for (const files of Object.values(bad)) for (const file of files) assert.ok(error.message.includes(file), `${file} is named in:\n${error.message}`);
  assert.match(error.message, /no mask for .*lonely\.png/);
  assert.match(error.message, /no image for .*orphan\.png/);
  assert.match(error.message, /several images named twice/);
  assert.match(error.message, /unreadable: .*text\.png/);
  assert.match(error.message, /size mismatch: .*sized\.png is 12x10 but .*sized\.png is 10x10/);
  const report = error.cause as { problems: Array<{ kind: string; files: string[] }> };
  assert.equal(report.problems.map((p) => p.kind).sort(), ['duplicate', 'missing-image', 'missing-mask', 'size-mismatch', 'unreadable', 'unreadable']);
});

test('skipBad drops the bad entries and counts them', async () => {
  const { bad, ...f } = await badFolders();
  const ds = await FolderDataset.open({ ...f, skipBad: true });
  assert.equal(ds.names, ['a', 'b', 'c', 'd']);
  assert.is(ds.skipped, 6);
  assert.is(ds.problems.length, 6);
  assert.ok(ds.problems.every((p) => p.files.length > 0 && p.files.every((file) => p.message.includes(file))));
  assert.ok(Object.values(bad).flat().every((file) => ds.problems.some((p) => p.files.includes(file))));
});

test('a truncated file behind a good header is found by check({decode: true}) and by get', async () => {
  const f = await goodFolders();
  const path = join(f.images, 'a.png');
  const bytes = readFileSync(path);
  writeFileSync(path, bytes.subarray(0, bytes.length - 30));
  const ds = await FolderDataset.open(f);
  await expectFileError(() => ds.get(0), /a\.png/, 'get');
  const error = await expectFileError(() => ds.check({ decode: true }), /unreadable: .*a\.png/, 'check');
  assert.ok(error.message.includes(path));
  const skipping = await FolderDataset.open({ ...f, skipBad: true });
  const report = await skipping.check({ decode: true });
  assert.equal([report.pairs, report.skipped, skipping.length], [3, 1, 3]);
});

test('a missing folder and bad options are refused', async () => {
  await expectFileError(() => FolderDataset.open({ images: join(scratch.path, 'nope'), masks: scratch.path }), /readable folder for images/);
  let error: unknown;
  await FolderDataset.open({ images: scratch.path, masks: scratch.path, objects: 'pixels' as 'label' }).catch((e) => (error = e));
  assert.ok(error instanceof SamCobotError && error.code === 'ERR_ARGUMENT', String(error));
});

test.run();
