/**
 * The dense GELU sweep of test/ops-activation.test.ts. Every 2039th float32 bit pattern in
 * [−16, 16] (about a million values: every binade, subnormals included) goes through ops.gelu and
 * ops.geluBackward in f32 and f64 on the CPU, against a float64 JS reference of Φ and φ:
 *   gelu:  |y − x Φ(x)| ≤ tol · |x Φ(x)| + 1e-30
 *   gelu': |dx − dy (Φ(x) + x φ(x))| ≤ tol · |dy| (|Φ(x)| + |x φ(x)|) + 1e-30
 * with tol = 5e-7 in f32 (4 to 8 ulp; the kernels are within 0.6 ulp) and 1e-12 in f64 (library
 * erfc). The derivative's error is measured against the size of its two terms, not of their sum:
 * gelu' has a zero at x ≈ −0.7518, where no f32 evaluation has a small relative error (an input
 * off by half an ulp already moves the result by more than itself). Below x ≈ −14.4 gelu underflows
 * f32, which the 1e-30 floor admits. Then ±inf, NaN and huge |x| must give what the exact formula
 * gives in IEEE arithmetic.
 *
 * Run directly (`node gelu-sweep.js`), it prints one JSON line {reason, failures} for the SIMD level
 * that SAM_COBOT_CPU selects: the level is fixed when the addon loads, so the test runs each level in
 * a child process.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { backends } from '../../lib/device.js';
import { gelu, geluBackward } from '../../lib/ops/activation.js';
import { Tensor } from '../../lib/tensor.js';
import { assertClose } from './check-op.js';

/**
 * Φ(x) = ½ erfc(−x / √2) in float64, within 3e-15 relative everywhere (checked against mpmath):
 * erf's series of positive terms below z = |x| / √2 = 1 (the 1 − erf there loses at most a factor
 * 6), Laplace's continued fraction for erfc, 200 terms deep, above.
 */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const gauss = Math.exp((-x * x) / 2); // e^(−z²); x² is exact for a float32 x
  let upper: number; // Φ(−|x|)
  if (z < 1) {
    let term = z;
    let sum = z;
    for (let n = 1; term > 1e-17 * sum; ++n) {
      term *= (2 * z * z) / (2 * n + 1);
      sum += term;
    }
    upper = 0.5 - (gauss * sum) / Math.sqrt(Math.PI);
  } else {
    let fraction = z;
    for (let k = 200; k >= 1; --k) fraction = z + k / 2 / fraction;
    upper = gauss / (2 * Math.sqrt(Math.PI) * fraction);
  }
  return x < 0 ? upper : 1 - upper;
}

/** φ(x) = e^(−x²/2) / √(2π). */
export const normalPdf = (x: number): number => Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);

/** Every 2039th float32 bit pattern from 0 to 16, then their negatives. */
function sweepInputs(): Float32Array {
  const top = new Uint32Array(new Float32Array([16]).buffer)[0]!;
  const count = Math.floor(top / 2039) + 1;
  const bits = new Uint32Array(2 * count);
  for (let i = 0; i < count; ++i) {
    bits[i] = i * 2039;
    bits[count + i] = (i * 2039) | 0x80000000;
  }
  return new Float32Array(bits.buffer);
}

// x, and what the exact formula gives in IEEE arithmetic: gelu(−inf) = −inf · 0 and
// gelu'(±inf) = Φ ± inf · 0 are NaN; past |x| ≈ 38 φ(x) is 0 in either precision.
const specials: Array<{ x: number; y: number; dydx: number }> = [
  { x: Infinity, y: Infinity, dydx: NaN },
  { x: -Infinity, y: NaN, dydx: NaN },
  { x: NaN, y: NaN, dydx: NaN },
  { x: 1e30, y: Math.fround(1e30), dydx: 1 },
  { x: -1e30, y: 0, dydx: 0 },
  { x: -3e38, y: 0, dydx: 0 },
  { x: 40, y: 40, dydx: 1 },
  { x: -40, y: 0, dydx: 0 },
];

const grads = [1, -0.75, 3];

async function run(dtype: 'f32' | 'f64', xs: Float32Array, dy: Float64Array): Promise<[Float64Array, Float64Array]> {
  const x = Tensor.fromArray(dtype === 'f32' ? xs : Float64Array.from(xs), [xs.length], { dtype });
  const g = Tensor.fromArray(dtype === 'f32' ? Float32Array.from(dy) : dy, [xs.length], { dtype });
  const y = gelu(x);
  const dx = geluBackward(g, x);
  const out: [Float64Array, Float64Array] = [Float64Array.from(await y.toArray()), Float64Array.from(await dx.toArray())];
  for (const t of [x, g, y, dx]) t.dispose();
  return out;
}

/** Runs the sweep and the special values in f32 and f64; returns the failure messages. */
export async function geluSweep(): Promise<string[]> {
  const xs = sweepInputs();
  const n = xs.length;
  const dy = Float64Array.from({ length: n }, (_, i) => grads[i % grads.length]!);
  const y = new Float64Array(n);
  const dydx = new Float64Array(n);
  const yScale = new Float64Array(n);
  const dydxScale = new Float64Array(n);
  for (let i = 0; i < n; ++i) {
    const x = xs[i]!;
    const cdf = normalCdf(x);
    const xpdf = x * normalPdf(x);
    y[i] = x * cdf;
    dydx[i] = dy[i]! * (cdf + xpdf);
    yScale[i] = Math.abs(y[i]!);
    dydxScale[i] = Math.abs(dy[i]!) * (Math.abs(cdf) + Math.abs(xpdf));
  }
  const failures: string[] = [];
  const collect = (check: () => void): void => {
    try {
      check();
    } catch (error) {
      failures.push(error instanceof Error ? error.message : String(error));
    }
  };
  for (const [dtype, tol] of [['f32', 5e-7], ['f64', 1e-12]] as const) {
    const [yOut, dxOut] = await run(dtype, xs, dy);
    const floor = (scale: Float64Array): Float64Array => scale.map((s) => tol * s + 1e-30);
    collect(() => assertClose(yOut, y, { tol: 0, absFloor: floor(yScale), name: `${dtype} gelu over [-16, 16] (to ${tol} relative)` }));
    collect(() => assertClose(dxOut, dydx, { tol: 0, absFloor: floor(dydxScale), name: `${dtype} gelu_backward over [-16, 16] (to ${tol} of its terms)` }));

    const special = Float32Array.from(specials, (s) => s.x);
    const [ySpecial, dxSpecial] = await run(dtype, special, new Float64Array(specials.length).fill(1));
    collect(() => assertClose(ySpecial, specials.map((s) => s.y), { tol: 0, name: `${dtype} gelu at ±inf, NaN and large |x| (${specials.map((s) => s.x)})` }));
    collect(() => assertClose(dxSpecial, specials.map((s) => s.dydx), { tol: 0, name: `${dtype} gelu_backward at ±inf, NaN and large |x|` }));
  }
  return failures;
}

/** Runs this file in a child process with `env` added; resolves with the child's JSON line. */
export function geluSweepChild(env: Record<string, string | undefined>): Promise<{ reason: string; failures: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`child exited with ${code}: ${stderr || stdout}`));
      else resolve(JSON.parse(line) as { reason: string; failures: string[] });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify({ reason: backends().cpu.reason, failures: await geluSweep() }));
}
