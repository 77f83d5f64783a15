/**
 * The Trainer: epochs of box-prompted batches, gradient accumulation, validation with the best
 * checkpoint kept, progress on a bar and as events, JSONL logs, an AbortSignal, and exact resume.
 *
 * Determinism: every random choice is drawn from an RNG seeded by (seed, epoch, sample index) or
 * (seed, step): the batch order of an epoch, each sample's augmentation and jitter, the dropout
 * masks. A resumed run therefore needs only the epoch, the position in it, the step count, the
 * trainable tensors and the optimizer state to continue with the same losses as an uninterrupted
 * run; all of those are in the checkpoint.
 */
import { EventEmitter } from 'node:events';
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SamCobotError } from '../errors.js';
import { augment, type AugmentOptions } from '../data/augment.js';
import { toSamBatch, type SamBatch } from '../data/batch.js';
import { prefetch } from '../data/prefetch.js';
import { SeededRng } from '../data/rng.js';
import type { Dataset, Sample } from '../data/sample.js';
import { maskLoss, type MaskLossOptions } from '../losses/mask-loss.js';
import { setDropoutSeed } from '../peft/dropout-seed.js';
import { peftOf } from '../peft/apply.js';
import type { Sam } from '../nn/sam.js';
import type { Parameter } from '../nn/parameter.js';
import { saveAdapter } from '../peft/adapter-io.js';
import { Tensor } from '../tensor.js';
import { createOptimizer, type OptimizerSpec, type TrainOptimizer } from './optimizer-setup.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointState } from './checkpoint.js';
import { evaluate, type EvaluationResult } from './evaluate.js';
import { curvesSvg } from './plots.js';
import { ProgressBar } from './progress.js';

export interface TrainerOptions {
  train: Dataset;
  val?: Dataset;
  epochs: number;
  /** Images per micro-batch. */
  batchSize?: number;
  /** Box prompts per image (objects beyond are dropped, fewer are repeated). */
  objectsPerImage?: number;
  /** Micro-batches per optimizer step. */
  accumulate?: number;
  optimizer?: Partial<OptimizerSpec>;
  clipGradNorm?: number | null;
  loss?: MaskLossOptions;
  augment?: AugmentOptions | null;
  /** Box jitter for training prompts (the method's modes; max in pixels at 1024). */
  jitter?: { mode: 'shift' | 'outward'; max: number } | null;
  /** Validate every epoch (default) or every N steps. */
  validateEvery?: 'epoch' | number;
  /** Where logs, checkpoints and the best adapter go (nothing is written when absent). */
  outDir?: string;
  /** Save a resumable checkpoint every N steps (default: each epoch end). */
  checkpointEvery?: number;
  seed?: number;
  signal?: AbortSignal;
  /** Show the terminal progress bar (default: when stderr is a TTY). */
  progress?: boolean;
  prefetchDepth?: number;
  /**
   * Builds a micro-batch's model inputs from its samples instead of the default (box prompts and
   * low-res targets from the object masks, lib/data/batch.ts): for precomputed prompts and targets.
   */
  makeBatch?: (samples: Sample[], context: { epoch: number; step: number; rng: SeededRng }) => Promise<SamBatch>;
}

export interface StepEvent {
  epoch: number;
  step: number;
  loss: number;
  terms: { bce: number; dice: number; focal: number };
  lr: number;
  itPerSecond: number;
}

export interface TrainResult {
  status: 'completed' | 'aborted';
  steps: number;
  epochs: number;
  best: EvaluationResult | null;
  history: Array<Record<string, unknown>>;
  seconds: number;
}

const DEFAULTS = {
  batchSize: 1,
  objectsPerImage: 4,
  accumulate: 1,
  clipGradNorm: null as number | null,
  validateEvery: 'epoch' as 'epoch' | number,
  seed: 0,
  prefetchDepth: 4,
};

export class Trainer extends EventEmitter {
  readonly sam: Sam;
  readonly options: TrainerOptions & typeof DEFAULTS;
  private optimizer: TrainOptimizer;
  private step = 0;
  private epoch = 0;
  private batchInEpoch = 0;
  private bestMetric: number | null = null;
  private bestResult: EvaluationResult | null = null;
  private history: Array<Record<string, unknown>> = [];

  constructor(sam: Sam, options: TrainerOptions) {
    super();
    this.sam = sam;
    this.options = { ...DEFAULTS, ...options } as TrainerOptions & typeof DEFAULTS;
    if (!(options.epochs > 0)) throw new SamCobotError('ERR_ARGUMENT', `Expected a positive number of epochs for epochs but received ${options.epochs}`);
    if (!options.train || !(options.train.length > 0)) throw new SamCobotError('ERR_ARGUMENT', 'Expected a non-empty training dataset for train but received an empty one');
    const trainable = [...sam.namedParameters()].filter(([, p]) => p.requiresGrad);
    if (!trainable.length) throw new SamCobotError('ERR_ARGUMENT', 'Expected trainable parameters (apply a PEFT or set requiresGrad) for the Trainer but received a fully frozen model');
    this.optimizer = createOptimizer(sam, { ...options.optimizer }, this.totalSteps());
  }

