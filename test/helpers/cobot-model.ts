/** The tiny golden SAM with the official COBOT adapter tensors (tiny-cobot), for both hosts. */
import { loadSam } from '../../lib/load-sam.js';
import type { Sam } from '../../lib/nn/sam.js';
import { loadAdapter } from '../../lib/peft/adapter-io.js';
import { applyPeft } from '../../lib/peft/apply.js';
import { goldenPath } from './golden.js';

export async function loadCobotModel(host: 'adaptformer' | 'lora'): Promise<Sam> {
  const sam = await loadSam(goldenPath('tiny', 'weights.safetensors'), { device: 'cpu' });
  applyPeft(sam, { host, cobot: true, dropout: 0 });
  await loadAdapter(sam, goldenPath('tiny-cobot', host, 'adapter.safetensors'));
  return sam;
}
