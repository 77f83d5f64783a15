/**
 * applyPeft: freezes what the method freezes and injects the host adapters (AdaptFormer beside
 * every block's MLP, or LoRA on every qkv), optionally with COBOT on top, initialised as the
 * official code does (cobot-method.md §2, §5). Names follow the official COBOT state dict.
 */
import { SamCobotError } from '../errors.js';
import type { Device } from '../device.js';
import { Tensor } from '../tensor.js';
import { Linear } from '../nn/linear.js';
import type { Parameter } from '../nn/parameter.js';
import type { Sam } from '../nn/sam.js';
import { AdaptFormerAdapter } from './adaptformer.js';
import { CobotState, type CobotOptions, type CoefficientMode, type HeadKind } from './cobot.js';
import { LoraQkv } from './lora.js';

export type PeftHost = 'adaptformer' | 'lora' | 'decoder';

export interface PeftOptions {
  host: PeftHost;
  /** Add COBOT (coefficient sets, relation matrix, projection head) on the host. Default true. */
  cobot?: boolean;
  /** LoRA rank (default 4). */
  rank?: number;
  /** AdaptFormer bottleneck (default 16). */
  bottleneck?: number;
  /** AdaptFormer dropout after the activation (official default 0.1). */
  dropout?: number;
  /** Ablation: mix the coefficient sets across heads with a learned relation matrix (default true). */
  relation?: boolean;
  /** Ablation: a fixed random relation matrix (not learned). */
  fixedRelation?: boolean;
  coefficients?: CoefficientMode;
  head?: HeadKind;
  /** LoRA: initialise B with zeros (standard LoRA) instead of the official Xavier-normal. */
  zeroInitB?: boolean;
  /** Train the prompt encoder too (the remote-sensing convention); default frozen. */
  trainPromptEncoder?: boolean;
  /** Seeds the adapter initialisation and the dropout masks. */
  seed?: number;
}

export interface ParameterGroups {
  /** COBOT's C, P and projection heads (the official `FacT` tensors: trained at a larger lr). */
  cobot: Parameter[];
  /** Host adapter tensors and the local coefficients γ. */
  adapter: Parameter[];
  decoder: Parameter[];
  promptEncoder: Parameter[];
}

export interface PeftHandle {
  options: Required<PeftOptions>;
  groups: ParameterGroups;
  cobot: CobotState | null;
}

const handles = new WeakMap<Sam, PeftHandle>();

/** The PEFT applied to `sam` by {@link applyPeft}, if any. */
export function peftOf(sam: Sam): PeftHandle | undefined {
  return handles.get(sam);
}

function deviceOf(sam: Sam): Device {
  const p = sam.imageEncoder.posEmbed;
  return p.loaded ? p.value.device : 'cpu';
}

// Each tensor's draw is seeded by (seed, its name): the same options give the same adapter.
function streamOf(seed: number, name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
  return (seed >>> 0) * 4294967296 + h > Number.MAX_SAFE_INTEGER ? h : (seed >>> 0) * 4294967296 + h;
}
function initNormal(p: Parameter, std: number, device: Device, seed: number): void {
  p.value = Tensor.randn(p.shape, { seed: streamOf(seed, p.name), std, device });
}
function initUniform(p: Parameter, low: number, high: number, device: Device, seed: number): void {
  p.value = Tensor.rand(p.shape, { seed: streamOf(seed, p.name), low, high, device });
}
function initFull(p: Parameter, value: number, device: Device): void {
  p.value = Tensor.full(p.shape, value, { device });
}
function initIdentity(p: Parameter, device: Device): void {
  const n = p.shape[0]!;
  const data = new Float32Array(n * n);
  for (let i = 0; i < n; i++) data[i * n + i] = 1;
  p.value = Tensor.fromArray(data, p.shape, { device });
}

