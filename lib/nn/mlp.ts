/**
 * Multi-layer perceptrons: the encoder's lin1 -> GELU -> lin2 block, the decoder's lin1 -> ReLU ->
 * lin2 block, and the heads' `MLP` (Linear layers with ReLU between, no activation after the last).
 */
import { gelu, geluBackward, relu, reluBackward } from '../ops/activation.js';
import type { Tensor } from '../tensor.js';
import { Linear } from './linear.js';
import { Module } from './module.js';
import { dispose, retain } from './retain.js';

export type Activation = 'gelu' | 'relu';

/** lin1 -> activation -> lin2 (SAM's MLPBlock; `lin1`/`lin2` parameter names). */
export class MlpBlock extends Module {
  readonly lin1: Linear;
  readonly lin2: Linear;
  readonly activation: Activation;

  constructor(path: string, dim: number, hidden: number, activation: Activation) {
    super(path);
    this.activation = activation;
    this.lin1 = this.child(new Linear(`${path}.lin1`, dim, hidden));
    this.lin2 = this.child(new Linear(`${path}.lin2`, hidden, dim));
  }

  forward(x: Tensor): Tensor {
    const h = this.lin1.forward(x);
    const a = this.activation === 'gelu' ? gelu(h) : relu(h);
    // GELU's backward needs its input, ReLU's its output.
    this.save(this.training ? retain(this.activation === 'gelu' ? h : a) : null);
    h.dispose();
    const y = this.lin2.forward(a);
    a.dispose();
    this.emit(y);
    return y;
  }

  backward(dy: Tensor, needInput = true): Tensor | null {
    const saved = this.restore<Tensor>();
    const da = this.lin2.backward(dy)!;
    const dh = this.activation === 'gelu' ? geluBackward(da, saved) : reluBackward(da, saved);
    dispose(da, saved);
    const dx = this.lin1.backward(dh, needInput);
    dh.dispose();
    return dx;
  }
}

/** SAM's `MLP` head: `layers.0..n-1` Linear with ReLU after all but the last. */
export class MlpHead extends Module {
  readonly layers: Linear[];

  constructor(path: string, inDim: number, hidden: number, outDim: number, numLayers: number) {
    super(path);
    this.layers = [];
    for (let i = 0; i < numLayers; i++) {
      const from = i === 0 ? inDim : hidden;
      const to = i === numLayers - 1 ? outDim : hidden;
      this.layers.push(this.child(new Linear(`${path}.layers.${i}`, from, to)));
    }
  }

  forward(x: Tensor): Tensor {
    let h = x;
    const activations: Tensor[] = [];
    this.layers.forEach((layer, i) => {
      const z = layer.forward(h);
      if (h !== x) h.dispose();
      if (i < this.layers.length - 1) {
        h = relu(z);
        z.dispose();
        if (this.training) activations.push(retain(h));
      } else {
        h = z;
      }
    });
    this.save(activations);
    this.emit(h);
    return h;
  }

  backward(dy: Tensor, needInput = true): Tensor | null {
    const activations = this.restore<Tensor[]>();
    let d: Tensor | null = dy;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const dIn: Tensor | null = this.layers[i]!.backward(d!, i > 0 || needInput);
      if (d !== dy) d!.dispose();
      d = dIn;
      if (i > 0) {
        const dz = reluBackward(d!, activations[i - 1]!);
        d!.dispose();
        d = dz;
      }
    }
    dispose(...activations);
    return d;
  }
}
