/**
 * Segmentation metrics (cobot-method.md §6 and §9 item 11), with the averaging always named:
 *
 * - per object: Dice = 2TP / (2TP + FP + FN) and IoU = TP / (TP + FP + FN) of the thresholded
 *   prediction against the target. No smoothing term; when prediction and target are both empty the
 *   object scores 1 (nothing to find, nothing found), and 0 when only one of them is empty;
 * - `meanDice` / `meanIou`: the mean over objects;
 * - `classMeanDice` / `classMeanIou`: the mean over labels of each label's per-object mean (the
 *   sonar logs' "avg(exclude_bg)", which the paper's SONAR column reports);
 * - `pooledDice` / `pooledIou`: from TP, FP, FN summed over every object (the medical code's one
 *   global DSC over all slices).
 * The loss is averaged over what was added with its weight (e.g. the number of objects of a batch).
 */
import { SamCobotError, describe } from '../errors.js';

export interface MaskCounts {
  tp: number;
  fp: number;
  fn: number;
}

export interface MaskMetrics extends MaskCounts {
  dice: number;
  iou: number;
}

export interface MetricsRecord extends MaskMetrics {
  /** The image's name. */
  image: string;
  /** The object's index in its image. */
  object: number;
  label: number;
}

export interface ClassMetrics {
  label: number;
  count: number;
  dice: number;
  iou: number;
}

export interface MetricsSummary {
  /** Objects scored. */
  count: number;
  meanDice: number;
  meanIou: number;
  classMeanDice: number;
  classMeanIou: number;
  pooledDice: number;
  pooledIou: number;
  /** Per-label means, by label. */
  classes: ClassMetrics[];
  /** Weighted mean of the losses added, or null when none was. */
  meanLoss: number | null;
}

function scores(tp: number, fp: number, fn: number): { dice: number; iou: number } {
  const union = tp + fp + fn;
  if (union === 0) return { dice: 1, iou: 1 };
  return { dice: (2 * tp) / (2 * tp + fp + fn), iou: tp / union };
}

/**
 * Dice and IoU of one prediction against its target. A prediction pixel is foreground when it is
 * above `threshold` (default 0.5, for 0/1 masks and probabilities; pass 0 for logits, i.e.
 * sigmoid > 0.5); a target pixel when it is non-zero.
 */
export function maskMetrics(prediction: ArrayLike<number>, target: ArrayLike<number>, threshold = 0.5): MaskMetrics {
  if (prediction.length !== target.length)
    throw new SamCobotError('ERR_SHAPE', `Expected a prediction of ${target.length} values (the target's size) for maskMetrics but received ${prediction.length}`);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < target.length; i++) {
    const p = prediction[i]! > threshold;
    const t = target[i] !== 0;
    if (p && t) tp++;
    else if (p) fp++;
    else if (t) fn++;
  }
  return { tp, fp, fn, ...scores(tp, fp, fn) };
}

function mean(values: number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
}

function csvField(value: string | number): string {
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Collects per-object records (and losses) over an evaluation; summarises and exports them. */
export class MetricsAccumulator {
  readonly records: MetricsRecord[] = [];
  private lossSum = 0;
  private lossWeight = 0;

  /** Scores one object's prediction (see {@link maskMetrics}) and records it. */
  add(entry: { image: string; object: number; label: number; prediction: ArrayLike<number>; target: ArrayLike<number>; threshold?: number }): MetricsRecord {
    const record: MetricsRecord = { image: entry.image, object: entry.object, label: entry.label, ...maskMetrics(entry.prediction, entry.target, entry.threshold) };
    this.records.push(record);
    return record;
  }

  /** Records counts computed elsewhere (e.g. on the device). */
  addCounts(entry: { image: string; object: number; label: number } & MaskCounts): MetricsRecord {
    for (const key of ['tp', 'fp', 'fn'] as const)
      if (!Number.isInteger(entry[key]) || entry[key] < 0) throw new SamCobotError('ERR_ARGUMENT', `Expected a non-negative integer for ${key} but received ${describe(entry[key])}`);
    const record: MetricsRecord = { ...entry, ...scores(entry.tp, entry.fp, entry.fn) };
    this.records.push(record);
    return record;
  }

  /** Adds a loss value with its weight (default 1). */
  addLoss(loss: number, weight = 1): void {
    if (!Number.isFinite(loss) || !(weight > 0)) throw new SamCobotError('ERR_ARGUMENT', `Expected a finite loss and a positive weight for addLoss but received ${describe(loss)} and ${describe(weight)}`);
    this.lossSum += loss * weight;
    this.lossWeight += weight;
  }

  /** The summary described in the file comment; means over nothing are NaN. */
  summary(): MetricsSummary {
    const byLabel = new Map<number, MetricsRecord[]>();
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (const r of this.records) {
      const list = byLabel.get(r.label) ?? [];
      list.push(r);
      byLabel.set(r.label, list);
      tp += r.tp;
      fp += r.fp;
      fn += r.fn;
    }
    const classes = [...byLabel]
      .sort(([a], [b]) => a - b)
      .map(([label, list]) => ({ label, count: list.length, dice: mean(list.map((r) => r.dice)), iou: mean(list.map((r) => r.iou)) }));
    const pooled = this.records.length ? scores(tp, fp, fn) : { dice: NaN, iou: NaN };
    return {
      count: this.records.length,
      meanDice: mean(this.records.map((r) => r.dice)),
      meanIou: mean(this.records.map((r) => r.iou)),
      classMeanDice: mean(classes.map((c) => c.dice)),
      classMeanIou: mean(classes.map((c) => c.iou)),
      pooledDice: pooled.dice,
      pooledIou: pooled.iou,
      classes,
      meanLoss: this.lossWeight > 0 ? this.lossSum / this.lossWeight : null,
    };
  }

  /** One line per object: image,object,label,dice,iou,tp,fp,fn (RFC 4180 quoting). */
  toCsv(): string {
    const lines = ['image,object,label,dice,iou,tp,fp,fn'];
    for (const r of this.records) lines.push([r.image, r.object, r.label, r.dice, r.iou, r.tp, r.fp, r.fn].map(csvField).join(','));
    return `${lines.join('\n')}\n`;
  }

  /** {summary, records}, for `JSON.stringify`. */
  toJSON(): { summary: MetricsSummary; records: MetricsRecord[] } {
    return { summary: this.summary(), records: this.records };
  }
}
