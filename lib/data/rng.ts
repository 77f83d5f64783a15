/**
 * The one source of randomness for data loading: xoshiro128** (Blackman and Vigna), 32-bit
 * operations only, seeded through splitmix32. Its whole state is four 32-bit words, so a trainer can
 * save it with `state()` and resume the exact same stream with `setState()`.
 *
 * `fork(label)` derives an independent generator from the current state and a label without
 * advancing the parent: `epochRng.fork(index)` gives each sample its own stream, so a sample's
 * augmentation and prompts do not depend on the order in which a prefetch queue happens to load it.
 */
import { SamCobotError, describe } from '../errors.js';

/** The four 32-bit words of a {@link SeededRng} (not all zero). */
export type RngState = [number, number, number, number];

const TWO_POW_32 = 4294967296;

/** splitmix32: spreads a 32-bit counter into well-mixed words (for seeding only). */
function splitmix32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  };
}

/** A 32-bit hash of a string or number label (FNV-1a over UTF-16 code units, then mixed). */
function hashLabel(label: string | number): number {
  const text = typeof label === 'number' ? `#${label}` : label;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return splitmix32(h)();
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** xoshiro128** with a saveable state; see the file comment. */
export class SeededRng {
  private s: Uint32Array = new Uint32Array(4);

  /** `seed`: a non-negative integer below 2^53, or a string. */
  constructor(seed: number | string) {
    let lo: number;
    let hi: number;
    if (typeof seed === 'string') {
      lo = hashLabel(seed);
      hi = hashLabel(`${seed}\u0000`);
    } else if (Number.isSafeInteger(seed) && seed >= 0) {
      lo = seed >>> 0;
      hi = Math.floor(seed / TWO_POW_32);
    } else {
      throw new SamCobotError('ERR_ARGUMENT', `Expected a non-negative safe integer or a string for seed but received ${describe(seed)}`);
    }
    this.seedFrom(lo, hi);
  }

  private seedFrom(lo: number, hi: number): void {
    const mix = splitmix32(lo ^ Math.imul(hi, 0x85ebca6b));
    for (let i = 0; i < 4; i++) this.s[i] = mix();
    if (this.s.every((w) => w === 0)) this.s[0] = 1;
  }

  /** The next uniform 32-bit unsigned integer. */
  next(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2] ^= s[0]!;
    s[3] ^= s[1]!;
    s[1] ^= s[2]!;
    s[0] ^= s[3]!;
    s[2] ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** A uniform float in [lo, hi) with 53 random bits (default [0, 1)). */
  uniform(lo = 0, hi = 1): number {
    const u = ((this.next() >>> 5) * 67108864 + (this.next() >>> 6)) / 9007199254740992;
    return lo + (hi - lo) * u;
  }

  /** A uniform integer in [lo, hi], both ends included, without modulo bias. */
  int(lo: number, hi: number): number {
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || hi < lo || hi - lo >= TWO_POW_32)
      throw new SamCobotError('ERR_ARGUMENT', `Expected integers lo <= hi with hi - lo < 2^32 for int(lo, hi) but received ${lo}, ${hi}`);
    const range = hi - lo + 1;
    const limit = TWO_POW_32 - (TWO_POW_32 % range);
    for (;;) {
      const r = this.next();
      if (r < limit) return lo + (r % range);
    }
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return p > 0 && this.uniform() < p;
  }

  /** A normal sample (Box-Muller; one draw of two uniforms per call, no cached spare in the state). */
  normal(mean = 0, std = 1): number {
    const u1 = 1 - this.uniform();
    const u2 = this.uniform();
    return mean + std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Shuffles in place (Fisher-Yates) and returns the same array. */
  shuffle<T extends { length: number; [index: number]: unknown }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /** An independent generator for `label`, derived from the current state; this one is not advanced. */
  fork(label: string | number): SeededRng {
    const child = Object.create(SeededRng.prototype) as SeededRng;
    child.s = new Uint32Array(4);
    const h = hashLabel(label);
    const mix = splitmix32(h ^ this.s[0]! ^ rotl(this.s[1]!, 8) ^ rotl(this.s[2]!, 16) ^ rotl(this.s[3]!, 24));
    for (let i = 0; i < 4; i++) child.s[i] = (mix() ^ Math.imul(this.s[i]!, 0x9e3779b1) ^ h) >>> 0;
    if (child.s.every((w) => w === 0)) child.s[0] = 1;
    return child;
  }

  /** A copy of the four state words, JSON-friendly. */
  state(): RngState {
    return [this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!];
  }

  /** Restores a state from {@link state}: the stream continues exactly where it was saved. */
  setState(state: readonly number[]): void {
    if (!Array.isArray(state) || state.length !== 4 || state.some((w) => !Number.isInteger(w) || w < 0 || w >= TWO_POW_32) || state.every((w) => w === 0))
      throw new SamCobotError('ERR_ARGUMENT', `Expected four 32-bit unsigned integers, not all zero, for rng state but received ${describe(state)}`);
    this.s.set(state);
  }
}
