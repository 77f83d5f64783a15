/**
 * Adapter checkpoints: save only the trained tensors (adapters + decoder) with a JSON config,
 * load them back (ours, or the official COBOT repository's adapter/full state dicts, from
 * safetensors or .pth), and merge a LoRA(+COBOT) delta into the qkv weights.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SamCobotError } from '../errors.js';
import { loadStateDict } from '../io/checkpoint.js';
import { writeSafetensors } from '../io/safetensors.js';
import { add, mul } from '../ops/elementwise.js';
import { gemm } from '../ops/gemm.js';
import { concat, permute, slice } from '../ops/layout.js';
import { Tensor } from '../tensor.js';
import type { Sam } from '../nn/sam.js';
import { dispose, reshapeOwned } from '../nn/retain.js';
import { applyPeft, peftOf, type PeftOptions } from './apply.js';
import { LoraQkv } from './lora.js';

export const ADAPTER_WEIGHTS = 'adapter.safetensors';
export const ADAPTER_CONFIG = 'adapter_config.json';

export interface AdapterConfig {
  format: 'sam-cobot-adapter';
  version: 1;
  peft: PeftOptions | null;
  /** The SAM build arguments the adapter was trained on (checked on load). */
  sam: { embedDim: number; depth: number; imgSize: number; promptEmbedDim: number };
}

/** Writes `<dir>/adapter.safetensors` (every trainable tensor) and `<dir>/adapter_config.json`, atomically. */
export async function saveAdapter(sam: Sam, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tensors = new Map<string, Tensor>();
  for (const [name, p] of sam.namedParameters()) if (p.requiresGrad) tensors.set(name, p.value);
  const handle = peftOf(sam);
  const config: AdapterConfig = {
    format: 'sam-cobot-adapter',
    version: 1,
    peft: handle ? handle.options : null,
    sam: { embedDim: sam.config.embedDim, depth: sam.config.depth, imgSize: sam.config.imgSize, promptEmbedDim: sam.config.promptEmbedDim },
  };
  await writeSafetensors(join(dir, ADAPTER_WEIGHTS), tensors, { format: 'sam-cobot-adapter', config: JSON.stringify(config) });
  const tmp = join(dir, `${ADAPTER_CONFIG}.tmp-${process.pid}`);
  await writeFile(tmp, JSON.stringify(config, null, 2) + '\n');
  await rename(tmp, join(dir, ADAPTER_CONFIG));
}

/**
 * Official COBOT key names to ours: the `model.sam.` prefix of its training checkpoints dropped,
 * the wrapped `mlp.mlp.*` / `qkv.qkv.*` back to SAM's names; C and P (repeated under every block)
 * kept once, under block 0.
 */
export function normaliseAdapterKey(key: string): string | null {
  let k = key.replace(/^(module\.)?(model\.)?sam\./, '').replace(/^module\./, '');
  k = k.replace(/\.mlp\.mlp\.(lin[12]\.)/, '.mlp.$1').replace(/\.attn\.qkv\.qkv\.(weight|bias)$/, '.attn.qkv.$1');
  const shared = /^image_encoder\.blocks\.(\d+)\.(mlp|attn\.qkv)\.(FacT_c|FacT_p)$/.exec(k);
  if (shared && shared[1] !== '0') return null;
  return k;
}

function inferPeft(keys: string[]): PeftOptions | null {
  const has = (re: RegExp) => keys.some((k) => re.test(k));
  const cobot = has(/FacT_c$/);
  if (has(/\.mlp\.down_proj\.weight$/)) return { host: 'adaptformer', cobot, dropout: 0 };
  if (has(/\.linear_a_q\.weight$/)) return { host: 'lora', cobot };
  return null;
}

/**
 * Loads adapter (and decoder) tensors into `sam`: a directory written by saveAdapter, or a
 * safetensors/.pth file with our or the official COBOT names. Applies the PEFT first when `sam`
 * has none (from the config, or inferred from the keys). Returns the number of tensors loaded.
 */
