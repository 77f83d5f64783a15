/**
 * The CUDA backend as the library sees it: what `backends()` reports, the errors when no GPU
 * answers (loading and every CPU call still work), and device selection. Where a GPU is available
 * the same file checks uploads and downloads of every dtype, transfers, the arena, determinism and
 * a few ops against the CPU, so it does real work on the GPU machine.
 *
 * SAM_COBOT_REQUIRE_CUDA_BUILD=1 (set by .ci/run when it installed cuBLAS for an nvcc it found)
 * makes a build that silently fell back to CPU only fail here.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backends, emptyCache, memoryStats, resolveDevice, synchronize } from '../lib/device.js';
import { SamCobotError } from '../lib/errors.js';
import * as ops from '../lib/ops/index.js';
import { Tensor } from '../lib/tensor.js';

const cuda = backends().cuda;

function expectCode(fn: () => unknown, code: string): SamCobotError {
  try {
    fn();
  } catch (error) {
    assert.instance(error, SamCobotError, String(error));
    assert.is((error as SamCobotError).code, code, (error as Error).message);
    return error as SamCobotError;
  }
  assert.unreachable(`expected ${code}`);
  throw new Error('unreachable');
}

function seeded(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let state = seed >>> 0;
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  return worst / Math.max(scale, 1e-30);
}

test('backends() lists cpu and cuda with built, available and a reason', () => {
  const all = backends();
  assert.equal(Object.keys(all).sort(), ['cpu', 'cuda']);
  for (const info of [all.cpu, all.cuda]) {
    assert.type(info.built, 'boolean');
    assert.type(info.available, 'boolean');
    assert.type(info.reason, 'string');
    assert.ok(info.reason.length > 10, info.reason);
  }
  assert.ok(all.cpu.built && all.cpu.available);
  if (!all.cuda.built) assert.match(all.cuda.reason, /built without the CUDA backend/);
  if (all.cuda.built && !all.cuda.available)
    assert.match(all.cuda.reason, /driver|no CUDA device|kernel image|could not|failed/, `a reason a user can act on: ${all.cuda.reason}`);
  if (all.cuda.available) assert.match(all.cuda.reason, /compute capability \d+\.\d+.*cuBLAS/, all.cuda.reason);
});

test('the CUDA backend is built where the CI installed cuBLAS', () => {
  if (process.env.SAM_COBOT_REQUIRE_CUDA_BUILD !== '1') return;
  assert.ok(cuda.built, `expected a CUDA build (nvcc and cuBLAS were there) but backends() says: ${cuda.reason}`);
});

test('without a GPU: cuda requests throw ERR_NO_CUDA with the reason, auto picks the CPU, CPU work goes on', async () => {
  if (cuda.available) return;
  const noCuda = expectCode(() => Tensor.zeros([2], { device: 'cuda' }), 'ERR_NO_CUDA');
  assert.ok(noCuda.message.includes(cuda.reason), noCuda.message);
  expectCode(() => Tensor.fromArray(new Float32Array([1, 2]), [2], { device: 'cuda' }), 'ERR_NO_CUDA');
  expectCode(() => resolveDevice('cuda'), 'ERR_NO_CUDA');
  const onCpu = Tensor.ones([2, 3]);
  expectCode(() => onCpu.to('cuda'), 'ERR_NO_CUDA');
  expectCode(() => ops.runOp('fill', [], { value: 1 }, 'cuda'), 'ERR_NO_CUDA');
  await synchronize('cuda').then(
    () => assert.unreachable('synchronize(cuda) must reject'),
    (error: unknown) => assert.is((error as SamCobotError).code, 'ERR_NO_CUDA'),
  );
  assert.is(resolveDevice('auto'), 'cpu');
  const x = Tensor.randn([2, 3], { device: 'auto', seed: 3 });
  assert.is(x.device, 'cpu');
  const y = ops.gemm(onCpu, x, { transB: true });
  assert.equal(y.shape, [2, 2]);
  assert.ok(Array.from(await y.toArray()).every(Number.isFinite));
  for (const t of [onCpu, x, y]) t.dispose();
});

test('with a GPU: auto picks cuda; every dtype round-trips; transfers keep the bits', async () => {
  if (!cuda.available) return;
  assert.is(resolveDevice('auto'), 'cuda');
  const arrays = [
    new Float32Array([1.5, -2, 3.25, Number.NaN, Infinity, -0]),
    new Int32Array([-1, 2, -3, 4, 2147483647, -2147483648]),
    new Uint8Array([0, 1, 2, 127, 128, 255]),
  ];
  for (const data of arrays) {
    const t = Tensor.fromArray(data, [2, 3], { device: 'cuda' });
    assert.is(t.device, 'cuda');
    assert.equal(Array.from(await t.toArray()), Array.from(data), t.dtype);
    const back = t.to('cpu');
    assert.equal(Array.from(await back.toArray()), Array.from(data));
    const again = back.to('cuda');
    assert.equal(Array.from(await again.toArray()), Array.from(data));
    for (const x of [t, back, again]) x.dispose();
  }
  for (const dtype of ['bf16', 'f16'] as const) {
    const bits = new Uint16Array([0x3f80, 0xbf80, 0x0001, 0x7c00, 0x4049, 0x0000]);
    const t = Tensor.fromArray(bits, [6], { device: 'cuda', dtype });
    assert.equal(Array.from(await t.toArray()), Array.from(bits), dtype);
    t.dispose();
  }
  const empty = Tensor.zeros([0, 4], { device: 'cuda' });
  assert.equal(Array.from(await empty.toArray()), []);
  empty.dispose();
});

test('with a GPU: randn, sums, broadcasts and products match the CPU', async () => {
  if (!cuda.available) return;
  const onBoth = <T>(fn: (device: 'cpu' | 'cuda') => T): [T, T] => [fn('cpu'), fn('cuda')];
  const [randCpu, randGpu] = onBoth((device) => Tensor.randn([1001], { device, seed: 5, mean: 1, std: 2 }));
  assert.ok(maxRelativeError(await randGpu.toArray(), await randCpu.toArray()) <= 1e-7, 'randn is the same draw on both');
  const a = seeded(257 * 65, 1);
  const b = seeded(129 * 65, 2);
  const bias = seeded(129, 3);
  const [[ac, bc, biasc], [ag, bg, biasg]] = onBoth((device) => [
    Tensor.fromArray(a, [257, 65], { device }),
    Tensor.fromArray(b, [129, 65], { device }),
    Tensor.fromArray(bias, [129], { device }),
  ]);
  const productCpu = ops.gemm(ac!, bc!, { transB: true, bias: biasc, alpha: 0.5 });
  const productGpu = ops.gemm(ag!, bg!, { transB: true, bias: biasg, alpha: 0.5 });
  assert.ok(maxRelativeError(await productGpu.toArray(), await productCpu.toArray()) <= 1e-5, 'gemm transB + bias');
  const sumCpu = ops.sum(productCpu, [0]);
  const sumGpu = ops.sum(productGpu, [0]);
  assert.ok(maxRelativeError(await sumGpu.toArray(), await sumCpu.toArray()) <= 1e-5, 'sum over rows');
  const addCpu = ops.mul(productCpu, biasc!);
  const addGpu = ops.mul(productGpu, biasg!);
  assert.ok(maxRelativeError(await addGpu.toArray(), await addCpu.toArray()) <= 1e-5, 'broadcast mul');
  const half = ops.cast(ag!, 'bf16');
  const halfProduct = ops.cast(ops.gemm(half, ops.cast(bg!, 'bf16'), { transB: true }), 'f32');
  const exact = ops.gemm(ac!, bc!, { transB: true });
  assert.ok(maxRelativeError(await halfProduct.toArray(), await exact.toArray()) <= 2e-2, 'bf16 product with f32 accumulation');
  for (const t of [randCpu, randGpu, ac, bc, biasc, ag, bg, biasg, productCpu, productGpu, sumCpu, sumGpu, addCpu, addGpu, half, halfProduct, exact])
    t!.dispose();
});

test('with a GPU: reductions are deterministic and the arena reuses blocks', async () => {
  if (!cuda.available) return;
  const x = Tensor.randn([4096, 768], { device: 'cuda', seed: 11 });
  const sums = [ops.sum(x, [0]), ops.sum(x, [0])];
  const [first, second] = await Promise.all(sums.map((t) => t.toArray()));
  assert.equal(Array.from(first!), Array.from(second!), 'the same sum twice gives the same bits');
  for (const t of sums) t.dispose();
  await synchronize('cuda');
  const before = memoryStats('cuda');
  assert.ok(before.bytesInUse >= 4096 * 768 * 4, JSON.stringify(before));
  const y = ops.scale(x, 2);
  y.dispose();
  await synchronize('cuda');
  const z = ops.scale(x, 3);
  await z.toArray();
  const after = memoryStats('cuda');
  assert.is(after.systemAllocations, before.systemAllocations + 1, 'the second scale reuses the first one\'s block');
  for (const t of [x, z]) t.dispose();
  await synchronize('cuda');
  emptyCache('cuda');
  assert.is(memoryStats('cuda').bytesCached, 0);
});

test('with a GPU: mixing devices is ERR_DEVICE, a bad dtype is ERR_DTYPE', () => {
  if (!cuda.available) return;
  const a = Tensor.ones([2, 2]);
  const b = Tensor.ones([2, 2], { device: 'cuda' });
  expectCode(() => ops.add(a, b), 'ERR_DEVICE');
  expectCode(() => Tensor.zeros([2], { device: 'cuda', dtype: 'f64' }), 'ERR_DTYPE');
  for (const t of [a, b]) t.dispose();
});

test.run();
