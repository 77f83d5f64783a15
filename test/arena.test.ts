/**
 * Device memory comes from a caching arena: a training-step-like loop allocates from the system in
 * its first step only, the statistics add up, and emptyCache returns the cached blocks.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backends, emptyCache, memoryStats, type Device } from '../lib/device.js';
import * as grad from '../lib/grad.js';
import * as ops from '../lib/ops/index.js';
import { Tensor, withScope } from '../lib/tensor.js';

/** One step: forward through a linear layer, a loss-like reduction, the backward, a weight update. */
async function step(x: Tensor, weight: Tensor, bias: Tensor): Promise<number> {
  const loss = withScope(() => {
    const y = ops.gemm(x, weight, { bias }); // (B, N, C)
    const activated = ops.mul(y, y);
    const total = ops.sum(activated, [0, 1, 2]);
    const dY = ops.scale(y, 2);
    const g = grad.gemmBackward(x, weight, dY, { hasBias: true }, { needA: true, needB: true, needBias: true });
    ops.accumulate(weight, g.dB!, -1e-3);
    ops.accumulate(bias, g.dBias!, -1e-3);
    return total;
  });
  const value = (await loss.toArray())[0]!;
  loss.dispose();
  return value;
}

function devices(): Device[] {
  return backends().cuda.available ? ['cpu', 'cuda'] : ['cpu'];
}

for (const device of devices()) {
  test(`${device}: a training loop makes no system allocation after its first step`, async () => {
    const x = Tensor.randn([4, 64, 96], { seed: 1, device });
    const weight = Tensor.randn([96, 128], { seed: 2, std: 0.1, device });
    const bias = Tensor.zeros([128], { device });
    await Promise.all([x, weight, bias].map((t) => t.toArray())); // their memory is taken when the fills run
    const before = memoryStats(device);
    // Memory is taken when a kernel first writes a tensor and returned when its last user has run,
    // so how many blocks of one size are live at once depends on how far the JS thread ran ahead
    // of the worker: the cache settles within the first two steps.
    const losses = [await step(x, weight, bias), await step(x, weight, bias)];
    const afterFirst = memoryStats(device);
    for (let i = 0; i < 5; ++i) losses.push(await step(x, weight, bias));
    const after = memoryStats(device);
    assert.ok(losses.every(Number.isFinite) && losses.at(-1)! < losses[0]!, `the loop trains: ${losses.map((l) => l.toFixed(1))}`);
    assert.is(after.systemAllocations, afterFirst.systemAllocations, 'no system allocation after the warm-up steps');
    // At most: the finalizer of a tensor another test forgot may free memory meanwhile, never take it.
    assert.ok(after.bytesInUse <= before.bytesInUse, 'every temporary of a step goes back to the arena');
    assert.ok(after.bytesCached > 0, 'freed blocks are kept for reuse');
    // The step's live set holds at least y besides x and the weights (the peak is process-wide,
    // so earlier tests may have raised it further).
    const y = 4 * 64 * 128 * 4;
    assert.ok(after.peakBytesInUse >= before.bytesInUse + y, `peak ${after.peakBytesInUse} bytes`);
    assert.ok(after.peakBytesInUse >= after.bytesInUse);
    for (const t of [x, weight, bias]) t.dispose();
  });

  test(`${device}: memory statistics track allocations, and emptyCache returns the cached bytes`, async () => {
    const baseline = memoryStats(device);
    const t = Tensor.zeros([1000, 1000], { device });
    await t.toArray(); // memory is taken when the fill runs
    const held = memoryStats(device);
    assert.ok(held.bytesInUse - baseline.bytesInUse >= 4e6, 'a live tensor counts as in use');
    t.dispose();
    const released = memoryStats(device);
    assert.ok(released.bytesInUse <= baseline.bytesInUse, 'a disposed tensor is back in the arena');
    assert.ok(released.bytesCached - baseline.bytesCached >= 4e6, 'and cached there');
    const again = Tensor.zeros([1000, 1000], { device });
    await again.toArray();
    assert.is(memoryStats(device).systemAllocations, released.systemAllocations, 'the same size reuses the cached block');
    again.dispose();
    emptyCache(device);
    const emptied = memoryStats(device);
    assert.is(emptied.bytesCached, 0, 'emptyCache returns every cached block');
    assert.ok(emptied.bytesInUse <= baseline.bytesInUse);
  });
}

test.run();
