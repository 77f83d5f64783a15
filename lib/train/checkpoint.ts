/**
 * Training checkpoints: one safetensors file with the trainable tensors (`param.<name>`), the
 * optimizer's state tensors (`optim.<key>`) and, in its metadata, the JSON of everything else
 * (optimizer scalars, schedule position, epoch/step, RNG seed, best metric, history). Written
 * through writeSafetensors (temporary file + rename), so a kill at any moment leaves either the
 * previous checkpoint or the new one, never a torn file.
 */
import { existsSync } from 'node:fs';
import { SamCobotError } from '../errors.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import type { Sam } from '../nn/sam.js';
import type { Tensor } from '../tensor.js';

export interface CheckpointState {
  format: 'sam-cobot-train';
  version: 1;
  epoch: number;
  /** Optimizer steps taken so far. */
  step: number;
  /** Index within the epoch's batch order of the next batch to run. */
  batchInEpoch: number;
  seed: number;
  bestMetric: number | null;
  history: unknown[];
  optimizer: unknown;
  options: unknown;
}

export async function saveCheckpoint(path: string, sam: Sam, optimizerTensors: Map<string, Tensor>, state: CheckpointState): Promise<void> {
  const tensors = new Map<string, Tensor>();
  for (const [name, p] of sam.namedParameters()) if (p.requiresGrad) tensors.set(`param.${name}`, p.value);
  for (const [key, t] of optimizerTensors) tensors.set(`optim.${key}`, t);
  await writeSafetensors(path, tensors, { format: 'sam-cobot-train', state: JSON.stringify(state) });
}

/** Restores the trainable tensors into `sam`; returns the optimizer tensors and the state. */
export async function loadCheckpoint(path: string, sam: Sam): Promise<{ state: CheckpointState; optimizerTensors: Map<string, Tensor> }> {
  if (!existsSync(path)) throw new SamCobotError('ERR_FILE', `Expected a training checkpoint at ${path} but received nothing (no such file)`);
  const device = sam.imageEncoder.posEmbed.value.device;
  const { tensors, metadata } = await readSafetensors(path, { device });
  if (metadata.format !== 'sam-cobot-train' || !metadata.state)
    throw new SamCobotError('ERR_FILE', `Expected a sam-cobot training checkpoint for ${path} but received a safetensors file without its metadata`);
  const state = JSON.parse(metadata.state) as CheckpointState;
  const params = sam.parameterMap({ buffers: false });
  const optimizerTensors = new Map<string, Tensor>();
  for (const [key, t] of tensors) {
    if (key.startsWith('param.')) {
      const p = params.get(key.slice(6));
      if (!p) throw new SamCobotError('ERR_FILE', `Expected parameters of this model in ${path} but received ${key.slice(6)}`);
      p.value = t;
    } else if (key.startsWith('optim.')) {
      optimizerTensors.set(key.slice(6), t);
    } else {
      t.dispose();
    }
  }
  return { state, optimizerTensors };
}
