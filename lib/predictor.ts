/**
 * SamPredictor: `setImage` once (decode, preprocess, run the image encoder), then `predict` for
 * as many prompts as needed, as segment-anything's SamPredictor does.
 */
import { SamCobotError } from './errors.js';
import { decodeImage, preprocessImage, type ImageInput } from './image.js';
import { toHostArray, type HostArrayLike } from './nn/host-array.js';
import type { Sam } from './nn/sam.js';
import { Tensor } from './tensor.js';

export interface PredictOptions {
  /** (N, 2) or (B, N, 2) points (x, y) in original-image pixels. */
  pointCoords?: HostArrayLike;
  /** (N) or (B, N) labels: 1 foreground, 0 background. */
  pointLabels?: HostArrayLike;
  /** (4) or (B, 4) boxes (x0, y0, x1, y1) in original-image pixels. */
  box?: HostArrayLike;
  /** (B, 1, 4g, 4g) low-res logits from a previous prediction. */
  maskInput?: Tensor | HostArrayLike;
  multimaskOutput?: boolean;
  /** Return the post-processed logits instead of binary masks. */
  returnLogits?: boolean;
}

export interface Prediction {
  /** (B, M, H, W): 0/1 masks (Uint8Array), or float logits with returnLogits. */
  masks: { data: Uint8Array | Float32Array; shape: number[] };
  /** (B, M) predicted IoU of each mask. */
  scores: { data: Float32Array; shape: number[] };
  /** (B, M, 4g, 4g) low-res logits (feed back as maskInput). */
  lowResLogits: { data: Float32Array; shape: number[] };
}

export class SamPredictor {
  readonly sam: Sam;
  private embeddings: Tensor | null = null;
  private originalSize: [number, number] | null = null;
  private inputSize: [number, number] | null = null;

  constructor(sam: Sam) {
    this.sam = sam;
  }

  /** Decodes and preprocesses the image and computes its embedding (reused by every predict). */
  async setImage(image: ImageInput): Promise<void> {
    const decoded = await decodeImage(image);
    const { pixels, inputSize } = await preprocessImage(decoded, this.sam.config);
    const S = this.sam.config.imgSize;
    const device = this.sam.imageEncoder.posEmbed.value.device;
    const x = Tensor.fromArray(pixels, [1, 3, S, S], { device });
    const wasTraining = this.sam.isTraining;
    this.sam.eval();
    this.resetImage();
    this.embeddings = this.sam.imageEncoder.forward(x);
    x.dispose();
    if (wasTraining) this.sam.train();
    await this.embeddings.toArray(); // surface errors here, not at the first predict
    this.originalSize = [decoded.height, decoded.width];
    this.inputSize = inputSize;
  }

  /** Forgets the current image's embedding. */
  resetImage(): void {
    this.embeddings?.dispose();
    this.embeddings = null;
    this.originalSize = null;
    this.inputSize = null;
  }

  /** The cached image embedding (1, C, g, g); throws before setImage. */
  getImageEmbedding(): Tensor {
    if (!this.embeddings) throw new SamCobotError('ERR_ARGUMENT', 'Expected an image set with setImage() for predict but received none');
    return this.embeddings;
  }

  async predict(options: PredictOptions = {}): Promise<Prediction> {
    const embeddings = this.getImageEmbedding();
    const [H, W] = this.originalSize!;
    const [h, w] = this.inputSize!;
    const sx = w / W;
    const sy = h / H;
    const prompts: Parameters<Sam['promptEncoder']['forward']>[0] = {};
    let batch = 1;
    if (options.box !== undefined) {
      const raw = toHostArray(options.box, 'box', Array.isArray(options.box) && !Array.isArray(options.box[0]) ? [4] : [null, 4]);
      batch = raw.shape.length === 1 ? 1 : raw.shape[0]!;
      const data = raw.data.map((v, i) => (i % 2 === 0 ? v * sx : v * sy));
      prompts.boxes = { data, shape: [batch, 4] };
    }
    if (options.pointCoords !== undefined) {
      if (options.pointLabels === undefined) throw new SamCobotError('ERR_ARGUMENT', 'Expected pointLabels with pointCoords for predict but received none');
      const coords = toHostArray(options.pointCoords, 'pointCoords', guessRank(options.pointCoords) === 2 ? [null, 2] : [null, null, 2]);
      const n = coords.shape.at(-2)!;
      const b = coords.shape.length === 2 ? 1 : coords.shape[0]!;
      const labels = toHostArray(options.pointLabels, 'pointLabels', coords.shape.length === 2 ? [n] : [b, n]);
      let coordData: ArrayLike<number> = coords.data.map((v, i) => (i % 2 === 0 ? v * sx : v * sy));
      let labelData: ArrayLike<number> = labels.data;
      let pb = b;
      if (b === 1 && batch > 1) {
        coordData = repeat(coordData, batch);
        labelData = repeat(labelData, batch);
        pb = batch;
      }
      if (prompts.boxes && pb !== batch)
        throw new SamCobotError('ERR_SHAPE', `Expected ${batch} point sets (one per box) for pointCoords but received ${pb}`);
      batch = pb;
      prompts.points = { coords: { data: coordData, shape: [pb, n, 2] }, labels: { data: labelData, shape: [pb, n] } };
    }
    let ownedMask: Tensor | null = null;
    if (options.maskInput !== undefined) {
      const side = 4 * (this.sam.config.imgSize / this.sam.config.patchSize);
      if (options.maskInput instanceof Tensor) {
        prompts.masks = options.maskInput;
      } else {
        const m = toHostArray(options.maskInput, 'maskInput', [null, 1, side, side]);
        ownedMask = Tensor.fromArray(Float32Array.from(m.data), m.shape, { device: embeddings.device });
        prompts.masks = ownedMask;
      }
    }
    const wasTraining = this.sam.isTraining;
    this.sam.eval();
    try {
      const { sparse, dense } = this.sam.promptEncoder.forward(prompts);
      const pe = this.sam.promptEncoder.densePe();
      const out = this.sam.maskDecoder.forward({ imageEmbeddings: embeddings, imagePe: pe, sparse, dense, multimaskOutput: options.multimaskOutput ?? true });
      const logits = this.sam.postprocessMasks(out.masks, [h, w], [H, W]);
      const [lowRes, scores, full] = await Promise.all([out.masks.toArray(), out.iouPred.toArray(), logits.toArray()]);
      const lowResShape = out.masks.shape;
      const fullShape = logits.shape;
      const scoreShape = out.iouPred.shape;
      for (const t of [sparse, dense, pe, out.masks, out.iouPred, logits]) t.dispose();
      const threshold = this.sam.config.maskThreshold;
      const masks = options.returnLogits ? Float32Array.from(full) : Uint8Array.from(full, (v) => (v > threshold ? 1 : 0));
      return {
        masks: { data: masks, shape: fullShape },
        scores: { data: Float32Array.from(scores), shape: scoreShape },
        lowResLogits: { data: Float32Array.from(lowRes), shape: lowResShape },
      };
    } finally {
      ownedMask?.dispose();
      if (wasTraining) this.sam.train();
    }
  }
}

function guessRank(value: HostArrayLike): number {
  if (Array.isArray(value)) return Array.isArray(value[0]) && Array.isArray((value[0] as unknown[])[0]) ? 3 : 2;
  return value.shape.length;
}

function repeat(data: ArrayLike<number>, times: number): Float64Array {
  const out = new Float64Array(data.length * times);
  for (let i = 0; i < times; i++) out.set(data, i * data.length);
  return out;
}
