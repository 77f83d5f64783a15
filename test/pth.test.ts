/**
 * The PyTorch checkpoint reader: both tiny-pth golden files decode bit-identical to
 * tiny/weights.safetensors (same keys, same order); checkpoints written by a current PyTorch
 * (test/fixtures/pth, see make-fixtures.py) decode every storage type, strided views of a shared
 * storage and the non-tensor entries of a training checkpoint; crafted malicious pickles (code-running
 * globals, INST/OBJ/NEWOBJ, abused persistent ids) and every truncation are refused with ERR_FILE and
 * run nothing; mutated pickles and files only ever decode or fail with ERR_FILE.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SamCobotError } from '../lib/errors.js';
import { loadStateDict } from '../lib/io/checkpoint.js';
import { readPth } from '../lib/io/pth.js';
import { readSafetensors } from '../lib/io/safetensors.js';
import { Tensor } from '../lib/tensor.js';
import { TorchStorage, toPlainValue, unpickle } from '../lib/io/unpickle.js';
import { makeRng } from './helpers/check-op.js';
import { bytesOf, disposeAll, errorOf, expectFileError, scratchFolder } from './helpers/file-errors.js';
import { goldenPath, goldenRoot } from './helpers/golden.js';
import { Pickle, f32Bytes, makeLegacy, makeTorchZip, pushTensor, stateDictPickle, type CraftedTensor } from './helpers/pickle-craft.js';

const fixtures = join(goldenRoot, '..', 'fixtures', 'pth');
const scratch = scratchFolder('pth');
test.after(() => scratch.remove());

const writeTemp = (bytes: Uint8Array, name = 'case.pth'): string => scratch.write(bytes, name);
const dispose = disposeAll;

test('both tiny-pth files decode bit-identical to tiny/weights.safetensors, same keys and order', async () => {
  const reference = await readSafetensors(goldenPath('tiny', 'weights.safetensors'));
  for (const [file, format] of [['weights.pth', 'zip'], ['weights_legacy.pth', 'legacy']] as const) {
    const checkpoint = await readPth(goldenPath('tiny-pth', file));
    assert.is(checkpoint.format, format);
    assert.is(checkpoint.stateDictKey, null);
    assert.equal(checkpoint.extra, {});
    assert.is(checkpoint.tensors.size, 202);
    assert.equal([...checkpoint.tensors.keys()], [...reference.tensors.keys()], `${file}: key order`);
    for (const [key, t] of checkpoint.tensors) {
      const expected = reference.tensors.get(key)!;
      assert.equal(t.shape, expected.shape, `${file}: ${key} shape`);
      assert.is(t.dtype, 'f32');
      assert.equal(await bytesOf(t), await bytesOf(expected), `${file}: ${key} bits`);
    }
    dispose(checkpoint.tensors);
  }
  dispose(reference.tensors);
});

// The values make-fixtures.py writes, recomputed here.
const arange = (n: number, f: (i: number) => number = (i) => i): number[] => Array.from({ length: n }, (_, i) => f(i));
const fixtureValues: Record<string, { dtype: string; shape: number[]; values: number[] }> = {
  w: { dtype: 'f32', shape: [3, 4], values: arange(12) },
  w_t: { dtype: 'f32', shape: [4, 3], values: arange(12, (i) => (i % 3) * 4 + Math.floor(i / 3)) },
  w_slice: { dtype: 'f32', shape: [2, 2], values: [6, 7, 10, 11] },
  w_step: { dtype: 'f32', shape: [3, 2], values: [0, 2, 4, 6, 8, 10] },
  half: { dtype: 'f32', shape: [5], values: arange(5, (i) => i * 0.5) },
  bf16: { dtype: 'f32', shape: [5], values: arange(5, (i) => i * -0.25) },
  f64: { dtype: 'f64', shape: [3], values: arange(3, (i) => i / 3) },
  i64: { dtype: 'i32', shape: [3], values: [-5, 0, 2 ** 31 - 1] },
  i32: { dtype: 'i32', shape: [2], values: [1, -2] },
  i16: { dtype: 'i32', shape: [2], values: [-300, 300] },
  i8: { dtype: 'i32', shape: [2], values: [-128, 127] },
  u8: { dtype: 'u8', shape: [2], values: [0, 255] },
  bool: { dtype: 'u8', shape: [3], values: [1, 0, 1] },
  scalar: { dtype: 'f32', shape: [], values: [3.5] },
  empty: { dtype: 'f32', shape: [0, 4], values: [] },
  param: { dtype: 'f32', shape: [2], values: [7, 7] },
};

test('a current PyTorch training checkpoint (zip and legacy): storage types, shared strided views, extra entries', async () => {
  for (const [file, format] of [['checkpoint-zip.pth', 'zip'], ['checkpoint-legacy.pth', 'legacy']] as const) {
    const checkpoint = await readPth(join(fixtures, file));
    assert.is(checkpoint.format, format);
    assert.is(checkpoint.stateDictKey, 'state_dict');
    assert.equal([...checkpoint.tensors.keys()], Object.keys(fixtureValues), `${file}: keys`);
    for (const [key, expected] of Object.entries(fixtureValues)) {
      const t = checkpoint.tensors.get(key)!;
      assert.is(t.dtype, expected.dtype, `${file}: ${key} dtype`);
      assert.equal(t.shape, expected.shape, `${file}: ${key} shape`);
      assert.equal(Array.from(await t.toArray()), expected.values, `${file}: ${key} values`);
    }
    assert.equal(checkpoint.extra, {
      epoch: 3,
      best_dice: 0.875,
      name: 'cobot',
      big: 2n ** 70n,
      flags: [true, null, -1],
      optimizer: {
        state: { '0': { step: { kind: 'tensor', dtype: 'F32', shape: [] }, exp_avg: { kind: 'tensor', dtype: 'F32', shape: [2] } } },
        param_groups: [{ lr: 1e-3, betas: [0.9, 0.999], params: [0] }],
      },
    });
    dispose(checkpoint.tensors);
  }
});

test('options: a subset of keys, an explicit state-dict key, a missing key', async () => {
  const path = join(fixtures, 'checkpoint-zip.pth');
  const some = await readPth(path, { keys: ['w_t', 'i8'] });
  assert.equal([...some.tensors.keys()], ['w_t', 'i8']);
  dispose(some.tensors);
  await expectFileError(() => readPth(path, { keys: ['nope'] }), /nope/);
  await expectFileError(() => readPth(path, { stateDictKey: 'optimizer' }), /optimizer but received a dict/);
  const explicit = await readPth(path, { stateDictKey: 'state_dict' });
  assert.is(explicit.tensors.size, 16);
  dispose(explicit.tensors);
});

test('loadStateDict tells safetensors, zip and legacy checkpoints apart by their bytes', async () => {
  for (const [path, format] of [
    [goldenPath('tiny', 'weights.safetensors'), 'safetensors'],
    [goldenPath('tiny-pth', 'weights.pth'), 'pth-zip'],
    [goldenPath('tiny-pth', 'weights_legacy.pth'), 'pth-legacy'],
  ] as const) {
    const state = await loadStateDict(path, { keys: ['mask_decoder.iou_token.weight'] });
    assert.is(state.format, format);
    assert.equal(state.tensors.get('mask_decoder.iou_token.weight')!.shape, [1, 32]);
    if (format === 'safetensors') assert.ok(JSON.parse(state.metadata.config!));
    dispose(state.tensors);
  }
  await expectFileError(() => loadStateDict(writeTemp(Buffer.from('hello world'))), /safetensors file or a PyTorch checkpoint/);
  await expectFileError(() => loadStateDict(join(scratch.path, 'missing.pth')), /readable file/);
});

// A small valid checkpoint: two tensors, one a transposed view of a shared storage.
const smallTensors: CraftedTensor[] = [
  { name: 'a', key: '0', count: 6, shape: [2, 3] },
  { name: 'b', key: '0', count: 6, shape: [3, 2], stride: [1, 3] },
  { name: 'c', key: '1', count: 2, shape: [2] },
];
const smallData = { '0': f32Bytes([1, 2, 3, 4, 5, 6]), '1': f32Bytes([-1, 0.5]) };
const smallZip = makeTorchZip(stateDictPickle(smallTensors), smallData);
const smallLegacy = makeLegacy(stateDictPickle(smallTensors, true), [
  { key: '0', count: 6, data: smallData['0'] },
  { key: '1', count: 2, data: smallData['1'] },
]);

test('crafted zip and legacy checkpoints decode (the crafting helpers are right)', async () => {
  for (const bytes of [smallZip, smallLegacy]) {
    const { tensors } = await readPth(writeTemp(bytes));
    assert.equal(Array.from(await tensors.get('a')!.toArray()), [1, 2, 3, 4, 5, 6]);
    assert.equal(Array.from(await tensors.get('b')!.toArray()), [1, 4, 2, 5, 3, 6]);
    assert.equal(Array.from(await tensors.get('c')!.toArray()), [-1, 0.5]);
    dispose(tensors);
  }
});

const marker = join(scratch.path, 'pwned');
const command = `touch ${marker}`;

/** Pickles that would run code or build arbitrary objects under Python's pickle. */
const malicious: Array<[string, Uint8Array, RegExp]> = [
  ['GLOBAL os.system + REDUCE', new Pickle().proto().global('os', 'system').str(command).tuple1().reduce().stop().toBytes(), /global os\.system/],
  ['STACK_GLOBAL posix.system', new Pickle().proto().str('posix').str('system').raw(0x93).str(command).tuple1().reduce().stop().toBytes(), /global posix\.system/],
  ['builtins.eval', new Pickle().proto().global('builtins', 'eval').str(`__import__('os').system('${command}')`).tuple1().reduce().stop().toBytes(), /global builtins\.eval/],
  ['__builtin__.__import__', new Pickle().proto().global('__builtin__', '__import__').str('os').tuple1().reduce().stop().toBytes(), /__import__/],
  ['torch.storage._load_from_bytes', new Pickle().proto().global('torch.storage', '_load_from_bytes').stop().toBytes(), /_load_from_bytes/],
  ['INST', new Pickle().proto().mark().str(command).raw(0x69, ...Buffer.from('os\nsystem\n')).stop().toBytes(), /opcode INST/],
  ['OBJ', new Pickle().proto().mark().global('collections', 'OrderedDict').raw(0x6f).stop().toBytes(), /opcode OBJ/],
  ['NEWOBJ', new Pickle().proto().global('collections', 'OrderedDict').emptyTuple().raw(0x81).stop().toBytes(), /opcode NEWOBJ/],
  ['EXT1', new Pickle().proto().raw(0x82, 1).stop().toBytes(), /opcode EXT1/],
  ['text PERSID', new Pickle().proto().raw(0x50, ...Buffer.from('0\n')).stop().toBytes(), /opcode PERSID/],
  ['REDUCE on a storage type', new Pickle().proto().global('torch', 'FloatStorage').emptyTuple().reduce().stop().toBytes(), /allowed callable/],
  ['BUILD on a list', new Pickle().proto().emptyList().emptyDict().build().stop().toBytes(), /BUILD/],
  [
    'os.system hidden in a nested dict',
    new Pickle().proto().emptyDict().str('state_dict').emptyDict().str('x').global('os', 'system').str(command).tuple1().reduce().setitem().setitem().stop().toBytes(),
    /os\.system/,
  ],
];

