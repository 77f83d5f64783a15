/**
 * Ops run off the JS thread (design section 3): a multi-second chain of CPU matrix products is
 * queued, and a 10 ms timer keeps firing until the result is read back.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { synchronize } from '../lib/device.js';
import * as ops from '../lib/ops/index.js';
import { Tensor, withScope } from '../lib/tensor.js';

const SIZE = 1024;

/** Seconds one SIZE^3 f32 product takes here (the GEMM kernel may be the plain or the packed one). */
async function secondsPerProduct(): Promise<number> {
  const [a, b] = [Tensor.randn([SIZE, SIZE], { seed: 1 }), Tensor.randn([SIZE, SIZE], { seed: 2 })];
  await synchronize('cpu');
  const start = performance.now();
  const products = [ops.gemm(a, b), ops.gemm(a, b)];
  await products[1]!.toArray();
  const seconds = (performance.now() - start) / 2000;
  for (const t of [a, b, ...products]) t.dispose();
  return seconds;
}

test('the event loop stays responsive while a multi-second CPU GEMM chain runs', async () => {
  // Chained products for a few seconds of work, whatever the GEMM's speed (the calibration's first
  // product pays for warming up, so the chain runs faster than it predicts).
  const count = Math.max(2, Math.ceil(4 / (await secondsPerProduct())));
  // Each product feeds the next; the 1/sqrt(SIZE) scale keeps the values of order one.
  const weight = Tensor.randn([SIZE, SIZE], { seed: 3, std: 1 / Math.sqrt(SIZE) });
  let x = Tensor.randn([SIZE, SIZE], { seed: 4 });
  let ticks = 0;
  const timer = setInterval(() => ++ticks, 10);
  const start = performance.now();
  for (let i = 0; i < count; ++i) {
    const next = ops.gemm(x, weight);
    x.dispose();
    x = next;
  }
  const queueMs = performance.now() - start;
  const values = await x.toArray();
  const elapsed = performance.now() - start;
  clearInterval(timer);
  const expectedTicks = elapsed / 10;
  console.log(`  ${count} chained ${SIZE}^3 products: queued in ${queueMs.toFixed(1)} ms, ran ${(elapsed / 1000).toFixed(2)} s, ${ticks} timer ticks of ~${Math.floor(expectedTicks)}`);
  assert.ok(values.every(Number.isFinite), 'the chain computed finite values');
  assert.ok(queueMs < 100, `queueing ${count} products took ${queueMs.toFixed(1)} ms: validation must not wait for the work`);
  assert.ok(elapsed >= 1500, `the work took ${elapsed.toFixed(0)} ms: too short to show anything`);
  assert.ok(ticks >= 0.5 * expectedTicks, `${ticks} ticks in ${elapsed.toFixed(0)} ms: the JS thread was blocked`);
  weight.dispose();
  x.dispose();
});

test('validation errors throw at the call, before anything is queued, while earlier work still runs', async () => {
  const a = Tensor.randn([SIZE, SIZE], { seed: 5 });
  const product = ops.gemm(a, a);
  assert.throws(() => withScope(() => ops.gemm(a, Tensor.zeros([3, 3]))), /Expected B with 1024 along its inner dimension/);
  assert.ok((await product.toArray()).every(Number.isFinite), 'the queued product is unaffected');
  a.dispose();
  product.dispose();
});

test.run();
