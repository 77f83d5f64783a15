/** Accumulates gradient contributions, consuming each one (a branch's gradient is owned once). */
import { add } from '../ops/elementwise.js';
import type { Tensor } from '../tensor.js';

export class GradSum {
  private total: Tensor | null = null;

  /** Adds `t` and takes ownership of it. */
  add(t: Tensor | null | undefined): this {
    if (!t) return this;
    if (!this.total) {
      this.total = t;
    } else {
      const s = add(this.total, t);
      this.total.dispose();
      t.dispose();
      this.total = s;
    }
    return this;
  }

  /** The sum (ownership passes to the caller); throws when nothing was added. */
  take(): Tensor {
    const t = this.total;
    if (!t) throw new Error('GradSum.take() on an empty sum');
    this.total = null;
    return t;
  }

  /** The current sum without taking it (stays owned here). */
  peek(): Tensor {
    if (!this.total) throw new Error('GradSum.peek() on an empty sum');
    return this.total;
  }

  takeOrNull(): Tensor | null {
    const t = this.total;
    this.total = null;
    return t;
  }
}
