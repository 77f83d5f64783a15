/**
 * Activations (native/ops/activation.cc): exact-erf GELU, ReLU, and the sin|cos Fourier features of
 * SAM's prompt encoder, each with its backward.
 */
import type { Tensor } from '../tensor.js';
import { runOp } from './core.js';

/**
 * GELU(x) = ½ x (1 + erf(x / √2)), the exact form SAM uses (not the tanh approximation). Any shape.
 * CPU f32 results are within 0.6 ulp of the exact value, tails included; ±inf and NaN give what the
 * formula gives in IEEE arithmetic (gelu(−inf) is NaN).
 */
export const gelu = (x: Tensor): Tensor => runOp('gelu', [x])[0]!;

/** The gradient of {@link gelu}: dx = dy · (Φ(x) + x φ(x)); dy and x of one shape. */
export const geluBackward = (dy: Tensor, x: Tensor): Tensor => runOp('gelu_backward', [dy, x])[0]!;

/** max(x, 0) (NaN stays NaN). Any shape. */
export const relu = (x: Tensor): Tensor => runOp('relu', [x])[0]!;

/** The gradient of {@link relu} from its output `y`: dx = dy where y > 0, else 0. */
export const reluBackward = (dy: Tensor, y: Tensor): Tensor => runOp('relu_backward', [dy, y])[0]!;

/** [sin x | cos x] along the last axis: x (..., F) gives (..., 2F) (sam-architecture.md 3.1). */
export const sinCos = (x: Tensor): Tensor => runOp('sin_cos', [x])[0]!;

/** The gradient of {@link sinCos}: dy (..., 2F) and x (..., F) give dx = dy_sin · cos x − dy_cos · sin x. */
export const sinCosBackward = (dy: Tensor, x: Tensor): Tensor => runOp('sin_cos_backward', [dy, x])[0]!;
