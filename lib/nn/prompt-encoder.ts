/**
 * SAM's prompt encoder (sam-architecture.md §3): random-Fourier positional encoding, sparse
 * embeddings of points and boxes, the dense embedding of a mask prompt (or `no_mask_embed`).
 *
 * The label logic (replace the PE by not_a_point for −1, add point_embeddings[0|1] for 0|1,
 * [2|3] for box corners) runs as `sparse = PE ⊙ keep + onehot · E` with keep and onehot built on
 * the host from the labels and E the five embedding rows: the same values as the official masked
 * assignments (the products with 0 and 1 are exact), and one GEMM gives their gradients.
 */
import { SamCobotError } from '../errors.js';
import { add, mul, scale, sum } from '../ops/elementwise.js';
import { gelu, geluBackward, sinCos } from '../ops/activation.js';
import { gemm, gemmAccumulate } from '../ops/gemm.js';
import { concat, permute, split } from '../ops/layout.js';
import { Tensor } from '../tensor.js';
import { Conv2d } from './conv.js';
import { toHostArray, type HostArrayLike } from './host-array.js';
import { LayerNorm } from './layer-norm.js';
import { Module } from './module.js';
import type { Parameter } from './parameter.js';
import { dispose, retain, withView } from './retain.js';
import { gridSize, type SamConfig } from './sam-config.js';

export interface PointPrompt {
  /** (B, N, 2) input-frame pixel coordinates (x, y). */
  coords: HostArrayLike;
  /** (B, N): 1 foreground, 0 background, −1 not a point, 2/3 box corners (PE only). */
  labels: HostArrayLike;
}

export interface PromptInput {
  points?: PointPrompt;
  /** (B, 4) boxes (x0, y0, x1, y1) in input-frame pixels. */
  boxes?: HostArrayLike;
  /** (B, 1, 4g, 4g) mask prompt (low-res logits). */
  masks?: Tensor;
}

const VALID_LABELS = new Set([-1, 0, 1, 2, 3]);
const EMBED_ROWS = 5; // not_a_point, point_embeddings 0..3

interface Saved {
  onehot: Tensor | null;
  usedMasks: boolean;
  batch: number;
}

export class PromptEncoder extends Module {
  readonly gaussian: Parameter;
  readonly pointEmbeddings: Parameter[];
  readonly notAPoint: Parameter;
  readonly noMask: Parameter;
  readonly maskDownscaling: [Conv2d, LayerNorm, Conv2d, LayerNorm, Conv2d];
  readonly embedDim: number;
  readonly grid: number;
  readonly imageSize: number;

  constructor(config: SamConfig) {
    super('prompt_encoder');
    const C = config.promptEmbedDim;
    this.embedDim = C;
    this.grid = gridSize(config);
    this.imageSize = config.imgSize;
    this.gaussian = this.parameter('pe_layer.positional_encoding_gaussian_matrix', [2, C / 2], { buffer: true });
    this.pointEmbeddings = [0, 1, 2, 3].map((i) => this.parameter(`point_embeddings.${i}.weight`, [1, C]));
    this.notAPoint = this.parameter('not_a_point_embed.weight', [1, C]);
    const m = config.maskInChans;
    this.maskDownscaling = [
      this.child(new Conv2d('prompt_encoder.mask_downscaling.0', 1, m / 4, 2, { stride: 2 })),
      this.child(new LayerNorm('prompt_encoder.mask_downscaling.1', m / 4, config.layerNorm2dEps, 1)),
      this.child(new Conv2d('prompt_encoder.mask_downscaling.3', m / 4, m, 2, { stride: 2 })),
      this.child(new LayerNorm('prompt_encoder.mask_downscaling.4', m, config.layerNorm2dEps, 1)),
      this.child(new Conv2d('prompt_encoder.mask_downscaling.6', m, C, 1)),
    ];
    this.noMask = this.parameter('no_mask_embed.weight', [1, C]);
  }

  /** PE of normalised coordinates u (..., 2) in [0,1]²: [sin φ | cos φ], φ = 2π (2u − 1) G. */
  private encode(u: Tensor): Tensor {
    const centred = scale(u, 2, -1);
    const phase = gemm(centred, this.gaussian.value, { alpha: 2 * Math.PI });
    const pe = sinCos(phase);
    dispose(centred, phase);
    return pe;
  }

