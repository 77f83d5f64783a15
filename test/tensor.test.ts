/**
 * Tensors: constructors, properties, reshape, transfer, reading back, disposal and scopes, and the
 * errors for bad shapes, dtypes and disposed tensors (which must throw, never crash).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backends, memoryStats } from '../lib/device.js';
import { SamCobotError } from '../lib/errors.js';
import * as ops from '../lib/ops/index.js';
import { Tensor, withScope } from '../lib/tensor.js';
import { native } from '../lib/native.js';

function expectError(fn: () => unknown, code: string, message?: string): void {
  try {
    fn();
  } catch (error) {
    assert.instance(error, SamCobotError, String(error));
    assert.is((error as SamCobotError).code, code, (error as Error).message);
    assert.match((error as Error).message, /Expected .+ for .+ but received .+/);
    if (message) assert.is((error as Error).message, message);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

/** The same check for a call made straight to the addon (a plain Error with a `code`). */
function expectNativeError(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (error) {
    assert.is((error as { code?: string }).code, code, String(error));
    return;
  }
  assert.unreachable(`expected ${code}`);
}

test('fromArray: values, shape, dtype from the array type, device, numel', async () => {
  const cases = [
    [new Float32Array([1.5, -2, 3, 4, 5, 6]), 'f32'],
    [new Float64Array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]), 'f64'],
    [new Int32Array([-1, 2, -3, 4, -5, 2147483647]), 'i32'],
    [new Uint8Array([0, 1, 2, 253, 254, 255]), 'u8'],
  ] as const;
  for (const [data, dtype] of cases) {
    const t = Tensor.fromArray(data, [2, 3]);
    assert.equal(t.shape, [2, 3]);
    assert.is(t.dtype, dtype);
    assert.is(t.device, 'cpu');
    assert.is(t.numel, 6);
    const back = await t.toArray();
    assert.is(back.constructor, data.constructor, dtype);
    assert.equal(Array.from(back), Array.from(data));
    t.dispose();
  }
});

test('fromArray converts values of another type (never reinterprets bits) and copies the data', async () => {
  const fromInts = Tensor.fromArray(new Int32Array([1, -2, 3]), [3], { dtype: 'f32' });
  assert.equal(Array.from(await fromInts.toArray()), [1, -2, 3]);
  const fromFloats = Tensor.fromArray(new Float32Array([1.5, -2.5, 7]), [3], { dtype: 'i32' });
  assert.equal(Array.from(await fromFloats.toArray()), [1, -2, 7], 'JS truncation toward zero');
  const fromList = Tensor.fromArray([0.1, 0.2], [2], { dtype: 'f64' });
  assert.equal(Array.from(await fromList.toArray()), [0.1, 0.2]);
  const defaultF32 = Tensor.fromArray([0.1], [1]);
  assert.is(defaultF32.dtype, 'f32');
  const source = new Float32Array([1, 2]);
  const copied = Tensor.fromArray(source, [2]);
  source[0] = 99;
  assert.equal(Array.from(await copied.toArray()), [1, 2], 'the source array may be reused at once');
  const scalar = Tensor.fromArray([4], []);
  assert.equal(scalar.shape, []);
  assert.is(scalar.numel, 1);
  for (const t of [fromInts, fromFloats, fromList, defaultF32, copied, scalar]) t.dispose();
});

test('zeros, ones, full, empty, randn, rand', async () => {
  const zeros = Tensor.zeros([2, 2]);
  const ones = Tensor.ones([3], { dtype: 'i32' });
  const full = Tensor.full([2], -0.5, { dtype: 'f64' });
  assert.equal(Array.from(await zeros.toArray()), [0, 0, 0, 0]);
  assert.equal(Array.from(await ones.toArray()), [1, 1, 1]);
  assert.equal(Array.from(await full.toArray()), [-0.5, -0.5]);
  const empty = Tensor.empty([4, 5], { dtype: 'u8' });
  assert.equal([empty.shape, empty.dtype, empty.numel], [[4, 5], 'u8', 20]);
  const normal = Tensor.randn([3, 4], { seed: 9, dtype: 'f64' });
  assert.equal([normal.shape, normal.dtype], [[3, 4], 'f64']);
  assert.ok((await normal.toArray()).some((v) => v !== 0));
  const uniform = Tensor.rand([1000], { seed: 1 });
  assert.ok((await uniform.toArray()).every((v) => v >= 0 && v < 1));
  const none = Tensor.zeros([0, 3]);
  assert.equal([none.numel, (await none.toArray()).length], [0, 0]);
  for (const t of [zeros, ones, full, empty, normal, uniform, none]) t.dispose();
});

