/**
 * One checker for every op (design section 5, points 2 and 3), in the spirit of ggml's backend test
 * and tinygrad's helper_test_op: describe the op once, and `checkOp` runs it in every precision and
 * on every backend here.
 *
 *  1. CPU f64 forward: the reference; compared to the plain-JS `reference` when one is given.
 *  2. CPU f32 forward against the f64 outputs (`fwdTol`).
 *  3. f64 backward against central finite differences of L = sum_i <out_i, g_i> for random g
 *     (`gradTol`), on every element of small inputs and a seeded subset of larger ones.
 *  4. CPU f32 backward against the f64 backward (`fwdTol`).
 *  5. CUDA f32 forward and backward against CPU f32 (`cudaTol`), when a GPU answers.
 *
 * Tolerances are relative to the largest magnitude of the reference values (per output, or per
 * input gradient). Every tensor the helper or the op's callbacks create is disposed before it returns.
 */
// Imported from the modules themselves, not lib/index.ts, so an op test depends only on what it uses.
import * as assert from 'uvu/assert';
import { backends } from '../../lib/device.js';
import { SamCobotError } from '../../lib/errors.js';
import { Tensor, withScope, type DType, type TypedArray } from '../../lib/tensor.js';

export interface OpCheckInput {
  shape: number[];
  /** Standard deviation of the random values (default 1). */
  scale?: number;
  /** Strictly positive values: |x| * scale + 0.1 (for log, sqrt, division...). */
  positive?: boolean;
  /** Fixed values (row-major) instead of random ones. */
  data?: number[];
}

export interface OpCheck {
  name: string;
  /** Float inputs, seeded random unless `data` is given. */
  inputs: OpCheckInput[];
  /** Runs our op(s) on the given tensors (their dtype and device vary per pass). */
  forward: (inputs: Tensor[]) => Tensor | Tensor[];
  /** Optional plain-JS float64 reference of the outputs. */
  reference?: (inputs: Float64Array[], shapes: number[][]) => Float64Array | Float64Array[];
  /** Gradient with respect to each input (null: not differentiable, or not checked). */
  backward?: (inputs: Tensor[], outputs: Tensor[], gradOutputs: Tensor[]) => Array<Tensor | null>;
  /** Which outputs enter the finite-difference loss (default: all). */
  gradCheckOutputs?: number[];
  /** f32 against f64, forward and backward, and f64 against `reference` (default 1e-5). */
  fwdTol?: number;
  /** Finite differences against the analytic f64 gradient (default 1e-6). */
  gradTol?: number;
  /** CUDA f32 against CPU f32, forward and backward (default 1e-5). */
  cudaTol?: number;
  seed?: number;
}

// ---------------------------------------------------------------------------------------------
// Seeded values