  /** The dense positional encoding of the embedding grid, (1, C, g, g). */
  densePe(): Tensor {
    const g = this.grid;
    const coords = new Float32Array(g * g * 2);
    for (let y = 0; y < g; y++)
      for (let x = 0; x < g; x++) {
        coords[(y * g + x) * 2] = Math.fround(Math.fround(x + 0.5) / g);
        coords[(y * g + x) * 2 + 1] = Math.fround(Math.fround(y + 0.5) / g);
      }
    const u = Tensor.fromArray(coords, [1, g, g, 2], { device: this.gaussian.value.device });
    const pe = this.encode(u);
    u.dispose();
    const out = permute(pe, [0, 3, 1, 2]);
    pe.dispose();
    return out;
  }

  /** {sparse (B, Ns, C), dense (B, C, g, g)}. */
  forward(input: PromptInput): { sparse: Tensor; dense: Tensor } {
    const device = this.gaussian.value.device;
    const batch = this.batchSize(input);
    const { coords, keep, onehot, count } = this.sparseLayout(input, batch);
    let sparse: Tensor;
    let onehotTensor: Tensor | null = null;
    if (count === 0) {
      sparse = Tensor.zeros([batch, 0, this.embedDim], { device });
    } else {
      const u = Tensor.fromArray(coords, [batch, count, 2], { device });
      const keepTensor = Tensor.fromArray(keep, [batch, count, 1], { device });
      onehotTensor = Tensor.fromArray(onehot, [batch, count, EMBED_ROWS], { device });
      const table = concat([this.notAPoint.value, ...this.pointEmbeddings.map((p) => p.value)], 0);
      const pe = this.encode(u);
      const kept = mul(pe, keepTensor);
      const added = gemm(onehotTensor, table);
      sparse = add(kept, added);
      dispose(u, keepTensor, table, pe, kept, added);
    }
    const dense = input.masks ? this.embedMask(input.masks, batch) : this.noMaskDense(batch);
    this.save<Saved>({ onehot: this.training ? onehotTensor : (onehotTensor?.dispose(), null), usedMasks: !!input.masks, batch });
    this.emit(sparse, 'sparse');
    this.emit(dense, 'dense');
    return { sparse, dense };
  }

  /**
   * Accumulates the embedding gradients; returns d masks (B, 1, 4g, 4g) when a mask prompt was
   * given and `needMaskGrad`, else null.
   */
  backward(grads: { sparse: Tensor | null; dense: Tensor | null }, needMaskGrad = false): Tensor | null {
    const s = this.restore<Saved>();
    if (grads.sparse && s.onehot && s.onehot.numel > 0) {
      const params = [this.notAPoint, ...this.pointEmbeddings];
      if (params.some((p) => p.needsGrad)) {
        const dTable = Tensor.zeros([EMBED_ROWS, this.embedDim], { device: grads.sparse.device });
        withView(s.onehot, [s.onehot.numel / EMBED_ROWS, EMBED_ROWS], (oh) =>
          withView(grads.sparse!, [grads.sparse!.numel / this.embedDim, this.embedDim], (ds) => gemmAccumulate(dTable, oh, ds, { transA: true })),
        );
        split(dTable, 0, [1, 1, 1, 1, 1]).forEach((row, i) => (params[i]!.needsGrad ? params[i]!.addGrad(row) : row.dispose()));
        dTable.dispose();
      }
    }
    s.onehot?.dispose();
    if (!grads.dense) return null;
    if (!s.usedMasks) {
      if (this.noMask.needsGrad) this.noMask.addGrad(sum(grads.dense, [0, 2, 3]));
      return null;
    }
    return this.backwardMask(grads.dense, needMaskGrad);
  }

  private batchSize(input: PromptInput): number {
    if (input.points) return toHostArray(input.points.coords, 'points.coords', [null, null, 2]).shape[0]!;
    if (input.boxes) return toHostArray(input.boxes, 'boxes', [null, 4]).shape[0]!;
    if (input.masks) return input.masks.shape[0]!;
    return 1;
  }

