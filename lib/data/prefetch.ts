/**
 * A bounded read-ahead queue, so the model does not wait on decoding (sharp runs on libuv's
 * threads) when the disk keeps up: while the consumer works on one item, up to `depth` more are
 * loading or loaded, and never more, which bounds the memory held.
 *
 * The source is an async iterable (items are requested ahead; an async generator still produces
 * them one at a time) or an iterable of loader functions, which lets `depth` loads run at once:
 * `prefetch(order.map((i) => () => dataset.get(i)), 4)`. Items come out in source order. A load
 * that fails rejects the consumer's `next()` at that item, after every earlier item was delivered,
 * and ends the queue. `return()` (also a `break` out of `for await`) stops starting new loads.
 */
import { SamCobotError, describe } from '../errors.js';

export type PrefetchSource<T> = AsyncIterable<T> | Iterable<() => Promise<T>>;

export interface PrefetchIterator<T> extends AsyncIterableIterator<T> {
  /** Items started and not yet handed out (at most `depth`). */
  readonly inFlight: number;
  /** How many times `next()` found its item still loading: the consumer waited on the data. */
  readonly stalls: number;
  return(): Promise<IteratorResult<T>>;
}

interface Pending<T> {
  promise: Promise<IteratorResult<T>>;
  settled: boolean;
}

const DONE: IteratorResult<never> = { done: true, value: undefined };

/** Reads `source` (or the source a factory returns) up to `depth` items ahead of the consumer. */
export function prefetch<T>(source: PrefetchSource<T> | (() => PrefetchSource<T>), depth: number): PrefetchIterator<T> {
  if (!Number.isInteger(depth) || depth < 1) throw new SamCobotError('ERR_ARGUMENT', `Expected a positive integer for depth but received ${describe(depth)}`);
  const resolved = typeof source === 'function' ? source() : source;
  let pull: () => Promise<IteratorResult<T>> | null;
  let close: () => void;
  if (resolved && typeof (resolved as AsyncIterable<T>)[Symbol.asyncIterator] === 'function') {
    const iterator = (resolved as AsyncIterable<T>)[Symbol.asyncIterator]();
    pull = () => iterator.next();
    close = () => void iterator.return?.()?.catch(() => undefined);
  } else if (resolved && typeof (resolved as Iterable<() => Promise<T>>)[Symbol.iterator] === 'function') {
    const iterator = (resolved as Iterable<() => Promise<T>>)[Symbol.iterator]();
    pull = () => {
      const step = iterator.next();
      if (step.done) return null;
      if (typeof step.value !== 'function')
        throw new SamCobotError('ERR_ARGUMENT', `Expected an iterable of loader functions for prefetch source but received an item ${describe(step.value)}`);
      const load = step.value;
      return new Promise<T>((resolve) => resolve(load())).then((value) => ({ done: false, value }));
    };
    close = () => void iterator.return?.();
  } else {
    throw new SamCobotError('ERR_ARGUMENT', `Expected an async iterable or an iterable of loader functions for prefetch source but received ${describe(resolved)}`);
  }

  const queue: Array<Pending<T>> = [];
  let exhausted = false;
  let finished = false;
  let stalls = 0;

  const fill = (): void => {
    while (!exhausted && !finished && queue.length < depth) {
      const promise = pull();
      if (!promise) {
        exhausted = true;
        break;
      }
      const entry: Pending<T> = { promise, settled: false };
      // Marks the promise handled: a failure surfaces when the consumer reaches this item.
      promise.then(
        () => (entry.settled = true),
        () => (entry.settled = true),
      );
      queue.push(entry);
    }
  };

  const stop = (): void => {
    if (finished) return;
    finished = true;
    queue.length = 0;
    close();
  };

  const iterator: PrefetchIterator<T> = {
    get inFlight() {
      return queue.length;
    },
    get stalls() {
      return stalls;
    },
    async next(): Promise<IteratorResult<T>> {
      if (finished) return DONE;
      fill();
      const head = queue.shift();
      if (!head) {
        stop();
        return DONE;
      }
      if (!head.settled) stalls++;
      let result: IteratorResult<T>;
      try {
        result = await head.promise;
      } catch (error) {
        stop();
        throw error;
      }
      if (result.done) {
        stop();
        return DONE;
      }
      fill();
      return result;
    },
    async return(): Promise<IteratorResult<T>> {
      stop();
      return DONE;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