/** A legacy file around `pickle` (no storages). */
const asLegacy = (pickle: Uint8Array): Uint8Array => makeLegacy(pickle, []);

test('malicious pickles are refused with ERR_FILE, as raw pickles, zip and legacy checkpoints, and run nothing', async () => {
  for (const [label, pickle, pattern] of malicious) {
    await expectFileError(() => unpickle(pickle, { file: 'crafted', part: 'pickle' }), pattern, `${label} (raw)`);
    await expectFileError(() => readPth(writeTemp(makeTorchZip(pickle, {}))), pattern, `${label} (zip)`);
    await expectFileError(() => readPth(writeTemp(asLegacy(pickle))), pattern, `${label} (legacy)`);
  }
  assert.not.ok(existsSync(marker), 'a refused pickle ran code');
});

/** A zip checkpoint whose pickle is `{'t': <tensor built from this persistent id>}`. */
function zipWithPid(pushPid: (p: Pickle) => Pickle, storages: Record<string, Uint8Array> = smallData): Uint8Array {
  const p = new Pickle().proto().emptyDict().str('t').global('torch._utils', '_rebuild_tensor_v2').mark();
  pushPid(p).binpersid().int(0).ints([1]).ints([1]).bool(false).global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce().setitem().stop();
  return makeTorchZip(p.toBytes(), storages);
}

