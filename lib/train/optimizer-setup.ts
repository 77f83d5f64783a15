/**
 * The trainer's optimizer: two parameter groups as the official medical recipe (cobot-method.md §6:
 * COBOT's `FacT` tensors — C, P, projection heads — at their own, larger learning rate; everything
 * else trainable at the base rate), Adam/AdamW/SGD, a warm-up + cosine/step/constant schedule and
 * optional clipping by global norm, with one state object for checkpoints.
 */
import { SamCobotError } from '../errors.js';
import type { Sam } from '../nn/sam.js';
import type { Parameter } from '../nn/parameter.js';
import { Adam, AdamW } from '../optim/adam.js';
import { clipGradNorm } from '../optim/clip.js';
import type { Optimizer, OptimizerStateDict } from '../optim/optimizer.js';
import { constant, cosine, linearWarmup, product, step as stepDecay, type Schedule } from '../optim/schedules.js';
import { SGD } from '../optim/sgd.js';
import type { Tensor } from '../tensor.js';

export interface OptimizerSpec {
  type: 'adam' | 'adamw' | 'sgd';
  lr: number;
  /** Learning rate of the COBOT group (C, P, heads); default 100 × lr (the official medical ratio). */
  cobotLr: number | null;
  weightDecay: number;
  /** SGD momentum. */
  momentum: number;
  schedule: 'constant' | 'cosine' | 'step';
  warmupSteps: number;
  /** Cosine floor as a fraction of the base lr. */
  minLrFactor: number;
  /** Step schedule: multiply by gamma every `stepEvery` steps. */
  stepEvery: number;
  gamma: number;
}

export const DEFAULT_OPTIMIZER: OptimizerSpec = {
  type: 'adam',
  lr: 1e-4,
  cobotLr: null,
  weightDecay: 0,
  momentum: 0.9,
  schedule: 'cosine',
  warmupSteps: 0,
  minLrFactor: 0,
  stepEvery: 1000,
  gamma: 0.1,
};

export interface TrainOptimizer {
  readonly optimizer: Optimizer;
  /** Clips (when maxNorm is set), steps, advances the schedule; returns the base group's lr used. */
  step(maxNorm: number | null, stepIndex: number): number;
  saveState(): { tensors: Map<string, Tensor>; state: unknown };
  loadState(tensors: Map<string, Tensor>, state: unknown): void;
}

const isCobot = (p: Parameter) => /\.FacT_/.test(p.name);

export function createOptimizer(sam: Sam, partial: Partial<OptimizerSpec>, totalSteps: number): TrainOptimizer {
  const spec: OptimizerSpec = { ...DEFAULT_OPTIMIZER, ...partial };
  const trainable = sam.parameters().filter((p) => p.requiresGrad);
  const cobot = trainable.filter(isCobot);
  const rest = trainable.filter((p) => !isCobot(p));
  const groups = [
    { params: rest, lr: spec.lr, weightDecay: spec.weightDecay, name: 'main' },
    ...(cobot.length ? [{ params: cobot, lr: spec.cobotLr ?? spec.lr * 100, weightDecay: spec.weightDecay, name: 'cobot' }] : []),
  ].filter((g) => g.params.length);
  let optimizer: Optimizer;
  if (spec.type === 'adam') optimizer = new Adam(groups, { lr: spec.lr });
  else if (spec.type === 'adamw') optimizer = new AdamW(groups, { lr: spec.lr });
  else if (spec.type === 'sgd') optimizer = new SGD(groups, { lr: spec.lr, momentum: spec.momentum });
  else throw new SamCobotError('ERR_ARGUMENT', `Expected 'adam', 'adamw' or 'sgd' for optimizer.type but received ${JSON.stringify(spec.type)}`);
  const decay: Schedule =
    spec.schedule === 'cosine' ? cosine(Math.max(1, totalSteps - spec.warmupSteps), spec.minLrFactor) : spec.schedule === 'step' ? stepDecay(spec.stepEvery, spec.gamma) : constant();
  const baseLrs = optimizer.paramGroups.map((g) => g.lr);
  // The lr of step k: warm-up ramp times the decay of the steps after the warm-up.
  const schedule: Schedule = spec.warmupSteps > 0 ? product(linearWarmup(spec.warmupSteps), (k) => decay(Math.max(0, k - spec.warmupSteps))) : decay;
  const applyLr = (k: number) => optimizer.paramGroups.forEach((g, i) => (g.lr = baseLrs[i]! * schedule(k)));
  return {
    optimizer,
    step(maxNorm, stepIndex) {
      applyLr(stepIndex);
      const lr = optimizer.paramGroups[0]!.lr;
      if (maxNorm) {
        const { norm, scale } = clipGradNorm(trainable, maxNorm);
        optimizer.step({ gradScale: scale });
        norm.dispose();
        scale.dispose();
      } else {
        optimizer.step();
      }
      return lr;
    },
    saveState() {
      const dict = optimizer.stateDict();
      return { tensors: new Map(Object.entries(dict.tensors)), state: dict.values };
    },
    loadState(tensors, state) {
      optimizer.loadStateDict({ tensors: Object.fromEntries(tensors), values: state as OptimizerStateDict['values'] });
    },
  };
}
