/**
 * SeededRng: a saved state resumes the exact stream; fork leaves the parent untouched and gives
 * label-specific streams; int covers both ends without bias; uniform and normal have the right
 * moments; bad seeds and states are refused.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SeededRng } from '../lib/data/rng.js';

const take = (rng: SeededRng, n: number): number[] => Array.from({ length: n }, () => rng.next());

test('state() and setState() resume the exact stream', () => {
  const rng = new SeededRng(42);
  take(rng, 17);
  const saved = rng.state();
  const expected = take(rng, 50);
  const resumed = new SeededRng(0);
  resumed.setState(JSON.parse(JSON.stringify(saved)));
  assert.equal(take(resumed, 50), expected);
  assert.equal(take(new SeededRng(42), 10), take(new SeededRng(42), 10));
  assert.not.equal(take(new SeededRng(42), 10), take(new SeededRng(43), 10));
  assert.not.equal(take(new SeededRng(2 ** 40), 10), take(new SeededRng(0), 10));
  assert.equal(take(new SeededRng('run:1'), 5), take(new SeededRng('run:1'), 5));
});

test('fork does not advance the parent and depends on the label and the state', () => {
  const rng = new SeededRng(7);
  const before = rng.state();
  const a = take(rng.fork('augment'), 20);
  assert.equal(rng.state(), before);
  assert.equal(take(rng.fork('augment'), 20), a);
  assert.not.equal(take(rng.fork('jitter'), 20), a);
  assert.not.equal(take(rng.fork(1), 20), take(rng.fork(2), 20));
  rng.next();
  assert.not.equal(take(rng.fork('augment'), 20), a);
});

test('int covers [lo, hi] evenly; uniform and normal have the right moments', () => {
  const rng = new SeededRng(3);
  const counts = new Array(10).fill(0);
  for (let i = 0; i < 50000; i++) counts[rng.int(-3, 6) + 3]++;
  for (const c of counts) assert.ok(Math.abs(c - 5000) < 300, `bucket ${c}`);
  let sum = 0;
  let sq = 0;
  let u = 0;
  for (let i = 0; i < 50000; i++) {
    const v = rng.normal(1, 2);
    sum += v;
    sq += v * v;
    const w = rng.uniform();
    assert.ok(w >= 0 && w < 1);
    u += w;
  }
  assert.ok(Math.abs(sum / 50000 - 1) < 0.05 && Math.abs(sq / 50000 - 1 - 4) < 0.15, `normal ${sum / 50000}, ${sq / 50000}`);
  assert.ok(Math.abs(u / 50000 - 0.5) < 0.01);
  const shuffled = rng.shuffle([0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal([...shuffled].sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
});

test('bad seeds, ranges and states are refused', () => {
  assert.throws(() => new SeededRng(-1), /non-negative safe integer/);
  assert.throws(() => new SeededRng(1.5), /non-negative safe integer/);
  assert.throws(() => new SeededRng(1).int(5, 4), /lo <= hi/);
  assert.throws(() => new SeededRng(1).setState([0, 0, 0, 0]), /not all zero/);
  assert.throws(() => new SeededRng(1).setState([1, 2, 3]), /four 32-bit/);
});

test.run();
