/**
 * Metrics: Dice and IoU in closed form on hand examples (empty cases by the documented
 * convention, thresholds for masks and logits); per-object means, class means and pooled scores
 * differ as they should on a crafted case; the loss mean is weighted; the CSV quotes names.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MetricsAccumulator, maskMetrics } from '../lib/train/metrics.js';

const close = (a: number, b: number, label = ''): void => assert.ok(Math.abs(a - b) < 1e-12, `${label}: ${a} vs ${b}`);

test('maskMetrics on hand examples', () => {
  assert.equal(maskMetrics([1, 1, 0, 0], [1, 0, 1, 0]), { tp: 1, fp: 1, fn: 1, dice: 0.5, iou: 1 / 3 });
  assert.equal(maskMetrics([1, 1, 1, 0], [1, 1, 0, 0]), { tp: 2, fp: 1, fn: 0, dice: 0.8, iou: 2 / 3 });
  assert.equal(maskMetrics([0, 0], [0, 0]), { tp: 0, fp: 0, fn: 0, dice: 1, iou: 1 });
  assert.equal(maskMetrics([0, 0], [0, 1]), { tp: 0, fp: 0, fn: 1, dice: 0, iou: 0 });
  assert.equal(maskMetrics([1, 0], [0, 0]), { tp: 0, fp: 1, fn: 0, dice: 0, iou: 0 });
  // Logits: threshold 0 is sigmoid > 0.5; the default 0.5 reads probabilities.
  assert.equal(maskMetrics([2.5, -0.1, 0.3, -4], [1, 1, 0, 0], 0), { tp: 1, fp: 1, fn: 1, dice: 0.5, iou: 1 / 3 });
  assert.equal(maskMetrics([0.9, 0.4, 0.6, 0.1], [1, 1, 0, 0]), { tp: 1, fp: 1, fn: 1, dice: 0.5, iou: 1 / 3 });
  // Targets: any non-zero value (255 from a PNG) is foreground.
  assert.equal(maskMetrics([1, 0], [255, 0]).dice, 1);
  assert.throws(() => maskMetrics([1], [1, 0]), /Expected a prediction of 2 values/);
});

test('per-object mean, class mean and pooled scores on a crafted case', () => {
  const acc = new MetricsAccumulator();
  // Label 1: a large good object and a small missed one; label 2: one half-right object.
  acc.addCounts({ image: 'a', object: 0, label: 1, tp: 90, fp: 10, fn: 0 });
  acc.addCounts({ image: 'a', object: 1, label: 1, tp: 1, fp: 0, fn: 9 });
  acc.addCounts({ image: 'b', object: 0, label: 2, tp: 5, fp: 5, fn: 0 });
  const dA = 180 / 190;
  const dB = 2 / 11;
  const dC = 10 / 15;
  const iA = 90 / 100;
  const iB = 1 / 10;
  const iC = 5 / 10;
  const s = acc.summary();
  assert.is(s.count, 3);
  close(s.meanDice, (dA + dB + dC) / 3, 'meanDice');
  close(s.meanIou, (iA + iB + iC) / 3, 'meanIou');
  close(s.classMeanDice, ((dA + dB) / 2 + dC) / 2, 'classMeanDice');
  close(s.classMeanIou, ((iA + iB) / 2 + iC) / 2, 'classMeanIou');
  close(s.pooledDice, (2 * 96) / (2 * 96 + 15 + 9), 'pooledDice');
  close(s.pooledIou, 96 / (96 + 15 + 9), 'pooledIou');
  assert.equal(s.classes.map((c) => [c.label, c.count]), [[1, 2], [2, 1]]);
  // The three averages really differ here, so a claim must say which it uses.
  assert.ok(s.meanDice < s.classMeanDice && s.classMeanDice < s.pooledDice);
  assert.is(s.meanLoss, null);
});

test('add scores masks; losses average with their weights; empty summary is NaN', () => {
  const acc = new MetricsAccumulator();
  const r = acc.add({ image: 'x', object: 0, label: 3, prediction: [1, 0, 1], target: [1, 0, 0] });
  assert.equal([r.tp, r.fp, r.fn], [1, 1, 0]);
  acc.addLoss(1.0, 2);
  acc.addLoss(4.0, 1);
  close(acc.summary().meanLoss!, 2, 'meanLoss');
  assert.throws(() => acc.addLoss(NaN), /finite loss/);
  const empty = new MetricsAccumulator().summary();
  assert.ok(Number.isNaN(empty.meanDice) && Number.isNaN(empty.pooledDice) && Number.isNaN(empty.classMeanIou));
});

test('toCsv writes one quoted line per object; toJSON carries summary and records', () => {
  const acc = new MetricsAccumulator();
  acc.addCounts({ image: 'plain', object: 0, label: 1, tp: 1, fp: 1, fn: 1 });
  acc.addCounts({ image: 'a, "b"', object: 2, label: 7, tp: 0, fp: 0, fn: 0 });
  assert.is(acc.toCsv(), 'image,object,label,dice,iou,tp,fp,fn\nplain,0,1,0.5,0.3333333333333333,1,1,1\n"a, ""b""",2,7,1,1,0,0,0\n');
  const json = JSON.parse(JSON.stringify(acc));
  assert.is(json.records.length, 2);
  close(json.summary.meanDice, 0.75);
});

test.run();
