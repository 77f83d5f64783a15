/**
 * Learning-rate schedules: pure functions of the step index k (0 for the first optimizer step)
 * returning a multiplier of each group's base learning rate, composable with {@link sequence} and
 * {@link product}, and {@link LrScheduler}, which writes base · multiplier into an optimizer's groups
 * (PyTorch's LambdaLR: the multiplier of step 0 applies from construction, and `step()` after each
 * optimizer step moves to the next).
 */
import { expected } from '../errors.js';
import type { Optimizer } from './optimizer.js';

/** A multiplier of the base learning rate for step index k = 0, 1, 2, ... */
export type Schedule = (k: number) => number;

function checkSteps(value: number, name: string, least = 1): number {
  if (!Number.isInteger(value) || value < least) throw expected('ERR_ARGUMENT', `an integer >= ${least}`, name, value);
  return value;
}

function checkFactor(value: number, name: string): number {
  if (!(Number.isFinite(value) && value >= 0)) throw expected('ERR_ARGUMENT', 'a finite number >= 0', name, value);
  return value;
}

/** 1 at every step. */
export const constant = (): Schedule => () => 1;

/**
 * Linear warm-up over `warmupSteps`: startFactor + (1 − startFactor) · k / warmupSteps for
 * k < warmupSteps, then 1 (startFactor 0 is Hugging Face's get_linear_schedule_with_warmup).
 */
export function linearWarmup(warmupSteps: number, startFactor = 0): Schedule {
  checkSteps(warmupSteps, 'warmupSteps');
  checkFactor(startFactor, 'startFactor');
  return (k) => (k < warmupSteps ? startFactor + ((1 - startFactor) * k) / warmupSteps : 1);
}

/**
 * Cosine annealing over `totalSteps` (PyTorch's CosineAnnealingLR in closed form):
 * minFactor + (1 − minFactor) · (1 + cos(π · min(k, totalSteps) / totalSteps)) / 2.
 */
export function cosine(totalSteps: number, minFactor = 0): Schedule {
  checkSteps(totalSteps, 'totalSteps');
  checkFactor(minFactor, 'minFactor');
  return (k) => minFactor + ((1 - minFactor) * (1 + Math.cos((Math.PI * Math.min(k, totalSteps)) / totalSteps))) / 2;
}

/** Multiplicative decay by `gamma` every `everySteps` steps: gamma^⌊k / everySteps⌋ (PyTorch's StepLR). */
export function step(everySteps: number, gamma = 0.1): Schedule {
  checkSteps(everySteps, 'everySteps');
  checkFactor(gamma, 'gamma');
  return (k) => gamma ** Math.floor(k / everySteps);
}

/** `first` for the first `firstSteps` steps, then `then` restarted at index 0. */
export function sequence(first: Schedule, firstSteps: number, then: Schedule): Schedule {
  checkSteps(firstSteps, 'firstSteps', 0);
  return (k) => (k < firstSteps ? first(k) : then(k - firstSteps));
}

/** The product of the schedules' multipliers. */
export const product =
  (...schedules: Schedule[]): Schedule =>
  (k) =>
    schedules.reduce((m, s) => m * s(k), 1);

/**
 * Linear warm-up from 0 over `warmupSteps`, then cosine from 1 down to `minFactor` over the remaining
 * `totalSteps − warmupSteps` steps (minFactor is relative: the final lr is minFactor · base lr).
 */
export function warmupCosine(totalSteps: number, warmupSteps: number, minFactor = 0): Schedule {
  checkSteps(totalSteps, 'totalSteps');
  checkSteps(warmupSteps, 'warmupSteps', 0);
  if (warmupSteps >= totalSteps) throw expected('ERR_ARGUMENT', `fewer warm-up steps than the ${totalSteps} in all`, 'warmupSteps', warmupSteps);
  const decay = cosine(totalSteps - warmupSteps, minFactor);
  return warmupSteps === 0 ? decay : sequence(linearWarmup(warmupSteps), warmupSteps, decay);
}

/**
 * Applies schedules to an optimizer's groups: group.lr = base lr · schedule(k), where the base lr
 * is the group's lr when the scheduler is made. One schedule for every group, or one per group
 * (an array in group order, or an object keyed by group name; unnamed groups keep their lr).
 */
export class LrScheduler {
  readonly optimizer: Optimizer;
  readonly baseLrs: number[];
  private readonly schedules: Array<Schedule | null>;
  private k = 0;

  constructor(optimizer: Optimizer, schedule: Schedule | Schedule[] | Record<string, Schedule>) {
    this.optimizer = optimizer;
    const groups = optimizer.paramGroups;
    this.baseLrs = groups.map((g) => g.lr);
    if (typeof schedule === 'function') this.schedules = groups.map(() => schedule);
    else if (Array.isArray(schedule)) {
      if (schedule.length !== groups.length) throw expected('ERR_ARGUMENT', `${groups.length} schedules (one per group)`, 'schedule', `${schedule.length} schedules`);
      this.schedules = [...schedule];
    } else {
      for (const name of Object.keys(schedule))
        if (!groups.some((g) => g.name === name)) throw expected('ERR_ARGUMENT', `a group name (${groups.map((g) => g.name).join(', ')})`, 'schedule key', name);
      this.schedules = groups.map((g) => schedule[g.name] ?? null);
    }
    this.apply();
  }

  /** The index of the step the current learning rates are for. */
  get lastStep(): number {
    return this.k;
  }

  /** Call after each optimizer step: moves every group's lr to the next step's value. */
  step(): void {
    this.k += 1;
    this.apply();
  }

  /** Every group's current learning rate. */
  currentLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  private apply(): void {
    this.optimizer.paramGroups.forEach((g, i) => {
      const schedule = this.schedules[i];
      if (schedule) g.lr = this.baseLrs[i]! * schedule(this.k);
    });
  }

  /** For checkpoints: the step index (the base lrs come from the optimizer's groups at construction). */
  stateDict(): { step: number; baseLrs: number[] } {
    return { step: this.k, baseLrs: [...this.baseLrs] };
  }

  /** Restores {@link stateDict}'s step index and base lrs, and rewrites the groups' lr. */
  loadStateDict(state: { step: number; baseLrs: number[] }): void {
    checkSteps(state.step, 'step', 0);
    if (state.baseLrs.length !== this.baseLrs.length) throw expected('ERR_ARGUMENT', `${this.baseLrs.length} base lrs`, 'baseLrs', state.baseLrs);
    state.baseLrs.forEach((lr, i) => (this.baseLrs[i] = checkFactor(lr, `baseLrs[${i}]`)));
    this.k = state.step;
    this.apply();
  }
}
