/** Image decoding and SAM's official preprocessing (sam-architecture.md §1), through sharp. */
import sharp, { type Sharp } from 'sharp';
import { SamCobotError } from './errors.js';
import type { SamConfig } from './nn/sam-config.js';

/** A path, an encoded image in a Buffer, or raw interleaved pixels. */
export type ImageInput = string | Buffer | RawImage;

export interface RawImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  /** 1 (gray), 3 (RGB) or 4 (RGBA); default 3. */
  channels?: 1 | 3 | 4;
}

export interface DecodedImage {
  /** RGB, interleaved, 8-bit. */
  data: Uint8Array;
  width: number;
  height: number;
}

function describeInput(image: ImageInput): string {
  if (typeof image === 'string') return image;
  if (Buffer.isBuffer(image)) return `a ${image.length}-byte buffer`;
  return `raw ${image.width}x${image.height} pixels`;
}

/** Decodes any sharp-readable image (PNG, JPEG, TIFF, WebP; 8/16-bit; gray/RGB/RGBA) to 8-bit RGB. */
export async function decodeImage(image: ImageInput): Promise<DecodedImage> {
  let pipeline: Sharp;
  if (typeof image === 'string' || Buffer.isBuffer(image)) {
    pipeline = sharp(image, { failOn: 'error' });
  } else if (image && typeof image === 'object' && 'data' in image) {
    const channels = image.channels ?? 3;
    if (!Number.isInteger(image.width) || !Number.isInteger(image.height) || image.width <= 0 || image.height <= 0 || image.data.length !== image.width * image.height * channels)
      throw new SamCobotError('ERR_ARGUMENT', `Expected ${image.width}x${image.height}x${channels} = ${image.width * image.height * channels} bytes for image.data but received ${image.data.length}`);
    pipeline = sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), { raw: { width: image.width, height: image.height, channels } });
  } else {
    throw new SamCobotError('ERR_ARGUMENT', `Expected a path, a Buffer or {data, width, height} for image but received ${typeof image}`);
  }
  try {
    const { data, info } = await pipeline.toColourspace('srgb').removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded ${info.channels} channels`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch (error) {
    if (error instanceof SamCobotError) throw error;
    throw new SamCobotError('ERR_FILE', `Expected a readable image (PNG, JPEG, TIFF, WebP) for ${describeInput(image)} but received an error: ${(error as Error).message}`);
  }
}

/** ResizeLongestSide.get_preprocess_shape: (h', w') with round-half-up. */
export function preprocessShape(height: number, width: number, longest: number): [number, number] {
  const scale = longest / Math.max(height, width);
  return [Math.floor(height * scale + 0.5), Math.floor(width * scale + 0.5)];
}

/**
 * Resizes (longest side to S, bilinear), normalises with the pixel mean/std and zero-pads
 * bottom/right to S×S: a (1, 3, S, S) NCHW float32 array, plus the resized size (h', w').
 */
export async function preprocessImage(image: DecodedImage, config: SamConfig): Promise<{ pixels: Float32Array; inputSize: [number, number] }> {
  const S = config.imgSize;
  const [h, w] = preprocessShape(image.height, image.width, S);
  const resized =
    h === image.height && w === image.width
      ? image.data
      : new Uint8Array(
          await sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), { raw: { width: image.width, height: image.height, channels: 3 } })
            .resize(w, h, { kernel: 'linear', fit: 'fill' })
            .raw()
            .toBuffer(),
        );
  const pixels = new Float32Array(3 * S * S);
  for (let c = 0; c < 3; c++) {
    const mean = config.pixelMean[c]!;
    const std = config.pixelStd[c]!;
    const plane = c * S * S;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) pixels[plane + y * S + x] = Math.fround(Math.fround(resized[(y * w + x) * 3 + c]! - mean) / std);
  }
  return { pixels, inputSize: [h, w] };
}