test('to(cpu) is the identity; reshape shares storage but not lifetime', async () => {
  const t = Tensor.fromArray(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
  assert.ok(t.to('cpu') === t);
  const r = t.reshape([3, 2]);
  assert.equal(r.shape, [3, 2]);
  ops.fill(t, 5);
  assert.equal(Array.from(await r.toArray()), [5, 5, 5, 5, 5, 5], 'a write through one view is seen by the other');
  t.dispose();
  assert.ok(!r.disposed);
  assert.equal(Array.from(await r.toArray()), [5, 5, 5, 5, 5, 5], 'the storage lives while a view does');
  expectError(() => r.reshape([4]), 'ERR_SHAPE', 'reshape: Expected a shape with 6 elements for the new shape but received [4]');
  expectError(() => r.reshape([-6]), 'ERR_SHAPE');
  r.dispose();
});

test('dispose is idempotent; any use afterwards throws ERR_DISPOSED', async () => {
  const t = Tensor.zeros([2, 2]);
  t.dispose();
  t.dispose();
  assert.ok(t.disposed);
  assert.is(t.toString(), 'Tensor(disposed)');
  expectError(() => t.shape, 'ERR_DISPOSED', 'Expected a live tensor for tensor.shape but received a disposed tensor');
  expectError(() => t.dtype, 'ERR_DISPOSED');
  expectError(() => t.reshape([4]), 'ERR_DISPOSED');
  expectError(() => t.to('cpu'), 'ERR_DISPOSED');
  expectError(() => ops.add(t, t), 'ERR_DISPOSED', 'Expected a live tensor for add input 0 but received a disposed tensor');
  expectError(() => ops.fill(t, 1), 'ERR_DISPOSED');
  try {
    await t.toArray();
    assert.unreachable('toArray of a disposed tensor');
  } catch (error) {
    assert.is((error as SamCobotError).code, 'ERR_DISPOSED');
  }
});

test('dispose while an op that reads the tensor is still queued: the op keeps what it needs', async () => {
  const a = Tensor.randn([256, 256], { seed: 1 });
  const b = Tensor.randn([256, 256], { seed: 2 });
  const c = ops.gemm(a, b);
  const expected = withScope(() => ops.gemm(Tensor.randn([256, 256], { seed: 1 }), Tensor.randn([256, 256], { seed: 2 })));
  a.dispose();
  b.dispose();
  assert.equal(Array.from(await c.toArray()), Array.from(await expected.toArray()));
  c.dispose();
  expected.dispose();
});

test('withScope disposes the tensors made inside it and keeps the returned ones', () => {
  let inner: Tensor | undefined;
  const kept = withScope(() => {
    inner = Tensor.zeros([2]);
    return { sum: ops.add(inner, inner), list: [Tensor.ones([1])] };
  });
  assert.ok(inner!.disposed);
  assert.ok(!kept.sum.disposed && !kept.list[0]!.disposed);
  const outer = Tensor.zeros([1]);
  let nestedInner: Tensor | undefined;
  const fromNested = withScope(() => {
    const survivor = withScope(() => {
      nestedInner = Tensor.zeros([1]);
      return Tensor.ones([1]);
    });
    assert.ok(nestedInner!.disposed && !survivor.disposed);
    return survivor;
  });
  assert.ok(!fromNested.disposed, 'a tensor returned through two scopes survives both');
  assert.ok(!outer.disposed, 'tensors made before the scope are not its business');
  let thrownInner: Tensor | undefined;
  assert.throws(() =>
    withScope(() => {
      thrownInner = Tensor.zeros([1]);
      throw new Error('boom');
    }),
  );
  assert.ok(thrownInner!.disposed, 'an exception disposes the scope too');
  expectError(() => withScope(async () => 1), 'ERR_ARGUMENT');
  for (const t of [kept.sum, kept.list[0]!, outer, fromNested]) t.dispose();
});

test('bad dtypes and shapes are rejected before anything is allocated', () => {
  const before = memoryStats('cpu').systemAllocations;
  expectError(() => Tensor.zeros([2], { dtype: 'bf16' }), 'ERR_DTYPE', "Expected f32, f64, i32 or u8 (bf16 and f16 live on CUDA) for a CPU tensor's dtype but received bf16");
  expectError(() => Tensor.zeros([2], { dtype: 'f16' }), 'ERR_DTYPE');
  expectError(() => Tensor.zeros([2], { dtype: 'f8' as 'f32' }), 'ERR_DTYPE');
  expectError(() => Tensor.fromArray([1, 2], [2], { dtype: 'bf16' }), 'ERR_DTYPE');
  expectError(() => Tensor.fromArray([1, 2, 3], [2, 2]), 'ERR_SHAPE', 'Expected 4 elements for shape [2,2] for data but received 3 elements');
  expectError(() => Tensor.fromArray(new Float64Array(2), [1e9, 1e9], { dtype: 'f32' }), 'ERR_SHAPE');
  expectError(() => Tensor.fromArray('abc' as unknown as number[], [3]), 'ERR_ARGUMENT');
  expectError(() => Tensor.zeros([1e9, 1e9]), 'ERR_SHAPE', 'Expected non-negative dimensions with fewer than 2^40 elements for a tensor shape but received [1000000000,1000000000]');
  expectError(() => Tensor.empty([2 ** 30, 2 ** 30, 2]), 'ERR_SHAPE');
  expectError(() => Tensor.zeros([-1, 2]), 'ERR_SHAPE', 'Expected an array of non-negative integers for shape but received [-1,2]');
  expectError(() => Tensor.zeros([2.5]), 'ERR_SHAPE');
  expectError(() => Tensor.zeros([NaN]), 'ERR_SHAPE');
  expectError(() => Tensor.zeros('3' as unknown as number[]), 'ERR_SHAPE');
  if (!backends().cuda.available) expectError(() => Tensor.zeros([2], { device: 'cuda' }), 'ERR_NO_CUDA');
  expectError(() => Tensor.zeros([2], { device: 'tpu' as 'cpu' }), 'ERR_ARGUMENT');
  assert.is(memoryStats('cpu').systemAllocations, before, 'no allocation was made for a rejected tensor');
});

test('the addon itself validates what the TS layer would have caught (never crashes)', () => {
  const addon = native();
  expectNativeError(() => addon.empty([-1], 'f32', 'cpu'), 'ERR_SHAPE');
  expectNativeError(() => addon.empty([1.5], 'f32', 'cpu'), 'ERR_SHAPE');
  expectNativeError(() => addon.empty([2 ** 62], 'f32', 'cpu'), 'ERR_SHAPE');
  expectNativeError(() => addon.empty(Array(17).fill(1), 'f32', 'cpu'), 'ERR_SHAPE');
  expectNativeError(() => addon.empty([2], 'float', 'cpu'), 'ERR_DTYPE');
  expectNativeError(() => addon.empty([2], 'f32', 'gpu'), 'ERR_ARGUMENT');
  expectNativeError(() => addon.fromBytes(new Float32Array(3), [2], 'f32', 'cpu'), 'ERR_SHAPE');
  expectNativeError(() => addon.fromBytes('abc' as unknown as ArrayBuffer, [3], 'u8', 'cpu'), 'ERR_ARGUMENT');
  expectNativeError(() => addon.op('add', [{} as never, {} as never]), 'ERR_ARGUMENT');
  expectNativeError(() => addon.op('sum', [addon.empty([2], 'f32', 'cpu')], { axes: ['x' as unknown as number] }), 'ERR_ARGUMENT');
  expectNativeError(() => addon.op('sum', [addon.empty([2], 'f32', 'cpu')], { axes: [2 ** 60] }), 'ERR_ARGUMENT');
  expectNativeError(() => addon.transfer({} as never, 'cpu'), 'ERR_ARGUMENT');
  expectNativeError(() => addon.memoryStats('disk'), 'ERR_ARGUMENT');
});

test.run();