export function applyPeft(sam: Sam, options: PeftOptions): PeftHandle {
  if (handles.has(sam)) throw new SamCobotError('ERR_ARGUMENT', 'Expected a SAM without adapters for applyPeft but received one that already has them');
  const o: Required<PeftOptions> = {
    host: options.host,
    cobot: options.cobot ?? options.host !== 'decoder',
    rank: options.rank ?? 4,
    bottleneck: options.bottleneck ?? 16,
    dropout: options.dropout ?? 0.1,
    relation: options.relation ?? true,
    fixedRelation: options.fixedRelation ?? false,
    coefficients: options.coefficients ?? 'dual',
    head: options.head ?? 'quaternion',
    zeroInitB: options.zeroInitB ?? false,
    trainPromptEncoder: options.trainPromptEncoder ?? false,
    seed: options.seed ?? 0,
  };
  if (!['adaptformer', 'lora', 'decoder'].includes(o.host))
    throw new SamCobotError('ERR_ARGUMENT', `Expected 'adaptformer', 'lora' or 'decoder' for host but received ${JSON.stringify(o.host)}`);
  if (o.host === 'decoder' && options.cobot) throw new SamCobotError('ERR_ARGUMENT', "Expected host 'adaptformer' or 'lora' for cobot: true but received 'decoder'");
  const width = o.host === 'lora' ? o.rank : o.bottleneck;
  if (o.cobot && o.head === 'quaternion' && width % 4 !== 0)
    throw new SamCobotError('ERR_ARGUMENT', `Expected a bottleneck width divisible by 4 for the quaternion head but received ${width}`);

  for (const [, p] of sam.imageEncoder.namedParameters()) p.requiresGrad = false;
  for (const [, p] of sam.promptEncoder.namedParameters()) p.requiresGrad = o.trainPromptEncoder;
  for (const [, p] of sam.maskDecoder.namedParameters()) p.requiresGrad = true;
  const groups: ParameterGroups = {
    cobot: [],
    adapter: [],
    decoder: sam.maskDecoder.parameters(),
    promptEncoder: o.trainPromptEncoder ? sam.promptEncoder.parameters() : [],
  };
  const device = deviceOf(sam);
  const D = sam.config.embedDim;
  const blocks = sam.imageEncoder.blocks;
  let cobot: CobotState | null = null;
  if (o.host !== 'decoder') {
    const T = o.host === 'lora' ? 2 * blocks.length : blocks.length;
    const cobotOptions: CobotOptions = { relation: o.relation, coefficients: o.coefficients, head: o.head };
    const adapters = blocks.map((block, l) => {
      if (o.host === 'adaptformer') {
        const adapter = new AdaptFormerAdapter(block.mlp.path, block.mlp, { dim: D, bottleneck: o.bottleneck, dropout: o.dropout, cobot: null, seed: o.seed * 131 + l });
        block.replaceMlp(adapter);
        initFull(adapter.norm.weight, 1, device);
        initFull(adapter.norm.bias, 0, device);
        const bound = 1 / Math.sqrt(D); // kaiming-uniform(a = √5)
        initUniform(adapter.downProj.weight, -bound, bound, device, o.seed);
        initFull(adapter.downProj.bias!, 0, device);
        initFull(adapter.upProj.weight, 0, device);
        initFull(adapter.upProj.bias!, 0, device);
        groups.adapter.push(...adapter.parameters().filter((p) => !p.name.includes('.mlp.mlp.') && !p.name.match(/\.mlp\.lin[12]\./)));
        return adapter;
      }
      const base = block.attn.qkv as Linear;
      const lora = new LoraQkv(base.path, base, { dim: D, rank: o.rank, cobot: null });
      block.attn.replaceQkv(lora);
      const std = Math.sqrt(2 / (D + o.rank)); // xavier-normal
      for (const a of [lora.aQ, lora.aV]) initNormal(a.weight, std, device, o.seed);
      for (const b of [lora.bQ, lora.bV]) (o.zeroInitB ? initFull(b.weight, 0, device) : initNormal(b.weight, std, device, o.seed));
      groups.adapter.push(lora.aQ.weight, lora.bQ.weight, lora.aV.weight, lora.bV.weight);
      return lora;
    });
    if (o.cobot) {
      const first = adapters[0]!;
      const c = first.declare('FacT_c', [1, width, T]);
      const p = first.declare('FacT_p', [T, T]);
      initFull(c, 1, device);
      if (o.fixedRelation) {
        initNormal(p, 1 / Math.sqrt(T), device, o.seed + 17);
        p.requiresGrad = false;
      } else {
        initIdentity(p, device);
      }
      p.requiresGrad = o.relation && !o.fixedRelation && o.coefficients !== 'local';
      c.requiresGrad = o.coefficients !== 'local';
      cobot = new CobotState(c, p, width, cobotOptions);
      groups.cobot.push(...[c, p].filter((x) => x.requiresGrad));
      adapters.forEach((adapter, l) => {
        const gammaWidth = o.host === 'lora' ? 2 * width : width;
        const gamma = adapter.declare('gamma', [gammaWidth]);
        initFull(gamma, 1, device);
        gamma.requiresGrad = o.coefficients !== 'shared';
        if (gamma.requiresGrad) groups.adapter.push(gamma);
        const headNames = o.host === 'lora' ? ['FacT_d1', 'FacT_d2'] : ['FacT_d1'];
        const indexes = headNames.map((name, half) => {
          const weights: Parameter[] = [];
          if (o.head === 'quaternion') {
            for (const part of ['r', 'i', 'j', 'k']) {
              const w = adapter.declare(`${name}.${part}_weight`, [width / 4, width / 4]);
              if (part === 'r') initFull(w, 0, device);
              else initUniform(w, 0, 1, device, o.seed + 101);
              weights.push(w);
            }
          } else if (o.head === 'linear') {
            const w = adapter.declare(`${name}.weight`, [width, width]);
            const bound = 1 / Math.sqrt(width);
            initUniform(w, -bound, bound, device, o.seed + 103);
            weights.push(w);
          }
          groups.cobot.push(...weights);
          return cobot!.addHead({ gamma, gammaHalf: o.host === 'lora' ? (half as 0 | 1) : null, weights });
        });
        if (adapter instanceof AdaptFormerAdapter) (adapter.options as { cobot: unknown }).cobot = { state: cobot!, head: indexes[0]! };
        else (adapter.options as { cobot: unknown }).cobot = { state: cobot!, heads: [indexes[0]!, indexes[1]!] };
        void l;
      });
      const state = cobot;
      sam.imageEncoder.addPassHook({ beforeForward: () => state.beginPass(), afterBackward: () => state.finishBackward() });
    }
  }
  const handle: PeftHandle = { options: o, groups, cobot };
  handles.set(sam, handle);
  return handle;
}

