/**
 * safetensors reading and writing: every golden file reads with the sizes, key counts, shapes and
 * values its README states; every element type converts as documented; a write/read round trip is
 * bit-identical (metadata and key order included); writes are atomic (no temporary file left, and
 * a write that fails midway leaves the old file intact); each malformed header gives ERR_FILE
 * naming the problem; and 1,600 seeded mutations of a small file only ever read or fail with
 * ERR_FILE, without large allocations.
 */
import { open as openFile, readdir } from 'node:fs/promises';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SamCobotError } from '../lib/errors.js';
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from '../lib/io/safetensors.js';
import { Tensor } from '../lib/tensor.js';
import { makeRng } from './helpers/check-op.js';
import { bytesOf, disposeAll, errorOf, expectFileError, scratchFolder } from './helpers/file-errors.js';
import { goldenPath, goldenRoot } from './helpers/golden.js';

const scratch = scratchFolder('safetensors');
test.after(() => scratch.remove());

const writeTemp = (bytes: Uint8Array, name = 'case.safetensors'): string => scratch.write(bytes, name);
const dispose = disposeAll;

/** A safetensors file from a header object (serialised as given) and a data section. */
function encode(header: unknown, data: Uint8Array = new Uint8Array(0), headerText?: Uint8Array): Uint8Array {
  const json = headerText ?? Buffer.from(JSON.stringify(header), 'utf8');
  const out = Buffer.alloc(8 + json.length + data.length);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  Buffer.from(json).copy(out, 8);
  Buffer.from(data).copy(out, 8 + json.length);
  return new Uint8Array(out);
}

function goldenFiles(): string[] {
  return readdirSync(goldenRoot, { recursive: true })
    .map(String)
    .filter((name) => name.endsWith('.safetensors'))
    .sort();
}

const buffer = 'prompt_encoder.pe_layer.positional_encoding_gaussian_matrix';

test('every golden safetensors file reads, with the README sizes and dtypes', async () => {
  const sizes: Record<string, number> = {
    'tiny/weights.safetensors': 868712, 'tiny/case.safetensors': 828272, 'tiny/grads.safetensors': 1082904,
    'small/weights.safetensors': 1327072, 'small/case.safetensors': 1375168, 'small/grads.safetensors': 2180248,
    'tiny-cobot/adaptformer/adapter.safetensors': 37416, 'tiny-cobot/lora/adapter.safetensors': 22856,
    'tiny-cobot/adaptformer/case.safetensors': 456308, 'tiny-cobot/lora/case.safetensors': 574076,
    'tiny-cobot/adaptformer/grads.safetensors': 432060, 'tiny-cobot/lora/grads.safetensors': 417276,
    'tiny-cobot/adaptformer/train.safetensors': 462752, 'tiny-cobot/lora/train.safetensors': 434264,
  };
  const int32Keys = new Set(['input.point_labels', 'input.alt_points.point_labels', 'input.input_size', 'input.original_size']);
  const files = goldenFiles();
  assert.equal(files.map((f) => f.split('\\').join('/')), Object.keys(sizes).sort());
  for (const file of files) {
    const name = file.split('\\').join('/');
    const path = join(goldenRoot, file);
    assert.is(statSync(path).size, sizes[name], `${name}: size`);
    const header = await readSafetensorsHeader(path);
    assert.is(header.dataStart % 8, 0, `${name}: data section alignment`);
    assert.is(header.entries.at(-1)!.dataOffsets[1], header.dataBytes, `${name}: data packed to the end`);
    const { tensors, metadata } = await readSafetensors(path);
    assert.equal([...tensors.keys()], header.entries.map((e) => e.name), `${name}: keys in data order`);
    assert.ok(JSON.parse(metadata.config!), `${name}: metadata.config is JSON`);
    for (const [key, t] of tensors) assert.is(t.dtype, int32Keys.has(key) ? 'i32' : 'f32', `${name}: ${key} dtype`);
    dispose(tensors);
  }
});

