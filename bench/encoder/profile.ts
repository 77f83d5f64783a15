/**
 * Where the encoder's CPU time goes, op by op: a debugging aid for bench/encoder-forward and
 * bench/encoder-train, not a bench itself.
 *
 * A forward (or a training step) is queued as usual while every op call is recorded (name, input
 * handles kept alive, attributes); each recorded op is then replayed alone between two
 * `synchronize('cpu')` calls and timed. Times are summed per op name and per op name and shapes,
 * and printed largest first with their share of the total and, for products, GFLOP/s. Replayed ops
 * that update an input in place (gradient accumulation) only change gradients nobody reads here.
 *
 *   node dist/bench/encoder/profile.js [--config vit_b] [--step forward|frozen|full] [--top 25]
 *   (threads: SAM_COBOT_THREADS, default all cores)
 */
import { performance } from 'node:perf_hooks';
import { Sam, readSafetensors, synchronize } from '../../lib/index.js';
import { call, type Attrs, type NativeAddon, type NativeTensor } from '../../lib/native.js';
import { benchConfig, benchFiles, benchOptions } from './setup.js';

interface Recorded {
  name: string;
  inputs: NativeTensor[];
  attrs: Attrs | undefined;
  device: string | undefined;
}

const { option } = benchOptions(process.argv.slice(2));
const configName = (option('--config') ?? 'vit_b') as 'tiny' | 'small' | 'vit_b';
const step = option('--step') ?? 'forward';
const top = Number(option('--top') ?? 25);

const config = benchConfig(configName);
const files = await benchFiles(configName);
const sam = new Sam(config);
const params = new Map(sam.imageEncoder.namedParameters({ buffers: true }));
for (const [name, t] of (await readSafetensors(files.weights)).tensors) params.get(name)!.value = t;
const { tensors } = await readSafetensors(files.input);
const image = tensors.get('image')!;
const dy = tensors.get('dy')!;
for (const [name, p] of params) p.requiresGrad = step === 'full' || name === 'image_encoder.pos_embed';

const run = () => {
  if (step === 'forward') {
    sam.imageEncoder.eval();
    sam.imageEncoder.forward(image).dispose();
    return;
  }
  sam.imageEncoder.train();
  sam.imageEncoder.zeroGrad();
  sam.imageEncoder.forward(image).dispose();
  sam.imageEncoder.backward(dy, false);
};

// One untimed pass fills the arena, a second one measures the whole step as the benches do.
run();
await synchronize('cpu');
let start = performance.now();
run();
await synchronize('cpu');
const whole = (performance.now() - start) / 1000;

const addon = call((a) => a) as NativeAddon;
const original = addon.op;
const recorded: Recorded[] = [];
addon.op = (name, inputs, attrs, device) => {
  recorded.push({ name, inputs: inputs.map((h) => h.reshape(h.shape)), attrs, device });
  return original.call(addon, name, inputs, attrs, device);
};
run();
addon.op = original;
await synchronize('cpu');

interface Cost {
  seconds: number;
  count: number;
  flops: number;
}
const byName = new Map<string, Cost>();
const byShape = new Map<string, Cost>();
const charge = (map: Map<string, Cost>, key: string, seconds: number, flops: number) => {
  const entry = map.get(key) ?? { seconds: 0, count: 0, flops: 0 };
  entry.seconds += seconds;
  entry.count++;
  entry.flops += flops;
  map.set(key, entry);
};
for (const op of recorded) {
  await synchronize('cpu');
  start = performance.now();
  for (const out of original.call(addon, op.name, op.inputs, op.attrs, op.device)) out.dispose();
  await synchronize('cpu');
  const seconds = (performance.now() - start) / 1000;
  const flops = op.name.startsWith('gemm') ? gemmFlops(op) : 0;
  const flags = ['transA', 'transB'].filter((f) => op.attrs?.[f]).join(' ');
  charge(byName, op.name, seconds, flops);
  charge(byShape, `${op.name} ${op.inputs.map((h) => `[${h.shape}]`).join(' ')} ${flags}`, seconds, flops);
  for (const h of op.inputs) h.dispose();
}

/** 2·M·N·K of a (batched) product: A (..., M, K) or its transpose, B (K, N) or (N, K). */
function gemmFlops(op: Recorded): number {
  const [a, b] = op.inputs.map((h) => h.shape) as [number[], number[]];
  const K = op.attrs?.transA ? a.at(-2)! : a.at(-1)!;
  const rows = a.reduce((x, y) => x * y, 1) / K;
  const N = op.attrs?.transB ? b.at(-2)! : b.at(-1)!;
  return 2 * rows * K * N;
}

const total = [...byName.values()].reduce((s, e) => s + e.seconds, 0);
console.log(`${configName} ${step}: whole step ${whole.toFixed(3)} s queued as usual; ${recorded.length} ops replayed one at a time sum to ${total.toFixed(3)} s`);
console.log('\nper op:');
for (const [name, e] of [...byName].sort((x, y) => y[1].seconds - x[1].seconds))
  console.log(`${(e.seconds * 1000).toFixed(1).padStart(10)} ms ${((100 * e.seconds) / total).toFixed(1).padStart(5)}% ${String(e.count).padStart(4)}x  ${name}`);
console.log(`\ntop ${top} by op and shapes:`);
for (const [key, e] of [...byShape].sort((x, y) => y[1].seconds - x[1].seconds).slice(0, top)) {
  const rate = e.flops ? ` ${(e.flops / e.seconds / 1e9).toFixed(1)} GFLOP/s` : '';
  console.log(`${(e.seconds * 1000).toFixed(1).padStart(10)} ms ${((100 * e.seconds) / total).toFixed(1).padStart(5)}% ${String(e.count).padStart(4)}x  ${key}${rate}`);
}
