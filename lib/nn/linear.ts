/** y = x Wᵀ + b over the last axis, W stored (out, in) as in PyTorch. */
import { gemm, gemmAccumulate } from '../ops/gemm.js';
import { sum } from '../ops/elementwise.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';
import type { Parameter } from './parameter.js';
import { dispose, retain, rows2d } from './retain.js';

export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(path: string, inFeatures: number, outFeatures: number, options: { bias?: boolean } = {}) {
    super(path);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = this.parameter('weight', [outFeatures, inFeatures]);
    this.bias = options.bias === false ? null : this.parameter('bias', [outFeatures]);
  }

  /** x (..., in) -> (..., out). */
  forward(x: Tensor): Tensor {
    const y = gemm(x, this.weight.value, { transB: true, bias: this.bias?.value });
    if (this.training && this.weight.needsGrad) this.save(retain(x));
    else this.save(null);
    this.emit(y);
    return y;
  }

  /** dy (..., out) -> dx (..., in) (null when `needInput` is false); accumulates dW, db. */
  backward(dy: Tensor, needInput = true): Tensor | null {
    const x = this.restore<Tensor | null>();
    if (x && this.weight.needsGrad) {
      const dy2 = rows2d(dy);
      const x2 = rows2d(x);
      gemmAccumulate(this.weight.gradBuffer(), dy2, x2, { transA: true });
      dispose(dy2, x2);
    }
    if (this.bias?.needsGrad) {
      const dy2 = rows2d(dy);
      this.bias.addGrad(sum(dy2, [0]));
      dy2.dispose();
    }
    dispose(x);
    return needInput ? gemm(dy, this.weight.value) : null;
  }
}