test('weights: parameter counts, key order and shapes as in the README table', async () => {
  const counts = { tiny: 211196, small: 325708 };
  const shapes: Record<string, { tiny: number[]; small: number[] }> = {
    'image_encoder.pos_embed': { tiny: [1, 8, 8, 48], small: [1, 16, 16, 64] },
    'image_encoder.patch_embed.proj.weight': { tiny: [48, 3, 16, 16], small: [64, 3, 16, 16] },
    'image_encoder.blocks.0.attn.rel_pos_h': { tiny: [5, 16], small: [13, 16] },
    'image_encoder.blocks.1.attn.rel_pos_w': { tiny: [15, 16], small: [31, 16] },
    'image_encoder.blocks.3.attn.qkv.weight': { tiny: [144, 48], small: [192, 64] },
    'image_encoder.neck.0.weight': { tiny: [32, 48, 1, 1], small: [32, 64, 1, 1] },
    [buffer]: { tiny: [2, 16], small: [2, 16] },
    'mask_decoder.output_upscaling.0.weight': { tiny: [32, 8, 2, 2], small: [32, 8, 2, 2] },
    'mask_decoder.iou_prediction_head.layers.2.weight': { tiny: [4, 64], small: [4, 64] },
  };
  for (const config of ['tiny', 'small'] as const) {
    const { tensors } = await readSafetensors(goldenPath(config, 'weights.safetensors'));
    assert.is(tensors.size, 202);
    assert.is([...tensors.keys()][0], 'image_encoder.pos_embed');
    assert.is([...tensors.keys()].at(-1), 'mask_decoder.iou_prediction_head.layers.2.bias');
    let parameters = 0;
    for (const [key, t] of tensors) if (key !== buffer) parameters += t.numel;
    assert.is(parameters, counts[config], `${config}: parameter count`);
    for (const [key, shape] of Object.entries(shapes)) assert.equal(tensors.get(key)!.shape, shape[config], `${config}: ${key}`);
    dispose(tensors);

    const { tensors: grads } = await readSafetensors(goldenPath(config, 'grads.safetensors'));
    let gradCount = 0;
    for (const [key, t] of grads) if (key.startsWith('grad.') && key !== 'grad.image' && key !== 'grad.mask_input') gradCount += t.numel;
    assert.is(gradCount, counts[config], `${config}: one gradient element per parameter`);
    const loss = (await grads.get('loss')!.toArray())[0]!;
    assert.ok(Math.abs(loss - (config === 'tiny' ? -47.954556 : 131.939316)) < 1e-5, `${config}: loss ${loss}`);
    dispose(grads);
  }
});

test('case and tiny-cobot values stated in the README', async () => {
  const sizes = { tiny: [[128, 96], [100, 75]], small: [[192, 256], [60, 80]] } as const;
  for (const config of ['tiny', 'small'] as const) {
    const { tensors } = await readSafetensors(goldenPath(config, 'case.safetensors'), { keys: ['input.point_labels', 'input.input_size', 'input.original_size'] });
    assert.equal(Array.from(await tensors.get('input.point_labels')!.toArray()), [1, 0, 1, -1]);
    assert.equal(Array.from(await tensors.get('input.input_size')!.toArray()), sizes[config][0]);
    assert.equal(Array.from(await tensors.get('input.original_size')!.toArray()), sizes[config][1]);
    dispose(tensors);
  }
  const losses = {
    adaptformer: { medical: [1.382942, 1.382594, 1.382246, 1.381898, 1.38155, 1.381203], fast: [1.382942, 1.312452, 1.279546, 1.250286, 1.227867, 1.208143] },
    lora: { medical: [1.402025, 1.401832, 1.40164, 1.401447, 1.401255, 1.401069], fast: [1.402025, 1.338837, 1.307944, 1.273508, 1.231175, 1.194922] },
  };
  for (const host of ['adaptformer', 'lora'] as const) {
    const train = await readSafetensors(goldenPath('tiny-cobot', host, 'train.safetensors'));
    assert.is(train.tensors.size, host === 'adaptformer' ? 334 : 350);
    for (const tag of ['medical', 'fast'] as const) {
      const got = Array.from(await train.tensors.get(`${tag}.loss`)!.toArray());
      got.forEach((v, i) => assert.ok(Math.abs(v - losses[host][tag][i]!) < 1e-6, `${host} ${tag}.loss[${i}] = ${v}`));
    }
    dispose(train.tensors);

    const adapter = await readSafetensors(goldenPath('tiny-cobot', host, 'adapter.safetensors'));
    assert.is(adapter.tensors.size, host === 'adaptformer' ? 52 : 60);
    // C and P are one shared Parameter repeated under every block: the copies are identical.
    const prefix = host === 'adaptformer' ? 'mlp' : 'attn.qkv';
    for (const name of ['FacT_c', 'FacT_p']) {
      const first = await bytesOf(adapter.tensors.get(`image_encoder.blocks.0.${prefix}.${name}`)!);
      for (let block = 1; block < 4; block++) assert.equal(await bytesOf(adapter.tensors.get(`image_encoder.blocks.${block}.${prefix}.${name}`)!), first, `${host} block ${block} ${name}`);
    }
    dispose(adapter.tensors);

    const { tensors: inputs } = await readSafetensors(goldenPath('tiny-cobot', host, 'case.safetensors'), { keys: ['input.boxes', 'input.target'] });
    const box = Array.from(await inputs.get('input.boxes')!.toArray());
    [45.395, 51.287, 90.848, 100.39].forEach((v, i) => assert.ok(Math.abs(box[i]! - v) < 1e-3, `${host} box[${i}]`));
    assert.is(Array.from(await inputs.get('input.target')!.toArray()).filter((v) => v === 1).length, 129);
    dispose(inputs);
  }
});

