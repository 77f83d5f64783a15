/** Conv2d and ConvTranspose2d on NCHW maps, with PyTorch's weight layouts. */
import { conv2d, conv2dBackward, convTranspose2d, convTranspose2dBackward } from '../ops/conv.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';
import type { Parameter } from './parameter.js';
import { dispose, retain } from './retain.js';

export interface ConvOptions {
  stride?: number;
  padding?: number;
  bias?: boolean;
  /** ConvTranspose2d: weight (in, out, kh, kw) instead of (out, in, kh, kw). */
  transposed?: boolean;
}

export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly stride: number;
  readonly padding: number;
  readonly transposed: boolean;

  constructor(path: string, inChannels: number, outChannels: number, kernel: number, options: ConvOptions = {}) {
    super(path);
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    this.transposed = options.transposed ?? false;
    this.weight = this.parameter('weight', this.transposed ? [inChannels, outChannels, kernel, kernel] : [outChannels, inChannels, kernel, kernel]);
    this.bias = options.bias === false ? null : this.parameter('bias', [outChannels]);
  }

  forward(x: Tensor): Tensor {
    const run = this.transposed ? convTranspose2d : conv2d;
    const y = run(x, this.weight.value, this.bias?.value, { stride: this.stride, padding: this.padding });
    this.save(this.training ? retain(x) : null);
    this.emit(y);
    return y;
  }

  backward(dy: Tensor, needInput = true): Tensor | null {
    const x = this.restore<Tensor>();
    // A frozen first layer (the patch embedding) with no input gradient asked: nothing to compute.
    if (!needInput && !this.weight.needsGrad && !this.bias?.needsGrad) {
      dispose(x);
      return null;
    }
    const run = this.transposed ? convTranspose2dBackward : conv2dBackward;
    const g = run(dy, x, this.weight.value, {
      stride: this.stride,
      padding: this.padding,
      needInput,
      needWeight: this.weight.needsGrad,
      needBias: !!this.bias?.needsGrad,
    });
    if (g.dw) this.weight.addGrad(g.dw);
    if (g.db) this.bias!.addGrad(g.db);
    dispose(x);
    return g.dx ?? null;
  }
}
