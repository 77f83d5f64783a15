/**
 * What every dataset hands out: one image and its objects, each object an exact 0/1 mask at the
 * image's size with its class label. Prompts are not stored: they are derived from the masks when a
 * batch is made (lib/data/batch.ts), after augmentation, so they always agree with the pixels.
 */
import type { DecodedImage } from '../image.js';

export interface SampleObject {
  /** (H, W) row-major, 0 or 1. */
  mask: Uint8Array;
  /** The class: the label value in a label map, 1 for binary masks. */
  label: number;
}

export interface Sample {
  /** The file stem or a generated name; metrics records and prediction grids refer to it. */
  name: string;
  /** RGB, interleaved, 8-bit. */
  image: DecodedImage;
  objects: SampleObject[];
}

export interface Dataset {
  length: number;
  /** Loads (or generates) sample `index`, 0 <= index < length. */
  get(index: number): Promise<Sample>;
  /** Sample names by index, when known without loading. */
  names?: string[];
}