  /** Batches per epoch (the last partial batch is dropped only when smaller than one image). */
  get batchesPerEpoch(): number {
    return Math.ceil(this.options.train.length / this.options.batchSize);
  }

  /** Optimizer steps in the whole run. */
  totalSteps(): number {
    return Math.ceil((this.options.epochs * Math.ceil(this.options.train.length / (this.options.batchSize ?? 1))) / (this.options.accumulate ?? 1));
  }

  private epochOrder(epoch: number): number[] {
    const order = Array.from({ length: this.options.train.length }, (_, i) => i);
    return new SeededRng(`${this.options.seed}:order:${epoch}`).shuffle(order);
  }

  private log(record: Record<string, unknown>): void {
    this.history.push(record);
    if (this.options.outDir) appendFileSync(join(this.options.outDir, 'log.jsonl'), JSON.stringify(record) + '\n');
  }

  private get checkpointPath(): string | null {
    return this.options.outDir ? join(this.options.outDir, 'last.safetensors') : null;
  }

  /** Restores a run from `path` (default `<outDir>/last.safetensors`). */
  async resume(path = this.checkpointPath ?? ''): Promise<void> {
    const { state, optimizerTensors } = await loadCheckpoint(path, this.sam);
    this.optimizer.loadState(optimizerTensors, state.optimizer);
    this.epoch = state.epoch;
    this.step = state.step;
    this.batchInEpoch = state.batchInEpoch;
    this.bestMetric = state.bestMetric;
    this.history = state.history as Array<Record<string, unknown>>;
  }

  private async saveCheckpoint(): Promise<void> {
    const path = this.checkpointPath;
    if (!path) return;
    const { tensors, state } = this.optimizer.saveState();
    const checkpoint: CheckpointState = {
      format: 'sam-cobot-train',
      version: 1,
      epoch: this.epoch,
      step: this.step,
      batchInEpoch: this.batchInEpoch,
      seed: this.options.seed,
      bestMetric: this.bestMetric,
      history: this.history,
      optimizer: state,
      options: { epochs: this.options.epochs, batchSize: this.options.batchSize, accumulate: this.options.accumulate },
    };
    await saveCheckpoint(path, this.sam, tensors, checkpoint);
    this.emit('checkpoint', { path, step: this.step });
  }

  private async loadBatch(indexes: number[], epoch: number): Promise<Sample[]> {
    return Promise.all(
      indexes.map(async (i) => {
        const loaded = await this.options.train.get(i);
        const sample = this.options.augment ? augment(loaded, this.options.augment, new SeededRng(`${this.options.seed}:augment:${epoch}:${i}`)) : loaded;
        // Crops and occlusions can leave an object without pixels: it has no box to prompt with.
        return { ...sample, objects: sample.objects.filter((o) => o.mask.some((v) => v !== 0)) };
      }),
    );
  }

  /** One micro-batch: forward, loss, backward (gradients accumulate). Returns the loss terms. */
  private async microStep(samples: Sample[], epoch: number, indexes: number[]): Promise<{ loss: number; terms: StepEvent['terms'] }> {
    const { sam } = this;
    const rng = new SeededRng(`${this.options.seed}:jitter:${epoch}:${indexes.join(',')}`);
    const batch = this.options.makeBatch
      ? await this.options.makeBatch(samples, { epoch, step: this.step, rng })
      : await toSamBatch(samples, sam.config, { maxObjects: this.options.objectsPerImage, jitter: this.options.jitter ?? null, prompt: 'box', rng });
    const device = sam.imageEncoder.posEmbed.value.device;
    if (!batch.names.length) return { loss: 0, terms: { bce: 0, dice: 0, focal: 0 } };
    const image = Tensor.fromArray(batch.images, batch.imageShape, { device });
    const target = Tensor.fromArray(batch.targets.data, batch.targets.shape, { device });
    setDropoutSeed(sam, this.options.seed * 1_000_003 + this.step * 97 + this.batchInEpoch);
    sam.train();
    const out = sam.forward({ image, boxes: batch.boxes, multimaskOutput: false });
    const { loss, terms, grad } = maskLoss(out.masks, target, { ...this.options.loss, gradScale: 1 / this.options.accumulate });
    sam.backward({ masks: grad, iouPred: null });
    const [lossValue, termValues] = await Promise.all([loss.toArray(), terms.toArray()]);
    for (const t of [image, target, out.masks, out.iouPred, loss, terms, grad]) t.dispose();
    return { loss: lossValue[0]!, terms: { bce: termValues[0]!, dice: termValues[1]!, focal: termValues[2]! } };
  }

  async validate(): Promise<EvaluationResult | null> {
    if (!this.options.val) return null;
    const result = await evaluate(this.sam, this.options.val, { objectsPerImage: Infinity });
    this.sam.train();
    const metric = result.summary.meanDice;
    this.log({ type: 'validation', epoch: this.epoch, step: this.step, ...result.summary });
    this.emit('validation', { epoch: this.epoch, step: this.step, summary: result.summary });
    if (this.bestMetric === null || metric > this.bestMetric) {
      this.bestMetric = metric;
      this.bestResult = result;
      if (this.options.outDir) await saveAdapter(this.sam, join(this.options.outDir, 'best'));
      this.emit('best', { epoch: this.epoch, step: this.step, metric });
    }
    return result;
  }