test('element types: BF16/F16 widen to f32 on the CPU, F64 stays f64, integers become i32, BOOL u8', async () => {
  const parts: Array<[string, string, number[], Uint8Array]> = [
    ['bf16', 'BF16', [3], new Uint8Array(Uint16Array.from([0x3f80, 0xc000, 0x7f80]).buffer)], // 1, -2, inf
    ['f16', 'F16', [4], new Uint8Array(Uint16Array.from([0x3c00, 0xb800, 0x0001, 0x7bff]).buffer)], // 1, -0.5, 2^-24, 65504
    ['f64', 'F64', [2], new Uint8Array(Float64Array.from([1 / 3, -1e300]).buffer)],
    ['i64', 'I64', [2], new Uint8Array(BigInt64Array.from([-2147483648n, 2147483647n]).buffer)],
    ['i16', 'I16', [2], new Uint8Array(Int16Array.from([-32768, 7]).buffer)],
    ['i8', 'I8', [2], new Uint8Array(Int8Array.from([-128, 5]).buffer)],
    ['u8', 'U8', [2], Uint8Array.from([0, 255])],
    ['bool', 'BOOL', [3], Uint8Array.from([1, 0, 2])],
    ['scalar', 'F32', [], new Uint8Array(Float32Array.from([2.5]).buffer)],
    ['empty', 'F32', [0, 3], new Uint8Array(0)],
  ];
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, dtype, shape, bytes] of parts) {
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
  }
  const path = writeTemp(encode(header, Buffer.concat(parts.map((p) => p[3]))));
  const { tensors } = await readSafetensors(path);
  const expected: Record<string, [string, number[]]> = {
    bf16: ['f32', [1, -2, Infinity]], f16: ['f32', [1, -0.5, 2 ** -24, 65504]], f64: ['f64', [1 / 3, -1e300]],
    i64: ['i32', [-2147483648, 2147483647]], i16: ['i32', [-32768, 7]], i8: ['i32', [-128, 5]], u8: ['u8', [0, 255]],
    bool: ['u8', [1, 0, 1]], scalar: ['f32', [2.5]], empty: ['f32', []],
  };
  for (const [name, [dtype, values]] of Object.entries(expected)) {
    assert.is(tensors.get(name)!.dtype, dtype, name);
    assert.equal(Array.from(await tensors.get(name)!.toArray()), values, name);
  }
  assert.equal(tensors.get('scalar')!.shape, []);
  dispose(tensors);

  const tooWide = encode({ big: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(BigInt64Array.from([1n << 40n]).buffer));
  await expectFileError(() => readSafetensors(writeTemp(tooWide)), /: big but received 1099511627776/);
});

