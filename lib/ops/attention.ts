/**
 * Attention (native/ops/attention.cc): softmax(scale · q kᵀ + bias) v, flash-style on both backends
 * (the BH × N × M scores are never held at once), with SAM's decomposed relative-position bias as
 * an option (sam-architecture.md 2.3):
 *
 *     logit[t, u] = scale · q_t·k_u + q_t·relPosH[r_t − r_u + gridH − 1] + q_t·relPosW[c_t − c_u + gridW − 1]
 *
 * with token t at grid row r_t = ⌊t / gridW⌋, column c_t = t mod gridW (the relative terms use the
 * unscaled q). BH is batch · heads flattened; the tables are shared by all of them.
 */
import { expected } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { runOp } from './core.js';

/** The relative-position tables and their grid, given together or not at all. */
export interface RelativePosition {
  /** (2·gridH − 1, D) */
  relPosH?: Tensor;
  /** (2·gridW − 1, D) */
  relPosW?: Tensor;
  /** Token grid rows; with the tables, N = M = gridH · gridW. */
  gridH?: number;
  /** Token grid columns. */
  gridW?: number;
}

export interface AttentionOptions extends RelativePosition {
  /** Multiplies q·k only (default 1/√D). */
  scale?: number;
}

export interface AttentionBackwardOptions extends AttentionOptions {
  /** Compute the table gradients (default true when the tables are given; false for frozen tables). */
  needRelPos?: boolean;
}

function tableInputs(options: RelativePosition): Tensor[] {
  const { relPosH, relPosW, gridH, gridW } = options;
  if (!relPosH && !relPosW) return [];
  if (!relPosH || !relPosW) throw expected('ERR_ARGUMENT', 'both relPosH and relPosW, or neither', 'options', relPosH ? 'only relPosH' : 'only relPosW');
  if (gridH === undefined || gridW === undefined) throw expected('ERR_ARGUMENT', 'gridH and gridW with the tables', 'options', `gridH ${gridH}, gridW ${gridW}`);
  return [relPosH, relPosW];
}

/**
 * Attention of `q` (BH, N, D) over `k` (BH, M, D) and `v` (BH, M, Dv), optionally with the relative
 * position tables. Returns `out` (BH, N, Dv) and `lse` (BH, N), the log-sum-exp of each query's
 * logits, which {@link attentionBackward} needs.
 * @throws SamCobotError (ERR_SHAPE, ERR_DTYPE, ERR_ARGUMENT) at the call for inconsistent shapes,
 * dtypes, tables or grid.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): { out: Tensor; lse: Tensor } {
  const { scale, gridH, gridW } = options;
  const [out, lse] = runOp('attention', [q, k, v, ...tableInputs(options)], { scale, gridH, gridW });
  return { out: out!, lse: lse! };
}

/**
 * Gradients of {@link attention} given `dout` (BH, N, Dv) and the forward's `out` and `lse`:
 * `dq` (BH, N, D, including the terms through the relative bias), `dk` (BH, M, D), `dv` (BH, M, Dv),
 * and, when the tables are given and `needRelPos` is not false, `dRelPosH` (2·gridH − 1, D) and
 * `dRelPosW` (2·gridW − 1, D), summed over BH. Deterministic: the same inputs give the same bits.
 */
export function attentionBackward(
  dout: Tensor,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  out: Tensor,
  lse: Tensor,
  options: AttentionBackwardOptions = {},
): { dq: Tensor; dk: Tensor; dv: Tensor; dRelPosH?: Tensor; dRelPosW?: Tensor } {
  const { scale, gridH, gridW, needRelPos } = options;
  const tables = tableInputs(options);
  const [dq, dk, dv, dRelPosH, dRelPosW] = runOp('attention_backward', [dout, q, k, v, out, lse, ...tables], {
    scale,
    gridH,
    gridW,
    needRelPos: tables.length > 0 ? needRelPos ?? true : undefined,
  });
  return dRelPosH ? { dq: dq!, dk: dk!, dv: dv!, dRelPosH, dRelPosW: dRelPosW! } : { dq: dq!, dk: dk!, dv: dv! };
}