/** A seeded generator of uniform [0, 1) numbers (mulberry32: small, fast, good enough for tests). */
export function makeRng(seed: number): () => number {
  let state = (seed >>> 0) ^ 0x9e3779b9;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` seeded normal values times `scale`; with `positive`, |x| * scale + 0.1. */
export function randomArray(n: number, options: { seed?: number; scale?: number; positive?: boolean } = {}): Float64Array {
  const rng = makeRng(options.seed ?? 0);
  const scale = options.scale ?? 1;
  const out = new Float64Array(n);
  for (let i = 0; i < n; ++i) {
    // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
    const x = Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
    out[i] = options.positive ? Math.abs(x) * scale + 0.1 : x * scale;
  }
  return out;
}

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

// ---------------------------------------------------------------------------------------------
// Reading and comparing values

function bf16ToNumber(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits << 16);
  return view.getFloat32(0);
}

function f16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** The tensor's values as float64 (bf16 and f16 decoded from their bit patterns). */
export async function toF64(tensor: Tensor): Promise<Float64Array> {
  const dtype = tensor.dtype;
  const values: TypedArray = await tensor.toArray();
  if (dtype === 'bf16') return Float64Array.from(values, bf16ToNumber);
  if (dtype === 'f16') return Float64Array.from(values, f16ToNumber);
  return Float64Array.from(values);
}

function indexText(flat: number, shape: readonly number[] | undefined): string {
  if (!shape || shape.length === 0) return `[${flat}]`;
  const coords: number[] = [];
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; --d) {
    coords.unshift(rest % shape[d]!);
    rest = Math.floor(rest / shape[d]!);
  }
  return `[${coords.join(',')}]`;
}

const same = (a: number, b: number): boolean => a === b || (Number.isNaN(a) && Number.isNaN(b));

export interface CloseOptions {
  /** Allowed |actual - expected| relative to max |expected| (absolute when every expected value is 0). */
  tol: number;
  /** Names the comparison in the message. */
  name: string;
  /** Shape for the indices in the message (flat indices otherwise). */
  shape?: readonly number[];
  /** Flat index into `shape` of each compared value, when they are a subset of a tensor. */
  indices?: readonly number[];
  /** The magnitude `tol` is relative to (default: max |expected|). */
  scale?: number;
  /** Added to the allowed error, per element (for rounding noise that does not scale with the values). */
  absFloor?: ArrayLike<number> | number;
}

/**
 * Throws unless `actual` matches `expected` within `tol` relative to the largest expected magnitude.
 * NaN matches NaN and an infinity matches the same infinity; anything else non-finite is a mismatch.
 * The message names the comparison, the tolerance, the first 5 mismatches and the max errors.
 */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, options: CloseOptions): void {
  const { tol, name, shape } = options;
  const at = (i: number): string => indexText(options.indices ? options.indices[i]! : i, shape);
  if (actual.length !== expected.length)
    throw new Error(`${name}: expected ${expected.length} values${shape ? ` (shape [${shape}])` : ''} but received ${actual.length}`);
  let maxRef = 0;
  for (let i = 0; i < expected.length; ++i) if (Number.isFinite(expected[i]!)) maxRef = Math.max(maxRef, Math.abs(expected[i]!));
  const reference = options.scale ?? maxRef;
  const denominator = reference > 0 ? reference : 1;
  const floor = (i: number): number => (options.absFloor === undefined ? 0 : typeof options.absFloor === 'number' ? options.absFloor : options.absFloor[i]!);
  const mismatches: number[] = [];
  let maxAbs = 0;
  let maxAbsAt = -1;
  let maxRel = 0;
  for (let i = 0; i < expected.length; ++i) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (same(a, e)) continue;
    const abs = Math.abs(a - e);
    if (!(abs <= tol * denominator + floor(i))) mismatches.push(i);
    if (!(abs <= maxAbs)) {
      maxAbs = abs;
      maxAbsAt = i;
    }
    if (e !== 0 && !(Math.abs(abs / e) <= maxRel)) maxRel = Math.abs(abs / e);
  }
  if (mismatches.length === 0) return;
  const first = mismatches
    .slice(0, 5)
    .map((i) => `  at ${at(i)}: received ${actual[i]} expected ${expected[i]} (error ${Math.abs(actual[i]! - expected[i]!).toExponential(2)})`);
  throw new Error(
    [
      `${name}: ${mismatches.length} of ${expected.length} values differ by more than ${tol} x ${options.scale === undefined ? 'max |expected|' : 'the scale'} (${reference.toExponential(3)})` +
        (options.absFloor === undefined ? '' : ' + the rounding floor'),
      ...first,
      `  max abs error ${maxAbs.toExponential(3)} at ${at(maxAbsAt)}, max rel error ${maxRel.toExponential(3)}`,
    ].join('\n'),
  );
}

// ---------------------------------------------------------------------------------------------
// The check

interface Pass {
  dtype: DType;
  device: 'cpu' | 'cuda';
}

interface PassResult {
  outputs: Float64Array[];
  shapes: number[][];
  grads?: Array<Float64Array | null>;
}

const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

let cudaSkipNoted = false;

function cudaAvailable(): boolean {
  const { cuda } = backends();
  if (!cuda.available && !cudaSkipNoted) {
    cudaSkipNoted = true;
    console.log(`checkOp: CUDA passes skipped (${cuda.reason})`);
  }
  return cuda.available;
}

/** Disposes every tensor in `list` (nulls and repeats allowed: dispose is idempotent). */
function disposeAll(list: Array<Tensor | null | undefined>): void {
  for (const t of list) t?.dispose();
}

function makeInputs(values: Float64Array[], shapes: number[][], pass: Pass): Tensor[] {
  return values.map((v, i) => Tensor.fromArray(v, shapes[i]!, pass));
}

/** Runs forward on fresh tensors of `values`; returns the outputs' values and shapes. */
async function runForward(check: OpCheck, values: Float64Array[], shapes: number[][], pass: Pass): Promise<{ outputs: Float64Array[]; shapes: number[][] }> {
  const inputs = makeInputs(values, shapes, pass);
  let outputs: Tensor[] = [];
  try {
    outputs = withScope(() => asList(check.forward(inputs)));
    return { outputs: await Promise.all(outputs.map(toF64)), shapes: outputs.map((t) => t.shape) };
  } finally {
    disposeAll([...outputs, ...inputs]);
  }
}

/** Forward then (when the check has one) backward with the given output gradients, in one pass. */
async function runPass(check: OpCheck, values: Float64Array[], shapes: number[][], gradValues: Float64Array[] | undefined, pass: Pass): Promise<PassResult> {
  const inputs = makeInputs(values, shapes, pass);
  const created: Array<Tensor | null> = [...inputs];
  try {
    const outputs = withScope(() => asList(check.forward(inputs)));
    created.push(...outputs);
    const result: PassResult = { outputs: await Promise.all(outputs.map(toF64)), shapes: outputs.map((t) => t.shape) };
    if (check.backward && gradValues) {
      const gradOutputs = gradValues.map((g, i) => Tensor.fromArray(g, result.shapes[i]!, { dtype: outputs[i]!.dtype, device: pass.device }));
      created.push(...gradOutputs);
      const grads = withScope(() => check.backward!(inputs, outputs, gradOutputs));
      created.push(...grads);
      if (grads.length !== inputs.length)
        throw new Error(`checkOp ${check.name}: backward returned ${grads.length} gradients for ${inputs.length} inputs (use null for an input without one)`);
      result.grads = await Promise.all(grads.map((g) => (g ? toF64(g) : null)));
      grads.forEach((g, i) => {
        if (g && g.shape.join() !== shapes[i]!.join())
          throw new Error(`checkOp ${check.name}: the gradient of input ${i} has shape [${g.shape}] but the input has shape [${shapes[i]}]`);
      });
    }
    return result;
  } finally {
    disposeAll(created);
  }
}

/**
 * The central difference (L+ - L-) / 2h of L = sum_i <out_i, g_i>, summed output by output as
 * (out+ - out-) * g so that the outputs the step does not reach cancel exactly, and the rounding
 * noise of the quotient: 8 ulps of sum |out * g| over the outputs it does reach, divided by h.
 */
function centralDifference(plus: Float64Array[], minus: Float64Array[], gradValues: Float64Array[], which: number[], h: number): { value: number; noise: number } {
  let difference = 0;
  let reached = 0;
  for (const i of which) {
    const g = gradValues[i]!;
    plus[i]!.forEach((p, j) => {
      const m = minus[i]![j]!;
      if (p === m) return;
      difference += (p - m) * g[j]!;
      reached += Math.max(Math.abs(p), Math.abs(m)) * Math.abs(g[j]!);
    });
  }
  return { value: difference / (2 * h), noise: (8 * Number.EPSILON * reached) / h };
}

/** Indices of input elements whose gradient is checked: all of a small input, else a seeded subset of 24. */
function probeIndices(count: number, seed: number): number[] {
  if (count <= 64) return Array.from({ length: count }, (_, i) => i);
  const rng = makeRng(seed);
  const chosen = new Set<number>();
  while (chosen.size < 24) chosen.add(Math.floor(rng() * count));
  return [...chosen].sort((a, b) => a - b);
}

/**
 * Central differences of L = sum_i <out_i, g_i> on the probed elements of every differentiable
 * input, compared with the analytic f64 gradient. The step is 1e-6 * max(1, |x|); besides `gradTol`
 * relative to the largest gradient magnitude, each element is allowed the rounding noise of its
 * difference quotient (see centralDifference).
 */
async function checkGradients(check: OpCheck, values: Float64Array[], shapes: number[][], reference: PassResult, gradValues: Float64Array[]): Promise<void> {
  const which = check.gradCheckOutputs ?? reference.outputs.map((_, i) => i);
  const cpu64: Pass = { dtype: 'f64', device: 'cpu' };
  for (let k = 0; k < values.length; ++k) {
    const analytic = reference.grads![k];
    if (!analytic) continue;
    const probes = probeIndices(values[k]!.length, (check.seed ?? 0) * 7919 + k);
    const numeric = new Float64Array(probes.length);
    const picked = Float64Array.from(probes, (j) => analytic[j]!);
    const floors = new Float64Array(probes.length);
    for (let p = 0; p < probes.length; ++p) {
      const j = probes[p]!;
      const x = values[k]![j]!;
      const h = 1e-6 * Math.max(1, Math.abs(x));
      const run = async (sign: number): Promise<Float64Array[]> => {
        const moved = Float64Array.from(values[k]!);
        moved[j] = x + sign * h;
        return (await runForward(check, values.map((v, i) => (i === k ? moved : v)), shapes, cpu64)).outputs;
      };
      const difference = centralDifference(await run(1), await run(-1), gradValues, which, h);
      numeric[p] = difference.value;
      floors[p] = difference.noise;
    }
    let scale = 0;
    analytic.forEach((g) => (scale = Math.max(scale, Math.abs(g))));
    numeric.forEach((g) => (scale = Math.max(scale, Math.abs(g))));
    const where = probes.length <= 8 ? `elements [${probes}]` : `${probes.length} of ${values[k]!.length} elements`;
    assertClose(picked, numeric, {
      tol: check.gradTol ?? 1e-6,
      scale,
      absFloor: floors,
      shape: shapes[k],
      indices: probes,
      name: `checkOp ${check.name}: f64 backward (received) vs finite differences (expected), gradient of input ${k}, ${where}`,
    });
  }
}

function compareAll(actual: Array<Float64Array | null>, expected: Array<Float64Array | null>, shapes: number[][], tol: number, what: string): void {
  expected.forEach((e, i) => {
    const a = actual[i];
    if (!e && !a) return;
    if (!e || !a) throw new Error(`${what} ${i}: one pass returned a value and the other null`);
    assertClose(a, e, { tol, name: `${what} ${i}`, shape: shapes[i] });
  });
}

/** Runs every pass of the check (see the file comment); throws a readable error at the first failure. */
export async function checkOp(check: OpCheck): Promise<void> {
  const seed = check.seed ?? 0;
  const fwdTol = check.fwdTol ?? 1e-5;
  const shapes = check.inputs.map((i) => [...i.shape]);
  const values = check.inputs.map((input, k) => {
    if (!input.data) return randomArray(numel(input.shape), { seed: seed * 1000 + k + 1, scale: input.scale, positive: input.positive });
    if (input.data.length !== numel(input.shape))
      throw new Error(`checkOp ${check.name}: input ${k} has ${input.data.length} values for shape [${input.shape}]`);
    return Float64Array.from(input.data);
  });
  const label = (pass: string): string => `checkOp ${check.name}: ${pass}`;

  // The f64 forward decides the output shapes, and so the shapes of the random output gradients.
  const probe = await runForward(check, values, shapes, { dtype: 'f64', device: 'cpu' });
  const gradValues = check.backward ? probe.outputs.map((o, i) => randomArray(o.length, { seed: seed * 1000 + 500 + i })) : undefined;

  const f64 = await runPass(check, values, shapes, gradValues, { dtype: 'f64', device: 'cpu' });
  if (check.reference) {
    const expected = asList(check.reference(values, shapes));
    if (expected.length !== f64.outputs.length) throw new Error(`${label('reference')}: ${expected.length} outputs for the op's ${f64.outputs.length}`);
    compareAll(f64.outputs, expected, f64.shapes, fwdTol, label('cpu f64 forward vs the float64 reference, output'));
  }
  const f32 = await runPass(check, values, shapes, gradValues, { dtype: 'f32', device: 'cpu' });
  compareAll(f32.outputs, f64.outputs, f64.shapes, fwdTol, label('cpu f32 forward vs cpu f64, output'));
  if (gradValues) {
    await checkGradients(check, values, shapes, f64, gradValues);
    compareAll(f32.grads!, f64.grads!, shapes, fwdTol, label('cpu f32 backward vs cpu f64, gradient of input'));
  }
  if (cudaAvailable()) {
    const cudaTol = check.cudaTol ?? 1e-5;
    const cuda = await runPass(check, values, shapes, gradValues, { dtype: 'f32', device: 'cuda' });
    compareAll(cuda.outputs, f32.outputs, f32.shapes, cudaTol, label('cuda f32 forward vs cpu f32, output'));
    if (gradValues) compareAll(cuda.grads!, f32.grads!, shapes, cudaTol, label('cuda f32 backward vs cpu f32, gradient of input'));
  }
}

/** Asserts that `fn` throws a SamCobotError with `code` and a message matching `message`. */
export function throwsCode(fn: () => unknown, code: string, message: RegExp): void {
  try {
    fn();
  } catch (error) {
    assert.instance(error, SamCobotError);
    assert.is((error as SamCobotError).code, code, (error as Error).message);
    assert.match((error as Error).message, message);
    return;
  }
  assert.unreachable(`expected ${code}`);
}