const storagePid = (p: Pickle, type: string, key: string, count: number): Pickle => p.mark().str('storage').global('torch', type).str(key).str('cpu').int(count).tuple();

test('abused persistent ids and tensor views are refused', async () => {
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['a pid that is not a tuple', zipWithPid((p) => p.str('0')), /persistent id/],
    ['a pid whose key is itself a persistent id', zipWithPid((p) => p.mark().str('storage').global('torch', 'FloatStorage').raw(...storagePid(new Pickle(), 'FloatStorage', '0', 6).binpersid().toBytes()).str('cpu').int(6).tuple()), /string storage key/],
    ['a pid whose type is not a storage', zipWithPid((p) => p.mark().str('storage').global('collections', 'OrderedDict').str('0').str('cpu').int(6).tuple()), /storage type/],
    ['a pid of another kind', zipWithPid((p) => p.mark().str('module').str('x').str('y').str('z').int(1).tuple()), /persistent id/],
    ['a pid naming a missing record', zipWithPid((p) => storagePid(p, 'FloatStorage', '9', 6)), /none in the archive/],
    ['a pid whose size disagrees with its record', zipWithPid((p) => storagePid(p, 'FloatStorage', '0', 7)), /28 bytes/],
    ['a pid of a huge storage', zipWithPid((p) => p.mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').long(1n << 60n).tuple()), /non-negative storage size/],
    ['a record without data', zipWithPid((p) => storagePid(p, 'DoubleStorage', '0', 3), { '0': new Uint8Array(8) }), /24 bytes/],
  ];
  for (const [label, bytes, pattern] of cases) await expectFileError(() => readPth(writeTemp(bytes)), pattern, label);

  const views: Array<[string, CraftedTensor[], RegExp]> = [
    ['a view past the end of its storage', [{ name: 'x', key: '1', count: 2, shape: [3] }], /inside its storage/],
    ['an offset past the end of its storage', [{ name: 'x', key: '1', count: 2, shape: [1], offset: 2 }], /inside its storage/],
    ['an expanded view larger than its storage', [{ name: 'x', key: '1', count: 2, shape: [1000, 2], stride: [0, 1] }], /expanded/],
    ['a key redeclared with another type', [{ name: 'x', key: '1', count: 2, shape: [2] }, { name: 'y', key: '1', count: 1, shape: [1], storageType: 'DoubleStorage' }], /as first declared/],
    ['an int64 value outside int32', [{ name: 'x', key: '1', count: 1, shape: [1], storageType: 'LongStorage' }], /fit in int32/],
  ];
  for (const [label, tensors, pattern] of views) {
    // '1' holds 8 bytes: two floats, or one int64 of 0x3f000000bf800000 (beyond int32).
    await expectFileError(() => readPth(writeTemp(makeTorchZip(stateDictPickle(tensors), smallData))), pattern, label);
  }

  const stride = new Pickle().proto().emptyDict().str('x');
  pushTensor(stride, { name: 'x', key: '1', count: 2, shape: [2], stride: [1, 1] }, false);
  await expectFileError(() => readPth(writeTemp(makeTorchZip(stride.setitem().stop().toBytes(), smallData))), /same rank/, 'a stride of another rank');

  const cyclic = new Pickle().proto().emptyDict().put(0).str('state_dict').emptyDict().setitem().str('loop').emptyList().put(1).get(1).append().setitem().stop();
  await expectFileError(() => readPth(writeTemp(makeTorchZip(cyclic.toBytes(), {}))), /acyclic/, 'a list containing itself');

  const module = new Pickle().proto().mark().str('module').str('x').str('y').str('z').tuple().binpersid().stop().toBytes();
  await expectFileError(() => readPth(writeTemp(makeLegacy(module, []))), /pickled module/, 'a legacy module persistent id');
  const wrongCount = makeLegacy(stateDictPickle([smallTensors[2]!], true), [{ key: '1', count: 3, data: smallData['1'] }]);
  await expectFileError(() => readPth(writeTemp(wrongCount)), /2 elements, as declared/, 'a legacy storage size that disagrees');
  const unknownKey = makeLegacy(stateDictPickle([smallTensors[2]!], true), [{ key: '7', count: 2, data: smallData['1'] }]);
  await expectFileError(() => readPth(writeTemp(unknownKey)), /no tensor uses/, 'a legacy key list naming an unknown storage');
});

test('every prefix of a small crafted checkpoint is refused (zip and legacy)', async () => {
  for (const [label, bytes] of [['zip', smallZip], ['legacy', smallLegacy]] as const) {
    for (let length = 0; length < bytes.length; length++)
      await expectFileError(() => readPth(writeTemp(bytes.subarray(0, length), 'prefix.pth')), undefined, `${label} prefix of ${length} bytes`);
  }
});

test('random truncations of the real checkpoints are refused', async () => {
  const random = makeRng(7);
  for (const file of ['weights.pth', 'weights_legacy.pth']) {
    const bytes = readFileSync(goldenPath('tiny-pth', file));
    for (let i = 0; i < 15; i++) {
      const length = Math.floor(random() * bytes.length);
      await expectFileError(() => readPth(writeTemp(bytes.subarray(0, length), file)), undefined, `${file} cut at ${length}`);
    }
  }
});

/** Flips, overwrites, inserts or deletes a few random bytes from `start` on. */
function mutate(bytes: Uint8Array, random: () => number, start = 0): Uint8Array {
  const out = [...bytes];
  const edits = 1 + Math.floor(random() * 4);
  for (let e = 0; e < edits; e++) {
    const at = start + Math.floor(random() * (out.length - start));
    const kind = random();
    if (kind < 0.4) out[at] = out[at]! ^ (1 << Math.floor(random() * 8));
    else if (kind < 0.7) out[at] = Math.floor(random() * 256);
    else if (kind < 0.85) out.splice(at, 0, Math.floor(random() * 256));
    else out.splice(at, 1);
  }
  return Uint8Array.from(out);
}

function isFileError(error: unknown): boolean {
  return error instanceof SamCobotError && error.code === 'ERR_FILE';
}

test('3,000 mutated pickles decode or fail with ERR_FILE, never anything else', async () => {
  const base = stateDictPickle(smallTensors);
  const wrapped = new Pickle().proto().emptyDict().mark().str('epoch').int(3).str('state_dict').raw(...base.subarray(2, -1)).str('lr').float(1e-3).str('big').long(-(1n << 70n)).setitems().stop().toBytes();
  const random = makeRng(11);
  let decoded = 0;
  for (let i = 0; i < 3000; i++) {
    const pickle = mutate(i % 2 ? base : wrapped, random);
    const error = await errorOf(() => {
      const { value } = unpickle(pickle, { file: 'fuzz', part: 'pickle', persistentLoad: () => new TorchStorage('0', 'F32', 6, 'cpu') });
      toPlainValue(value, 'fuzz', 'pickle');
    });
    if (error === undefined) decoded++;
    else assert.ok(isFileError(error), `mutation ${i}: ${String(error)}\n${(error as Error).stack}`);
  }
  assert.ok(decoded > 0, 'some mutations should still decode');
});

test('500 mutated legacy files read or fail with ERR_FILE, never anything else', async () => {
  const random = makeRng(13);
  for (let i = 0; i < 500; i++) {
    const path = writeTemp(mutate(smallLegacy, random), 'fuzz.pth');
    const error = await errorOf(async () => dispose((await readPth(path)).tensors));
    assert.ok(error === undefined || isFileError(error), `mutation ${i}: ${String(error)}\n${(error as Error)?.stack}`);
  }
});

test.run();
