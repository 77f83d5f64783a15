/**
 * The prefetch queue: items come out in source order whatever order they finish loading in; never
 * more than `depth` items are started ahead of the consumer, and the queue does fill up to depth
 * while the consumer is slow; a failing load rejects at its own item (earlier items delivered, no
 * unhandled rejection) and ends the queue; break/return stops starting loads.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { prefetch } from '../lib/data/prefetch.js';
import { errorOf } from './helpers/file-errors.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Loader functions that record how many were started and resolve after a pseudo-random delay. */
function loaders(count: number, failAt = -1) {
  const state = { started: 0 };
  const list = Array.from({ length: count }, (_, i) => async () => {
    state.started++;
    await sleep(((i * 7) % 5) * 2);
    if (i === failAt) throw new Error(`load ${i} failed`);
    return i;
  });
  return { state, list };
}

test('order is preserved and the read-ahead is bounded by depth', async () => {
  for (const depth of [1, 3, 6]) {
    const { state, list } = loaders(25);
    const queue = prefetch(list, depth);
    const seen: number[] = [];
    let maxAhead = 0;
    for await (const item of queue) {
      seen.push(item);
      assert.ok(queue.inFlight <= depth, `inFlight ${queue.inFlight} > ${depth}`);
      maxAhead = Math.max(maxAhead, state.started - seen.length);
      assert.ok(state.started - seen.length <= depth, `depth ${depth}: ${state.started} started, ${seen.length} received`);
      await sleep(15); // a slow consumer: the queue fills up meanwhile
      assert.ok(state.started - seen.length <= depth);
    }
    assert.equal(seen, Array.from({ length: 25 }, (_, i) => i));
    assert.is(maxAhead, depth, `depth ${depth} was reached`);
    assert.is(state.started, 25);
  }
});

test('a fast consumer waits (stalls) and a slow one does not', async () => {
  const fast = prefetch(loaders(10).list, 2);
  for await (const _ of fast);
  assert.ok(fast.stalls > 0);
  const slow = prefetch(loaders(10).list, 2);
  await slow.next();
  const before = slow.stalls;
  for (;;) {
    await sleep(20);
    if ((await slow.next()).done) break;
  }
  assert.is(slow.stalls, before, 'the data was always ready');
});

test('a failing load rejects at its item, after the earlier ones, and ends the queue', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => void unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    const { state, list } = loaders(20, 4);
    const queue = prefetch(list, 5);
    const seen: number[] = [];
    await sleep(40); // item 4 fails long before the consumer reaches it
    let error: unknown;
    try {
      for await (const item of queue) seen.push(item);
    } catch (e) {
      error = e;
    }
    assert.equal(seen, [0, 1, 2, 3]);
    assert.match(String(error), /load 4 failed/);
    assert.equal(await queue.next(), { done: true, value: undefined });
    const started = state.started;
    await sleep(30);
    assert.is(state.started, started, 'no load started after the failure');
    assert.ok(started <= 4 + 1 + 5);
    await sleep(5);
    assert.equal(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test('async iterable sources: order, errors at their item, and return() closing the source', async () => {
  let closed = false;
  let produced = 0;
  async function* source(failAt: number) {
    try {
      for (let i = 0; i < 30; i++) {
        await sleep(1);
        if (i === failAt) throw new Error(`item ${i} broke`);
        produced++;
        yield i * 10;
      }
    } finally {
      closed = true;
    }
  }
  const seen: number[] = [];
  for await (const v of prefetch(source(-1), 4)) seen.push(v);
  assert.equal(seen, Array.from({ length: 30 }, (_, i) => i * 10));

  const partial: number[] = [];
  const error = await errorOf(async () => {
    for await (const v of prefetch(() => source(7), 3)) partial.push(v);
  });
  assert.match(String(error), /item 7 broke/);
  assert.equal(partial, [0, 10, 20, 30, 40, 50, 60]);

  closed = false;
  produced = 0;
  for await (const v of prefetch(source(-1), 3)) if (v === 20) break;
  await sleep(30);
  assert.ok(closed, 'the generator was closed');
  assert.ok(produced <= 3 + 1 + 3, `${produced} produced`);
});

test('break stops starting loads; bad arguments are refused', async () => {
  const { state, list } = loaders(50);
  for await (const item of prefetch(list, 4)) if (item === 5) break;
  const started = state.started;
  await sleep(30);
  assert.is(state.started, started);
  assert.ok(started <= 6 + 4);
  assert.throws(() => prefetch(list, 0), /positive integer for depth/);
  assert.throws(() => prefetch(42 as unknown as Iterable<() => Promise<number>>, 2), /async iterable or an iterable of loader functions/);
  assert.match(String(await errorOf(() => prefetch([1, 2] as unknown as Iterable<() => Promise<number>>, 2).next())), /loader functions/);
});

test.run();
