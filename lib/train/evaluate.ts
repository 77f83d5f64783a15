/**
 * Evaluation: every object of every image prompted with its (unjittered) box, the low-res logits
 * post-processed to the original size as the official code does, thresholded at 0, and scored
 * against the object's mask: per-object Dice/IoU, class means and pooled forms (lib/train/metrics.ts).
 */
import { toSamBatch } from '../data/batch.js';
import type { Dataset, Sample } from '../data/sample.js';
import type { Sam } from '../nn/sam.js';
import { Tensor } from '../tensor.js';
import { MetricsAccumulator, type MetricsRecord, type MetricsSummary } from './metrics.js';

export interface EvaluationResult {
  summary: MetricsSummary;
  records: MetricsRecord[];
  accumulator: MetricsAccumulator;
}

export interface EvaluateOptions {
  /** Cap on prompts per image (default: every object). */
  objectsPerImage?: number;
  /** Called with each image's predictions (for prediction grids). */
  onPrediction?: (sample: Sample, predictions: Uint8Array[], targets: Uint8Array[]) => void;
}

export async function evaluate(sam: Sam, dataset: Dataset, options: EvaluateOptions = {}): Promise<EvaluationResult> {
  const accumulator = new MetricsAccumulator();
  const wasTraining = sam.isTraining;
  sam.eval();
  const device = sam.imageEncoder.posEmbed.value.device;
  try {
    for (let i = 0; i < dataset.length; i++) {
      const sample = await dataset.get(i);
      const limit = options.objectsPerImage ?? Infinity;
      const batch = await toSamBatch([sample], sam.config, { maxObjects: Number.isFinite(limit) ? limit : undefined, jitter: null });
      if (!batch.names.length) continue;
      const image = Tensor.fromArray(batch.images, batch.imageShape, { device });
      const out = sam.forward({ image, boxes: batch.boxes, multimaskOutput: false });
      const [H, W] = batch.originalSizes[0]!;
      const logits = sam.postprocessMasks(out.masks, batch.inputSizes[0]!, [H, W]);
      const values = await logits.toArray();
      for (const t of [image, out.masks, out.iouPred, logits]) t.dispose();
      const plane = H * W;
      const predictions: Uint8Array[] = [];
      batch.objects.forEach((o, p) => {
        const prediction = Uint8Array.from(values.subarray(p * plane, (p + 1) * plane), (v) => (v > sam.config.maskThreshold ? 1 : 0));
        predictions.push(prediction);
        accumulator.add({ image: sample.name, object: o.object, label: o.label, prediction, target: batch.fullTargets[p]! });
      });
      options.onPrediction?.(sample, predictions, batch.fullTargets);
    }
  } finally {
    if (wasTraining) sam.train();
  }
  return { summary: accumulator.summary(), records: accumulator.toJSON().records, accumulator };
}
