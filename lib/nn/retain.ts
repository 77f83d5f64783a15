/** Small tensor-lifetime helpers shared by the modules. */
import type { Tensor } from '../tensor.js';

/**
 * A second handle on the same storage. Modules save retained handles for backward, so the caller
 * may dispose what it passed in or got back without freeing what backward needs.
 */
export function retain(t: Tensor): Tensor {
  return t.reshape(t.shape);
}

/** Disposes every given tensor (skipping null/undefined). */
export function dispose(...tensors: Array<Tensor | null | undefined>): void {
  for (const t of tensors) t?.dispose();
}

/** x viewed as 2-D (rows, last dim). */
export function rows2d(t: Tensor): Tensor {
  const shape = t.shape;
  const last = shape[shape.length - 1]!;
  return t.reshape([shape.reduce((a, b) => a * b, 1) / Math.max(1, last), last]);
}

/** Runs `fn` on a reshaped view of `t` and releases the view's handle afterwards. */
export function withView<T>(t: Tensor, shape: number[], fn: (view: Tensor) => T): T {
  const view = t.reshape(shape);
  try {
    return fn(view);
  } finally {
    view.dispose();
  }
}

/** Reshapes and releases the original handle (for intermediates this code owns). */
export function reshapeOwned(t: Tensor, shape: number[]): Tensor {
  const view = t.reshape(shape);
  t.dispose();
  return view;
}