  /** Host-side coordinates (normalised, float32 rounding as the official code), keep mask and one-hot rows. */
  private sparseLayout(input: PromptInput, batch: number) {
    const rowsPerItem: Array<{ x: number; y: number; keep: number; row: number }[]> = Array.from({ length: batch }, () => []);
    const f = Math.fround;
    const norm = (v: number) => f(f(v) / this.imageSize);
    if (input.points) {
      const c = toHostArray(input.points.coords, 'points.coords', [batch, null, 2]);
      const n = c.shape[1]!;
      const l = toHostArray(input.points.labels, 'points.labels', [batch, n]);
      for (let b = 0; b < batch; b++) {
        for (let i = 0; i < n; i++) {
          const label = l.data[b * n + i]!;
          if (!VALID_LABELS.has(label))
            throw new SamCobotError('ERR_ARGUMENT', `Expected a label in {-1, 0, 1, 2, 3} for points.labels[${b}][${i}] but received ${label}`);
          const x = c.data[(b * n + i) * 2]!, y = c.data[(b * n + i) * 2 + 1]!;
          this.checkCoordinate(x, y, `points.coords[${b}][${i}]`);
          rowsPerItem[b]!.push({ x: norm(f(x) + 0.5), y: norm(f(y) + 0.5), keep: label === -1 ? 0 : 1, row: label === -1 ? 0 : label <= 1 ? label + 1 : -1 });
        }
        if (!input.boxes) rowsPerItem[b]!.push({ x: 0, y: 0, keep: 0, row: 0 });
      }
    }
    if (input.boxes) {
      const bx = toHostArray(input.boxes, 'boxes', [batch, 4]);
      for (let b = 0; b < batch; b++) {
        const [x0, y0, x1, y1] = [0, 1, 2, 3].map((k) => bx.data[b * 4 + k]!) as [number, number, number, number];
        this.checkCoordinate(x0, y0, `boxes[${b}] corner 0`);
        this.checkCoordinate(x1, y1, `boxes[${b}] corner 1`);
        rowsPerItem[b]!.push({ x: norm(f(x0) + 0.5), y: norm(f(y0) + 0.5), keep: 1, row: 3 });
        rowsPerItem[b]!.push({ x: norm(f(x1) + 0.5), y: norm(f(y1) + 0.5), keep: 1, row: 4 });
      }
    }
    const count = rowsPerItem[0]!.length;
    const coords = new Float32Array(batch * count * 2);
    const keep = new Float32Array(batch * count);
    const onehot = new Float32Array(batch * count * EMBED_ROWS);
    rowsPerItem.forEach((rows, b) =>
      rows.forEach((r, i) => {
        const t = b * count + i;
        coords[t * 2] = r.x;
        coords[t * 2 + 1] = r.y;
        keep[t] = r.keep;
        if (r.row >= 0) onehot[t * EMBED_ROWS + r.row] = 1;
      }),
    );
    return { coords, keep, onehot, count };
  }

  private checkCoordinate(x: number, y: number, name: string): void {
    const limit = this.imageSize;
    if (!(x >= -limit && x <= 2 * limit && y >= -limit && y <= 2 * limit))
      throw new SamCobotError('ERR_ARGUMENT', `Expected coordinates within the ${limit}x${limit} input frame (with a margin of one frame) for ${name} but received (${x}, ${y})`);
  }

  private noMaskDense(batch: number): Tensor {
    const g = this.grid;
    const zeros = Tensor.zeros([batch, this.embedDim, g, g], { device: this.noMask.value.device });
    const dense = withView(this.noMask.value, [1, this.embedDim, 1, 1], (embed) => add(zeros, embed));
    zeros.dispose();
    return dense;
  }

  private embedMask(masks: Tensor, batch: number): Tensor {
    const side = 4 * this.grid;
    const shape = masks.shape;
    if (shape.length !== 4 || shape[0] !== batch || shape[1] !== 1 || shape[2] !== side || shape[3] !== side)
      throw new SamCobotError('ERR_SHAPE', `Expected shape [${batch},1,${side},${side}] for masks but received [${shape}]`);
    const [c0, n1, c1, n2, c2] = this.maskDownscaling;
    const a0 = c0.forward(masks);
    const a1 = n1.forward(a0);
    const a2 = gelu(a1);
    const a3 = c1.forward(a2);
    const a4 = n2.forward(a3);
    const a5 = gelu(a4);
    const out = c2.forward(a5);
    this.save(this.training ? [retain(a1), retain(a4)] : null);
    dispose(a0, a1, a2, a3, a4, a5);
    return out;
  }

  private backwardMask(dDense: Tensor, needInput: boolean): Tensor | null {
    const [a1, a4] = this.restore<[Tensor, Tensor]>();
    const [c0, n1, c1, n2, c2] = this.maskDownscaling;
    const d5 = c2.backward(dDense)!;
    const d4 = geluBackward(d5, a4);
    const d3 = n2.backward(d4);
    const d2 = c1.backward(d3)!;
    const d1 = geluBackward(d2, a1);
    const d0 = n1.backward(d1);
    const dx = c0.backward(d0, needInput);
    dispose(d5, d4, d3, d2, d1, d0, a1, a4);
    return dx;
  }
}
