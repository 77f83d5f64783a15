/** A small, fast training setup shared by the trainer tests and their child process. */
import { syntheticDataset } from '../../lib/data/synthetic.js';
import { loadSam } from '../../lib/load-sam.js';
import type { Sam } from '../../lib/nn/sam.js';
import { applyPeft } from '../../lib/peft/apply.js';
import { Trainer, type TrainerOptions } from '../../lib/train/trainer.js';
import { goldenPath } from './golden.js';

export async function smallModel(): Promise<Sam> {
  const sam = await loadSam(goldenPath('tiny', 'weights.safetensors'), { device: 'cpu' });
  applyPeft(sam, { host: 'adaptformer', cobot: true, dropout: 0.1, seed: 3 });
  return sam;
}

export function smallTrainer(sam: Sam, extra: Partial<TrainerOptions> = {}): Trainer {
  return new Trainer(sam, {
    train: syntheticDataset({ n: 12, size: 96, seed: 21, domain: 'shapes' }),
    epochs: 2,
    batchSize: 2,
    objectsPerImage: 2,
    seed: 5,
    jitter: { mode: 'shift', max: 20 },
    augment: { hflip: 0.5 },
    optimizer: { lr: 1e-3, cobotLr: 1e-2, schedule: 'cosine', warmupSteps: 2 },
    progress: false,
    ...extra,
  });
}