export async function loadAdapter(sam: Sam, path: string): Promise<number> {
  let file = path;
  let config: AdapterConfig | null = null;
  if (existsSync(path) && statSync(path).isDirectory()) {
    file = join(path, ADAPTER_WEIGHTS);
    const configFile = join(path, ADAPTER_CONFIG);
    if (existsSync(configFile)) config = JSON.parse(await readFile(configFile, 'utf8')) as AdapterConfig;
  }
  const device = sam.imageEncoder.posEmbed.loaded ? sam.imageEncoder.posEmbed.value.device : 'cpu';
  const { tensors, metadata } = await loadStateDict(file, { device });
  if (!config && metadata.format === 'sam-cobot-adapter' && metadata.config) config = JSON.parse(metadata.config) as AdapterConfig;
  const state = new Map<string, Tensor>();
  for (const [key, t] of tensors) {
    const k = normaliseAdapterKey(key);
    if (k === null || state.has(k)) t.dispose();
    else state.set(k, t);
  }
  try {
    if (config && (config.sam.embedDim !== sam.config.embedDim || config.sam.depth !== sam.config.depth))
      throw new SamCobotError('ERR_SHAPE', `Expected an adapter for a SAM with embed_dim ${sam.config.embedDim} and depth ${sam.config.depth} for ${path} but received one for ${config.sam.embedDim} / ${config.sam.depth}`);
    if (!peftOf(sam)) {
      const peft = config?.peft ?? inferPeft([...state.keys()]);
      if (peft) applyPeft(sam, peft);
    }
    const params = sam.parameterMap({ buffers: true });
    const unknown = [...state.keys()].filter((k) => !params.has(k));
    if (unknown.length)
      throw new SamCobotError('ERR_FILE', `Expected adapter, decoder or SAM tensors in ${path} but received ${unknown.length} unknown key(s): ${unknown.slice(0, 5).join(', ')}`);
    for (const [k, t] of state) {
      params.get(k)!.value = t;
      state.delete(k);
    }
    return params.size;
  } finally {
    for (const t of state.values()) t.dispose();
  }
}

/**
 * Folds every LoRA(+COBOT) delta into its qkv weight (W_q += B_q·Qᵀ·diag(κ)·A_q, likewise v) and
 * removes the LoRA modules, so inference costs what plain SAM costs. AdaptFormer has a
 * non-linearity and cannot be merged.
 */
export function mergeAdapter(sam: Sam): void {
  const handle = peftOf(sam);
  if (!handle || handle.options.host !== 'lora')
    throw new SamCobotError('ERR_UNSUPPORTED', `Expected a LoRA host for mergeAdapter but received ${handle ? handle.options.host : 'no adapter'} (AdaptFormer's ReLU cannot be folded)`);
  const pass = handle.cobot?.pass();
  for (const block of sam.imageEncoder.blocks) {
    const lora = block.attn.qkv;
    if (!(lora instanceof LoraQkv)) continue;
    const deltas = (['q', 'v'] as const).map((branch, i) => {
      const a = branch === 'q' ? lora.aQ.weight.value : lora.aV.weight.value; // (r, D)
      const b = branch === 'q' ? lora.bQ.weight.value : lora.bV.weight.value; // (D, r)
      let core: Tensor | null = null; // (r, r) = diag(κ)·Q: row-vector s·Q after scaling by κ
      if (pass && lora.options.cobot) {
        const t = lora.options.cobot.heads[i]!;
        const kappa = reshapeOwned(slice(pass.kappa, 0, t, t + 1), [lora.options.rank, 1]);
        const qt = reshapeOwned(slice(pass.q, 0, t, t + 1), [lora.options.rank, lora.options.rank]);
        core = mul(kappa, qt);
        dispose(kappa, qt);
      }
      // Δ = x Aᵀ core Bᵀ  ->  ΔW (out, in) = (Aᵀ core Bᵀ)ᵀ
      const left = core ? gemm(a, core, { transA: true }) : permute(a, [1, 0]); // (D, r)
      const rowForm = gemm(left, b, { transB: true }); // (D_in, D_out)
      const w = permute(rowForm, [1, 0]);
      dispose(core, left, rowForm);
      return w;
    });
    const D = lora.options.dim;
    const zeros = Tensor.zeros([D, D], { device: deltas[0]!.device });
    const full = concat([deltas[0]!, zeros, deltas[1]!], 0);
    const merged = add(lora.base.weight.value, full);
    dispose(zeros, full, ...deltas);
    lora.base.weight.value = merged;
    block.attn.replaceQkv(lora.base);
    for (const [, p] of lora.namedParameters()) if (p !== lora.base.weight && p !== lora.base.bias) p.dispose();
  }
  handle.cobot?.dispose();
  handle.groups.adapter.length = 0;
  handle.groups.cobot.length = 0;
}