export interface ParameterCounts {
  /** Trainable parameters of the host adapters (+ γ), of COBOT (C, P, γ, heads), of the decoder, of the prompt encoder. */
  host: number;
  cobot: number;
  decoder: number;
  promptEncoder: number;
  trainable: number;
  total: number;
}

const numel = (p: Parameter) => p.shape.reduce((a, b) => a * b, 1);

/** Trainable counts by group; COBOT counts C, P, every γ and the projection heads, as the paper does. */
export function countParameters(sam: Sam): ParameterCounts {
  const handle = handles.get(sam);
  let total = 0;
  let trainable = 0;
  for (const [, p] of sam.namedParameters()) {
    total += numel(p);
    if (p.requiresGrad) trainable += numel(p);
  }
  const isCobot = (p: Parameter) => /\.(FacT_[a-z0-9]+(\.[a-z_]+)?|gamma)$/.test(p.name);
  const encoderTrainable = sam.imageEncoder.parameters().filter((p) => p.requiresGrad);
  const cobotCount = encoderTrainable.filter(isCobot).reduce((s, p) => s + numel(p), 0);
  void handle;
  return {
    host: encoderTrainable.filter((p) => !isCobot(p)).reduce((s, p) => s + numel(p), 0),
    cobot: cobotCount,
    decoder: sam.maskDecoder.parameters().filter((p) => p.requiresGrad).reduce((s, p) => s + numel(p), 0),
    promptEncoder: sam.promptEncoder.parameters().filter((p) => p.requiresGrad).reduce((s, p) => s + numel(p), 0),
    trainable,
    total,
  };
}

/** Prints trainable parameter counts the way peft's print_trainable_parameters does, plus the breakdown. */
export function printTrainableParameters(sam: Sam, log: (line: string) => void = console.log): ParameterCounts {
  const c = countParameters(sam);
  const pct = ((100 * c.trainable) / c.total).toFixed(4);
  log(`trainable params: ${c.trainable.toLocaleString('en-US')} || all params: ${c.total.toLocaleString('en-US')} || trainable%: ${pct}`);
  log(`  encoder adapters: ${c.host.toLocaleString('en-US')}, COBOT: ${c.cobot.toLocaleString('en-US')}, mask decoder: ${c.decoder.toLocaleString('en-US')}, prompt encoder: ${c.promptEncoder.toLocaleString('en-US')}`);
  return c;
}
