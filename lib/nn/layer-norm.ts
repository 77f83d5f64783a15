/** LayerNorm over the last axis (axis -1, NHWC tokens) or over channels of NCHW maps (axis 1: LayerNorm2d). */
import { layerNorm, layerNormBackward } from '../ops/norm.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';
import type { Parameter } from './parameter.js';
import { dispose, retain } from './retain.js';

export class LayerNorm extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  readonly eps: number;
  readonly axis: -1 | 1;

  constructor(path: string, channels: number, eps: number, axis: -1 | 1 = -1) {
    super(path);
    this.eps = eps;
    this.axis = axis;
    this.weight = this.parameter('weight', [channels]);
    this.bias = this.parameter('bias', [channels]);
  }

  forward(x: Tensor): Tensor {
    const { y, mean, rstd } = layerNorm(x, this.weight.value, this.bias.value, { eps: this.eps, axis: this.axis });
    if (this.training) this.save({ x: retain(x), mean, rstd });
    else dispose(mean, rstd);
    this.emit(y);
    return y;
  }

  backward(dy: Tensor): Tensor {
    const { x, mean, rstd } = this.restore<{ x: Tensor; mean: Tensor; rstd: Tensor }>();
    const needWeight = this.weight.needsGrad || this.bias.needsGrad;
    const g = layerNormBackward(dy, x, this.weight.value, mean, rstd, { axis: this.axis, needWeight });
    if (g.dweight) {
      if (this.weight.needsGrad) this.weight.addGrad(g.dweight);
      else g.dweight.dispose();
    }
    if (g.dbias) {
      if (this.bias.needsGrad) this.bias.addGrad(g.dbias);
      else g.dbias.dispose();
    }
    dispose(x, mean, rstd);
    return g.dx;
  }
}
