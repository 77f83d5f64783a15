/**
 * The demo end to end (the "tiny model trained on the synthetic set lowers its loss and
 * raises validation Dice by a clear margin against the untrained model"): the embedded pretrained
 * SAM, adapted with AdaptFormer + COBOT to camouflaged objects for a few epochs, beats its
 * zero-shot Dice by a wide margin, and the demo ends with its RESULT line.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runDemo } from '../lib/demo.js';

test('a few epochs of COBOT fine-tuning raise held-out Dice far above zero-shot', async () => {
  const lines: string[] = [];
  const result = await runDemo({ device: 'cpu', epochs: 4, trainImages: 48, testImages: 16, log: (l) => lines.push(l) });
  assert.ok(result.zeroShotDice < 0.1, `zero-shot Dice ${result.zeroShotDice}`);
  assert.ok(result.finetunedDice > result.zeroShotDice + 0.3, `fine-tuned ${result.finetunedDice} vs zero-shot ${result.zeroShotDice}`);
  assert.match(lines.at(-1)!, /^RESULT demo zero_shot_dice=\d\.\d{4} finetuned_dice=\d\.\d{4} trainable=\d+ seconds=\d+\.\d$/);
  assert.ok(lines.some((l) => l.startsWith('trainable params:')));
});

test.run();
