/**
 * The COBOT ops (native/ops/cobot.cc; cobot-method.md §3, §4 and §10.3-10.5), forward and backward,
 * and dropout. Letters: V bottleneck width, T heads (AdaptFormer: one per block; LoRA: two per
 * block, q at t = 2ℓ and v at t = 2ℓ + 1), N token rows.
 *
 * Once per step, {@link cobotPrepare} turns the shared coefficients C and relation P, the local
 * coefficients γ and the projection heads into one scaling vector κ_t and one V×V matrix Q_t per
 * head; every block then runs {@link cobotBottleneck} on its own head t. In the backward, each
 * block's {@link cobotBottleneckBackward} adds into row t of shared dKappa and dQ accumulators, and
 * once all blocks are done {@link cobotPrepareBackward} scatters them back to C, P, γ and the heads.
 */
import type { Tensor } from '../tensor.js';
import { runOp } from './core.js';

export interface CobotPrepareOptions {
  /**
   * Which coefficient sets make up κ_t (default 'dual'): 'dual' κ_t = C̃[:, t] + γ_t, 'local' κ_t = γ_t,
   * 'shared' κ_t = C̃[:, t], where C̃ = C·P (or C itself when `relation` is false).
   */
  coefficients?: 'dual' | 'local' | 'shared';
  /** Mix the shared coefficients across heads through the relation matrix P (default true). */
  relation?: boolean;
  /**
   * The projection head (default 'quaternion'): 'quaternion' Q_t = Σ_c E_c ⊗ W_{t,c} from heads
   * (T, 4, V/4, V/4) holding R, I, J, K in "in × out" layout (§4); 'linear' Q_t = heads[t] from
   * heads (T, V, V); 'none' Q_t = I (heads is any one-element tensor).
   */
  head?: 'quaternion' | 'linear' | 'none';
}

const prepareAttrs = (options: CobotPrepareOptions) => ({
  coefficients: options.coefficients ?? 'dual',
  relation: options.relation ?? true,
  head: options.head ?? 'quaternion',
});

/**
 * The per-step COBOT tensors from the trained parameters: `kappa` (T, V), the coefficient vector
 * κ_t of each head, and `q` (T, V, V), each head's projection matrix (used as y = s·Q_t).
 *
 * @param c - C (V, T), the shared coefficients (column t: the diagonal of Λ_t).
 * @param p - P (T, T), the relation matrix.
 * @param gamma - γ (T, V), the block-local coefficients (for LoRA, row 2ℓ is γ_ℓ[0:4], row 2ℓ+1 is γ_ℓ[4:8]).
 * @param heads - (T, 4, V/4, V/4) for the quaternion head, (T, V, V) for the linear head, any one-element tensor for none.
 */
export function cobotPrepare(c: Tensor, p: Tensor, gamma: Tensor, heads: Tensor, options: CobotPrepareOptions = {}): { kappa: Tensor; q: Tensor } {
  const [kappa, q] = runOp('cobot_prepare', [c, p, gamma, heads], prepareAttrs(options));
  return { kappa: kappa!, q: q! };
}

/**
 * Gradients of {@link cobotPrepare} from the accumulated `dKappa` (T, V) and `dQ` (T, V, V) (§10.3-10.4):
 * `dC` (V, T) = G·Pᵀ and `dP` (T, T) = Cᵀ·G with G = dKappaᵀ (without the relation dC = G and dP = 0),
 * `dGamma` (T, V) = dKappa, and `dHeads` in the shape of heads (dW_c = Σ_{p,q} E_c[p, q] · dQ_{pq}
 * for the quaternion head, dQ for the linear one, a zero of shape (1) for none). A gradient of a set
 * the mode leaves out of κ is zeros. `options` must be the forward's.
 *
 * @param c - C (V, T), as given to the forward.
 * @param p - P (T, T), as given to the forward.
 */
export function cobotPrepareBackward(
  c: Tensor,
  p: Tensor,
  dKappa: Tensor,
  dQ: Tensor,
  options: CobotPrepareOptions = {},
): { dC: Tensor; dP: Tensor; dGamma: Tensor; dHeads: Tensor } {
  const [dC, dP, dGamma, dHeads] = runOp('cobot_prepare_backward', [c, p, dKappa, dQ], prepareAttrs(options));
  return { dC: dC!, dP: dP!, dGamma: dGamma!, dHeads: dHeads! };
}

export interface CobotBottleneckOptions {
  /** The head t whose κ_t and Q_t apply (0 <= t < T). */
  head: number;
  /** Apply a ReLU after the head (AdaptFormer: true; LoRA: false). */
  relu: boolean;
}

/**
 * The fused COBOT bottleneck: out (N, V) = (A ⊙ κ_t)·Q_t, then ReLU when `relu`. One pass over the
 * rows (V at most 64).
 *
 * @param a - A (N, V), the host's down-projection output.
 * @param kappa - κ (T, V) from {@link cobotPrepare}.
 * @param q - Q (T, V, V) from {@link cobotPrepare}.
 */
export const cobotBottleneck = (a: Tensor, kappa: Tensor, q: Tensor, options: CobotBottleneckOptions): Tensor =>
  runOp('cobot_bottleneck', [a, kappa, q], { head: options.head, relu: options.relu })[0]!;

/**
 * Backward of {@link cobotBottleneck}: returns dA (N, V) = (dH·Q_tᵀ) ⊙ κ_t with dH = dOut (masked by
 * out > 0 when `relu`), and adds in place into row t of the accumulators: dKappa[t] += colsum(dS ⊙ A),
 * dQ[t] += Sᵀ·dH, with S = A ⊙ κ_t and dS = dH·Q_tᵀ. The sums over rows are deterministic.
 *
 * @param dOut - (N, V), the gradient of the output.
 * @param a - A (N, V), as given to the forward.
 * @param out - (N, V), the forward's output (its ReLU mask; unused without ReLU, but checked).
 * @param dKappa - (T, V), accumulated into.
 * @param dQ - (T, V, V), accumulated into.
 */
export const cobotBottleneckBackward = (
  dOut: Tensor,
  a: Tensor,
  kappa: Tensor,
  q: Tensor,
  out: Tensor,
  dKappa: Tensor,
  dQ: Tensor,
  options: CobotBottleneckOptions,
): Tensor => runOp('cobot_bottleneck_backward', [dOut, a, kappa, q, out, dKappa, dQ], { head: options.head, relu: options.relu })[0]!;

export interface DropoutOptions {
  /** Probability of dropping an element, 0 <= p < 1 (p = 0 is an exact copy). */
  p: number;
  /** Seed of the counter-based mask: the same seed drops the same elements on every backend. */
  seed: number;
}

/**
 * Inverted dropout: y (x's shape) = x ⊙ mask / (1 − p), where element i is kept when the uniform
 * draw of (seed, i) is at least p.
 */
export const dropout = (x: Tensor, options: DropoutOptions): Tensor => runOp('dropout', [x], { p: options.p, seed: options.seed })[0]!;

/** Backward of {@link dropout} with the same `p` and `seed`: dx (dy's shape) = dy ⊙ mask / (1 − p). */
export const dropoutBackward = (dy: Tensor, options: DropoutOptions): Tensor =>
  runOp('dropout_backward', [dy], { p: options.p, seed: options.seed })[0]!;