test('round trip: write then read is bit-identical, with metadata and insertion order', async () => {
  const golden = await readSafetensors(goldenPath('tiny', 'case.safetensors'));
  const path = join(scratch.path, 'round-trip.safetensors');
  await writeSafetensors(path, golden.tensors, golden.metadata);
  const back = await readSafetensors(path);
  assert.equal(back.metadata, golden.metadata);
  assert.equal([...back.tensors.keys()], [...golden.tensors.keys()]);
  for (const [key, t] of golden.tensors) {
    assert.is(back.tensors.get(key)!.dtype, t.dtype);
    assert.equal(back.tensors.get(key)!.shape, t.shape);
    assert.equal(await bytesOf(back.tensors.get(key)!), await bytesOf(t), key);
  }
  dispose(golden.tensors);
  dispose(back.tensors);

  const mixed = new Map<string, Tensor>([
    ['10', Tensor.fromArray(Float64Array.from([Math.PI, -0]), [2])],
    ['2', Tensor.fromArray(Int32Array.from([-7, 8, 9]), [3])],
    ['b', Tensor.fromArray(Uint8Array.from([255]), [1, 1])],
    ['a', Tensor.fromArray(Float32Array.from([NaN, -Infinity]), [2])],
    ['__proto__', Tensor.zeros([0])],
    ['scalar', Tensor.fromArray([1.5], [])],
  ]);
  const mixedPath = join(scratch.path, 'mixed.safetensors');
  await writeSafetensors(mixedPath, mixed);
  const header = await readSafetensorsHeader(mixedPath);
  assert.is(header.dataStart % 8, 0);
  assert.equal(header.metadata, {});
  const read = await readSafetensors(mixedPath);
  assert.equal([...read.tensors.keys()], [...mixed.keys()], 'integer-like names keep their place');
  for (const [key, t] of mixed) {
    assert.is(read.tensors.get(key)!.dtype, t.dtype, key);
    assert.equal(await bytesOf(read.tensors.get(key)!), await bytesOf(t), key);
  }
  dispose(mixed);
  dispose(read.tensors);

  // Every header length residue: the data section must start 8-aligned and end the file.
  const one = Tensor.fromArray([4], [1]);
  for (let length = 1; length <= 8; length++) {
    const path = join(scratch.path, `align-${length}.safetensors`);
    await writeSafetensors(path, { ['x'.repeat(length)]: one });
    const { dataStart, dataBytes } = await readSafetensorsHeader(path);
    assert.is(dataStart % 8, 0, `name of ${length} characters`);
    assert.is(statSync(path).size, dataStart + 4);
    assert.is(dataBytes, 4);
  }
  one.dispose();
});

class FailingTensor extends Tensor {
  override async toArray(): Promise<never> {
    throw new Error('disk unplugged');
  }
}

test('writes are atomic: no temporary file remains, a failed write leaves the old file intact', async () => {
  const folder = join(scratch.path, 'atomic');
  mkdirSync(folder);
  const path = join(folder, 'model.safetensors');
  const first = Tensor.fromArray(Float32Array.from([1, 2, 3]), [3]);
  await writeSafetensors(path, { first }, { note: 'old' });
  const before = readFileSync(path);
  assert.equal(await readdir(folder), ['model.safetensors']);

  const failing = new FailingTensor(Tensor.zeros([1000]).handle);
  const error = await expectFileError(() => writeSafetensors(path, { first, failing }, { note: 'new' }), /disk unplugged/);
  assert.ok(error.cause instanceof Error);
  assert.equal(readFileSync(path), before, 'old file unchanged');
  assert.equal(await readdir(folder), ['model.safetensors'], 'no temporary file left');

  const bad = await errorOf(() => writeSafetensors(path, { x: 3 as unknown as Tensor }));
  assert.is((bad as SamCobotError).code, 'ERR_ARGUMENT');
  const disposed = Tensor.zeros([2]);
  disposed.dispose();
  assert.is(((await errorOf(() => writeSafetensors(path, { disposed }))) as SamCobotError).code, 'ERR_DISPOSED');
  assert.is(((await errorOf(() => writeSafetensors(path, { __metadata__: first }))) as SamCobotError).code, 'ERR_ARGUMENT');
  assert.is(((await errorOf(() => writeSafetensors(path, { first }, { n: 1 as unknown as string }))) as SamCobotError).code, 'ERR_ARGUMENT');
  assert.equal(readFileSync(path), before);
  await expectFileError(() => writeSafetensors(join(folder, 'no', 'such', 'dir.safetensors'), { first }), /writable file/);
  assert.equal(await readdir(folder), ['model.safetensors']);
  first.dispose();
});

