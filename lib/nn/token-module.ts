/** A module mapping token features to token features: what PEFT hosts can stand in for (a block's MLP, an attention's qkv). */
import type { Tensor } from '../tensor.js';
import type { Module } from './module.js';

export interface TokenModule extends Module {
  forward(x: Tensor): Tensor;
  backward(dy: Tensor, needInput?: boolean): Tensor | null;
}
