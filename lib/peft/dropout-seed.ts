/** Sets the dropout seed of every AdaptFormer adapter, so each training step draws reproducible masks. */
import type { Sam } from '../nn/sam.js';
import { AdaptFormerAdapter } from './adaptformer.js';

export function setDropoutSeed(sam: Sam, seed: number): void {
  sam.imageEncoder.blocks.forEach((block, i) => {
    if (block.mlp instanceof AdaptFormerAdapter) block.mlp.reseed(seed * 31 + i);
  });
}