  async fit(): Promise<TrainResult> {
    const started = performance.now();
    const o = this.options;
    if (o.outDir && !existsSync(o.outDir)) mkdirSync(o.outDir, { recursive: true });
    const bar = (o.progress ?? process.stderr.isTTY) ? new ProgressBar() : null;
    const totalBatches = o.epochs * this.batchesPerEpoch;
    let status: TrainResult['status'] = 'completed';
    let micro = 0;
    let accumulated = { loss: 0, bce: 0, dice: 0, focal: 0 };
    let stepStarted = performance.now();
    try {
      for (; this.epoch < o.epochs; this.epoch++, this.batchInEpoch = 0) {
        const order = this.epochOrder(this.epoch);
        const batches: number[][] = [];
        for (let i = 0; i < order.length; i += o.batchSize) batches.push(order.slice(i, i + o.batchSize));
        const epoch = this.epoch;
        const pending = batches.slice(this.batchInEpoch);
        const loader = prefetch(
          (async function* (self: Trainer) {
            for (const b of pending) yield { indexes: b, samples: await self.loadBatch(b, epoch) };
          })(this),
          o.prefetchDepth,
        );
        for await (const { indexes, samples } of loader) {
          if (o.signal?.aborted) {
            status = 'aborted';
            break;
          }
          const r = await this.microStep(samples, epoch, indexes);
          this.batchInEpoch++;
          micro++;
          accumulated = { loss: accumulated.loss + r.loss, bce: accumulated.bce + r.terms.bce, dice: accumulated.dice + r.terms.dice, focal: accumulated.focal + r.terms.focal };
          if (micro % o.accumulate !== 0 && this.batchInEpoch < batches.length) continue;
          const n = micro % o.accumulate || o.accumulate;
          const lr = this.optimizer.step(o.clipGradNorm ?? null, this.step);
          this.sam.zeroGrad();
          this.step++;
          const seconds = (performance.now() - stepStarted) / 1000;
          stepStarted = performance.now();
          const event: StepEvent = {
            epoch: this.epoch,
            step: this.step,
            loss: accumulated.loss / n,
            terms: { bce: accumulated.bce / n, dice: accumulated.dice / n, focal: accumulated.focal / n },
            lr,
            itPerSecond: 1 / Math.max(seconds, 1e-9),
          };
          micro = 0;
          accumulated = { loss: 0, bce: 0, dice: 0, focal: 0 };
          this.log({ type: 'step', ...event });
          this.emit('step', event);
          bar?.update({ label: `epoch ${this.epoch + 1}/${o.epochs}`, done: this.epoch * this.batchesPerEpoch + this.batchInEpoch, total: totalBatches, loss: event.loss });
          if (typeof o.validateEvery === 'number' && this.step % o.validateEvery === 0) await this.validate();
          if (o.checkpointEvery && this.step % o.checkpointEvery === 0) await this.saveCheckpoint();
        }
        if (status === 'aborted') break;
        this.emit('epoch', { epoch: this.epoch, step: this.step });
        if (o.validateEvery === 'epoch') await this.validate();
        const next = this.epoch + 1;
        if (next < o.epochs || o.checkpointEvery) {
          // Saved as "the next epoch starts here", so a kill right after resumes at its first batch.
          this.epoch = next;
          this.batchInEpoch = 0;
          await this.saveCheckpoint();
          this.epoch = next - 1;
        }
      }
      if (status === 'aborted') await this.saveCheckpoint();
    } finally {
      bar?.finish();
      this.sam.clearSaved();
    }
    if (o.outDir) this.writeCurves();
    const result: TrainResult = { status, steps: this.step, epochs: this.epoch, best: this.bestResult, history: this.history, seconds: (performance.now() - started) / 1000 };
    this.emit('end', result);
    return result;
  }

  private writeCurves(): void {
    const steps = this.history.filter((r) => r.type === 'step') as unknown as StepEvent[];
    const vals = this.history.filter((r) => r.type === 'validation') as Array<{ step: number; meanDice: number }>;
    const svg = curvesSvg(
      [
        { name: 'training loss', points: steps.map((s) => [s.step, s.loss] as [number, number]) },
        { name: 'validation Dice', points: vals.map((v) => [v.step, v.meanDice] as [number, number]) },
      ],
      { title: 'sam-cobot training', xLabel: 'step', yLabel: 'loss / Dice' },
    );
    writeFileSync(join(this.options.outDir!, 'curves.svg'), svg);
  }

  /** The trainable parameters the optimizer updates. */
  parameters(): Parameter[] {
    return [...this.sam.namedParameters()].filter(([, p]) => p.requiresGrad).map(([, p]) => p);
  }

  static peftGroups(sam: Sam) {
    return peftOf(sam)?.groups ?? null;
  }
}