/** A small valid file: three tensors and metadata. */
const baseHeader = {
  __metadata__: { config: '{"a": 1}', note: 'fuzz' },
  'w.weight': { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
  'w.bias': { dtype: 'F32', shape: [3], data_offsets: [24, 36] },
  labels: { dtype: 'I32', shape: [2], data_offsets: [36, 44] },
};
const baseData = Buffer.concat([Buffer.from(Float32Array.from([1, 2, 3, 4, 5, 6, 0.5, -0.5, 1]).buffer), Buffer.from(Int32Array.from([7, -1]).buffer)]);

test('malformed files give ERR_FILE naming the problem', async () => {
  const entry = (over: object) => encode({ ...baseHeader, 'w.bias': { ...baseHeader['w.bias'], ...over } }, baseData);
  const withLength = (length: bigint) => {
    const bytes = encode(baseHeader, baseData);
    new DataView(bytes.buffer).setBigUint64(0, length, true);
    return bytes;
  };
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['an empty file', new Uint8Array(0), /header length but received a file of 0 bytes/],
    ['a 7-byte file', new Uint8Array(7), /a file of 7 bytes/],
    ['a header length larger than the file', withLength(10_000n), /header length but received 10000/],
    ['a header length of 2^64 - 1', withLength(2n ** 64n - 1n), /header length/],
    ['non-UTF-8 header', encode(null, baseData, Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d])), /valid UTF-8/],
    ['a truncated UTF-8 sequence', encode(null, baseData, Uint8Array.from([0x7b, 0x22, 0x61, 0xc3, 0x22, 0x7d])), /valid UTF-8/],
    ['not JSON', encode(null, baseData, Buffer.from('{"a": ')), /a JSON object/],
    ['a JSON array', encode([1, 2]), /JSON object for .*header but received an array/],
    ['an unknown dtype', entry({ dtype: 'F8_E4M3' }), /w\.bias but received "F8_E4M3"/],
    ['an unsupported dtype', entry({ dtype: 'U64' }), /not supported/],
    ['a negative dimension', entry({ shape: [-3] }), /w\.bias but received \[-3\]/],
    ['a fractional dimension', entry({ shape: [1.5] }), /shape of non-negative integers/],
    ['a shape that is not an array', entry({ shape: '3' }), /shape of non-negative integers/],
    ['offsets out of range', entry({ data_offsets: [24, 4000] }), /data section's size/],
    ['reversed offsets', entry({ data_offsets: [36, 24] }), /begin <= end/],
    ['one offset', entry({ data_offsets: [24] }), /two non-negative integers/],
    ['overlapping offsets', entry({ data_offsets: [20, 32] }), /overlapping data_offsets/],
    ['a size that disagrees with the shape', entry({ shape: [4] }), /16 bytes|4 x 4 bytes/],
    ['a huge shape', entry({ shape: [2 ** 40, 2 ** 40] }), /w\.bias/],
    ['an entry that is not an object', encode({ ...baseHeader, 'w.bias': 5 }, baseData), /w\.bias but received 5/],
    ['non-string metadata', encode({ ...baseHeader, __metadata__: { epoch: 3 } }, baseData), /__metadata__/],
    ['truncated data', encode(baseHeader, baseData.subarray(0, 40)), /<= 40 \(the data section's size\)/],
  ];
  for (const [label, bytes, pattern] of cases) await expectFileError(() => readSafetensors(writeTemp(bytes)), pattern, label);
  await expectFileError(() => readSafetensors(writeTemp(encode(baseHeader, baseData)), { keys: ['labels', 'nope'] }), /nope but received none/);
  await expectFileError(() => readSafetensors(join(scratch.path, 'missing.safetensors')), /readable file/);
});

test('a header length over 100 MB is refused before any allocation (sparse 200 MB file)', async () => {
  const path = join(scratch.path, 'sparse.safetensors');
  const handle = await openFile(path, 'w');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(150_000_000n);
  await handle.write(length, 0, 8, 0);
  await handle.truncate(200_000_000);
  await handle.close();
  await expectFileError(() => readSafetensors(path), /at most 100000000/);
});

/** One seeded mutation of the small file: header byte flips, truncation, length field, crafted entries, non-UTF-8. */
function mutateFile(random: () => number, i: number): Uint8Array {
  const valid = encode(baseHeader, baseData);
  const headerEnd = 8 + Number(new DataView(valid.buffer).getBigUint64(0, true));
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
  const anyInt = (): number => pick([0, 1, 3, 8, 12, 24, 36, 44, 45, -1, 2 ** 31, 2 ** 53, 1e300, 0.5, Math.floor(random() * 64)]);
  switch (i % 6) {
    case 0: { // byte flips inside the header
      const out = valid.slice();
      for (let k = 0; k < 1 + Math.floor(random() * 4); k++) out[8 + Math.floor(random() * (headerEnd - 8))]! ^= 1 << Math.floor(random() * 8);
      return out;
    }
    case 1: // truncation anywhere
      return valid.slice(0, Math.floor(random() * valid.length));
    case 2: { // length field
      const out = valid.slice();
      const view = new DataView(out.buffer);
      const n = BigInt(headerEnd - 8);
      view.setBigUint64(0, pick([0n, n - 1n, n + 1n, n + BigInt(Math.floor(random() * 100)), 2n ** 63n, 2n ** 64n - 1n, BigInt(Math.floor(random() * 2 ** 32))]), true);
      return out;
    }
    case 3: { // crafted entries: offsets, shapes, dtypes
      const header = JSON.parse(JSON.stringify(baseHeader)) as Record<string, Record<string, unknown>>;
      const key = pick(['w.weight', 'w.bias', 'labels']);
      const field = pick(['data_offsets', 'shape', 'dtype', 'all']);
      if (field === 'data_offsets' || field === 'all') header[key]!.data_offsets = [anyInt(), anyInt()];
      if (field === 'shape' || field === 'all') header[key]!.shape = Array.from({ length: Math.floor(random() * 4) }, anyInt);
      if (field === 'dtype' || field === 'all') header[key]!.dtype = pick(['F32', 'F64', 'I64', 'BF16', 'BOOL', 'U16', 'F8_E5M2', 'f32', '', 7]);
      return encode(header, baseData);
    }
    case 4: { // non-UTF-8 or control bytes inserted in the header
      const text = Buffer.from(JSON.stringify(baseHeader));
      const at = Math.floor(random() * text.length);
      const inserted = pick([[0xff], [0xc3], [0xed, 0xa0, 0x80], [0x00], [0xe2, 0x82]]);
      return encode(null, baseData, Buffer.concat([text.subarray(0, at), Buffer.from(inserted), text.subarray(at)]));
    }
    default: { // random bytes overwritten anywhere
      const out = valid.slice();
      for (let k = 0; k < 1 + Math.floor(random() * 6); k++) out[Math.floor(random() * out.length)] = Math.floor(random() * 256);
      return out;
    }
  }
}

test('1,600 mutated files read or fail with ERR_FILE, never anything else, with bounded memory', async () => {
  const random = makeRng(2024);
  const rssBefore = process.memoryUsage().rss;
  let readOk = 0;
  for (let i = 0; i < 1600; i++) {
    const bytes = mutateFile(random, i);
    const path = writeTemp(bytes, 'fuzz.safetensors');
    const error = await errorOf(async () => {
      const { tensors } = await readSafetensors(path);
      for (const t of tensors.values()) assert.ok(t.numel <= bytes.length, `mutation ${i}: a tensor larger than its file`);
      dispose(tensors);
    });
    if (error === undefined) readOk++;
    else assert.ok(error instanceof SamCobotError && error.code === 'ERR_FILE', `mutation ${i}: ${String(error)}\n${(error as Error).stack}`);
  }
  assert.ok(readOk > 0 && readOk < 1600, `${readOk} of 1600 mutations still read`);
  const grown = process.memoryUsage().rss - rssBefore;
  assert.ok(grown < 256 * 2 ** 20, `resident memory grew by ${grown} bytes`);
});

test.run();
