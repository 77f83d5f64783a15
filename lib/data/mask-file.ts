/**
 * Reads a mask file as a label map with its values untouched: 8- and 16-bit gray PNG/TIFF keep
 * every label value (sharp converts to 8-bit sRGB unless told the colourspace and depth, which would
 * scale 16-bit labels down). RGB masks whose three channels agree are read as gray; other 8-bit RGB
 * (and palette) masks are colour-coded label maps, and each colour becomes the label
 * (r << 16) | (g << 8) | b, so black stays 0 = background. An alpha channel is dropped.
 */
import sharp, { type OutputInfo } from 'sharp';
import { SamCobotError } from '../errors.js';
import type { LabelMap } from './mask-objects.js';

export interface LabelMapFile {
  /** (H, W) label values. */
  labels: LabelMap;
  width: number;
  height: number;
}

function fileError(path: string, what: string): SamCobotError {
  return new SamCobotError('ERR_FILE', `Expected a readable 8- or 16-bit mask (PNG, TIFF, ...) for ${path} but received ${what}`);
}

export async function readLabelMap(path: string): Promise<LabelMapFile> {
  let decoded: { data: Buffer; info: OutputInfo };
  let wide: boolean;
  try {
    const meta = await sharp(path, { failOn: 'error' }).metadata();
    const colourChannels = (meta.channels ?? 0) - (meta.hasAlpha ? 1 : 0);
    wide = meta.depth === 'ushort' || meta.depth === 'short';
    if (!wide && meta.depth !== 'uchar' && meta.depth !== 'char') throw fileError(path, `a ${meta.depth} image`);
    const gray = colourChannels === 1;
    decoded = await sharp(path, { failOn: 'error' })
      .removeAlpha()
      .toColourspace(gray ? (wide ? 'grey16' : 'b-w') : wide ? 'rgb16' : 'srgb')
      .raw({ depth: wide ? 'ushort' : 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    if (error instanceof SamCobotError) throw error;
    throw fileError(path, `an error: ${(error as Error).message}`);
  }
  const { data, info } = decoded;
  const size = info.width * info.height;
  const values = wide ? new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (info.channels === 1) return { labels: values.slice(), width: info.width, height: info.height };
  if (info.channels !== 3) throw fileError(path, `${info.channels} channels`);
  let equal = true;
  for (let i = 0; i < size && equal; i++) equal = values[3 * i] === values[3 * i + 1] && values[3 * i] === values[3 * i + 2];
  if (equal) {
    const labels = wide ? new Uint16Array(size) : new Uint8Array(size);
    for (let i = 0; i < size; i++) labels[i] = values[3 * i]!;
    return { labels, width: info.width, height: info.height };
  }
  if (wide) throw fileError(path, 'a 16-bit colour image (use a single-channel label map)');
  const labels = new Uint32Array(size);
  for (let i = 0; i < size; i++) labels[i] = (values[3 * i]! << 16) | (values[3 * i + 1]! << 8) | values[3 * i + 2]!;
  return { labels, width: info.width, height: info.height };
}
