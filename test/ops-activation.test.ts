/**
 * The activation family: exact-erf GELU, ReLU and the sin|cos Fourier features, each forward
 * against a plain-JS float64 reference (GELU also against known values), backward by finite
 * differences, in f32 against f64, on CUDA when a GPU answers; and bad arguments. GELU in f32 also
 * runs a dense sweep of [-16, 16] and the values at ±inf, NaN and huge |x| against the float64
 * reference with a tight tolerance, on every SIMD level of the CPU kernels (test/helpers/gelu-sweep.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SamCobotError, Tensor } from '../lib/index.js';
import * as ops from '../lib/ops/index.js';
import { assertClose, checkOp, throwsCode } from './helpers/check-op.js';
import { geluSweep, geluSweepChild, normalCdf } from './helpers/gelu-sweep.js';

const geluRef = (x: number): number => x * normalCdf(x);

test('gelu matches known values of the exact erf form (not the tanh approximation)', async () => {
  // x·Φ(x) from tables of the normal CDF: Φ(1) = 0.8413447460685429, Φ(-1) = 0.15865525393145707, Φ(3) = 0.9986501019683699.
  const x = Tensor.fromArray([1, -1, 3, 0], [4], { dtype: 'f64' });
  const y = ops.gelu(x);
  assertClose(await y.toArray(), [0.8413447460685429, -0.15865525393145707, 3 * 0.9986501019683699, 0], { tol: 1e-15, name: 'gelu' });
  x.dispose();
  y.dispose();
});

const unary = [
  { name: 'gelu', shape: [5, 37], scale: 2, fn: ops.gelu, grad: ops.geluBackward, ref: geluRef, fromOutput: false },
  { name: 'relu', shape: [3, 4, 29], scale: 1, fn: ops.relu, grad: ops.reluBackward, ref: (x: number) => Math.max(x, 0), fromOutput: true },
];

for (const u of unary) {
  test(`${u.name} (${u.shape})`, () =>
    checkOp({
      name: u.name,
      inputs: [{ shape: u.shape, scale: u.scale }],
      forward: ([x]) => u.fn(x!),
      reference: ([x]) => x!.map(u.ref),
      // ReLU's backward reads the forward output, GELU's the input.
      backward: ([x], [y], [dy]) => [u.grad(dy!, u.fromOutput ? y! : x!)],
    }));
}

test('gelu and its gradient match float64 over a dense sweep of [-16, 16] (f32 to 5e-7, f64 to 1e-12) and at ±inf, NaN, huge |x|', async () => {
  const failures = await geluSweep();
  assert.equal(failures, [], failures.join('\n'));
});

// The SIMD level is fixed when the addon loads: the lower ones run in child processes.
for (const level of ['portable', 'avx2']) {
  test(`the gelu sweep also holds on the ${level} kernels`, async () => {
    const { reason, failures } = await geluSweepChild({ SAM_COBOT_CPU: level });
    const kernel = /GEMM kernel (\S+)/.exec(reason)?.[1] ?? '';
    const allowed = level === 'portable' ? ['portable'] : ['avx2+fma', 'portable'];
    assert.ok(allowed.includes(kernel), `expected one of ${allowed.join(', ')} but the child used "${kernel}" (${reason})`);
    assert.equal(failures, [], failures.join('\n'));
  });
}

test('relu keeps NaN and zeroes the gradient where y <= 0', async () => {
  const x = Tensor.fromArray([-2, 0, 3, NaN], [4], { dtype: 'f64' });
  const y = ops.relu(x);
  const dx = ops.reluBackward(Tensor.fromArray([1, 2, 3, 4], [4], { dtype: 'f64' }), y);
  const values = Array.from(await y.toArray());
  assert.equal(values.slice(0, 3), [0, 0, 3]);
  assert.ok(Number.isNaN(values[3]));
  assert.equal(Array.from(await dx.toArray()), [0, 0, 3, 0]);
});

/** [sin x | cos x] per row of x (R, F). */
function sinCosRef(x: Float64Array, F: number): Float64Array {
  const rows = x.length / F;
  const y = new Float64Array(2 * x.length);
  for (let r = 0; r < rows; ++r)
    for (let f = 0; f < F; ++f) {
      y[r * 2 * F + f] = Math.sin(x[r * F + f]!);
      y[r * 2 * F + F + f] = Math.cos(x[r * F + f]!);
    }
  return y;
}

for (const shape of [[3, 5, 7], [1, 128], [6, 1]]) {
  test(`sin_cos (${shape})`, () =>
    checkOp({
      name: `sin_cos (${shape})`,
      inputs: [{ shape, scale: 3 }],
      forward: ([x]) => ops.sinCos(x!),
      reference: ([x]) => sinCosRef(x!, shape.at(-1)!),
      backward: ([x], _outputs, [dy]) => [ops.sinCosBackward(dy!, x!)],
    }));
}


test('bad arguments throw at the call with the op, the argument and what was expected', () => {
  const x = Tensor.zeros([2, 3]);
  throwsCode(() => ops.gelu(Tensor.zeros([2], { dtype: 'i32' })), 'ERR_DTYPE', /gelu: Expected a floating-point dtype for x but received i32/);
  throwsCode(() => ops.geluBackward(Tensor.zeros([3, 2]), x), 'ERR_SHAPE', /gelu_backward: Expected shape \[2,3\] for dy but received \[3,2\]/);
  throwsCode(() => ops.reluBackward(Tensor.zeros([2, 3], { dtype: 'f64' }), x), 'ERR_DTYPE', /relu_backward: Expected dtype f32 for dy/);
  throwsCode(() => ops.sinCos(Tensor.fromArray([1], [])), 'ERR_SHAPE', /sin_cos: Expected a tensor of rank 1 or more for x/);
  throwsCode(() => ops.sinCosBackward(x, x), 'ERR_SHAPE', /sin_cos_backward: Expected shape \[2,6\] for dy but received \[2,3\]/);
});

test.run();
