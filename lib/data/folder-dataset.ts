/**
 * A dataset of two flat folders: images (PNG, JPEG, TIFF, WebP; 8- or 16-bit; gray or RGB) and
 * masks paired by file stem (`images/case7.jpg` with `masks/case7.png`, or `masks/case7_mask.png`
 * with `maskSuffix: '_mask'`). Masks are binary or label maps; lib/data/mask-objects.ts turns them
 * into objects.
 *
 * Nothing is skipped silently. `open` pairs the files and checks every pair from the file headers
 * (readable, same size); each problem names its files. Without `skipBad` any problem throws one
 * ERR_FILE listing them all; with `skipBad` the bad entries are dropped and counted in `skipped`.
 * `check({decode: true})` decodes every file as well, to catch truncated data behind a good header.
 */
import { readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import { SamCobotError, describe } from '../errors.js';
import { decodeImage } from '../image.js';
import { readLabelMap } from './mask-file.js';
import { objectsFromLabelMap, resolveObjectOptions, type MaskObjectOptions } from './mask-objects.js';
import type { Dataset, Sample } from './sample.js';

export interface FolderDatasetOptions extends MaskObjectOptions {
  /** The images folder. */
  images: string;
  /** The masks folder. */
  masks: string;
  /** Drop bad pairs (counted in `skipped`) instead of throwing (default false). */
  skipBad?: boolean;
  /** File extensions considered, lower case with the dot (default .png .jpg .jpeg .tif .tiff .webp). */
  extensions?: string[];
  /** A mask's stem is the image's stem plus this suffix (default ''). */
  maskSuffix?: string;
}

export type DatasetProblemKind = 'missing-mask' | 'missing-image' | 'duplicate' | 'unreadable' | 'size-mismatch';

export interface DatasetProblem {
  kind: DatasetProblemKind;
  /** The files concerned, as full paths. */
  files: string[];
  /** One line naming the files and what is wrong. */
  message: string;
}

export interface DatasetReport {
  /** Pairs that passed. */
  pairs: number;
  problems: DatasetProblem[];
  /** Entries dropped because of a problem (0 unless skipBad). */
  skipped: number;
}

export interface FilePair {
  name: string;
  image: string;
  mask: string;
}

const DEFAULT_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.tif', '.tiff', '.webp'];
const CHECK_CONCURRENCY = 8;
const LISTED_PROBLEMS = 50;

async function listStems(folder: string, extensions: Set<string>, role: string): Promise<Map<string, string[]>> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    throw new SamCobotError('ERR_FILE', `Expected a readable folder for ${role} but received ${describe(folder)} (${(error as Error).message})`);
  }
  const stems = new Map<string, string[]>();
  for (const entry of entries) {
    const ext = extname(entry.name);
    if (!entry.isFile() || !extensions.has(ext.toLowerCase())) continue;
    const stem = entry.name.slice(0, entry.name.length - ext.length);
    const list = stems.get(stem) ?? [];
    list.push(join(folder, entry.name));
    stems.set(stem, list);
  }
  return stems;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** (width, height) from the header, or by decoding the file (a label map for masks). */
async function sizeOf(path: string, role: 'image' | 'mask', decode: boolean): Promise<[number, number]> {
  if (decode) {
    const decoded = role === 'image' ? await decodeImage(path) : await readLabelMap(path);
    return [decoded.width, decoded.height];
  }
  const meta = await sharp(path, { failOn: 'error' }).metadata();
  if (!meta.width || !meta.height) throw new Error('no image size in the header');
  return [meta.width, meta.height];
}

/** One problem for a pair, or null when both files read and agree in size. */
async function checkPair(pair: FilePair, decode: boolean): Promise<DatasetProblem | null> {
  const sizes: Array<[number, number]> = [];
  for (const role of ['image', 'mask'] as const) {
    try {
      sizes.push(await sizeOf(pair[role], role, decode));
    } catch (error) {
      return { kind: 'unreadable', files: [pair[role]], message: `unreadable: ${pair[role]} (${(error as Error).message})` };
    }
  }
  const [[iw, ih], [mw, mh]] = sizes as [[number, number], [number, number]];
  if (iw !== mw || ih !== mh)
    return { kind: 'size-mismatch', files: [pair.image, pair.mask], message: `size mismatch: ${pair.image} is ${iw}x${ih} but ${pair.mask} is ${mw}x${mh}` };
  return null;
}

/** Image/mask pairs from two folders; create with `await FolderDataset.open({images, masks})`. */
export class FolderDataset implements Dataset {
  readonly options: Readonly<FolderDatasetOptions>;
  /** The usable pairs, sorted by name. */
  pairs: FilePair[];
  /** Files that found no partner (or share a stem): never usable, reported by every check. */
  private readonly unpaired: DatasetProblem[];
  /** Problems of the pairs dropped so far (skipBad). */
  private readonly dropped: DatasetProblem[] = [];

  private constructor(options: FolderDatasetOptions, pairs: FilePair[], unpaired: DatasetProblem[]) {
    this.options = options;
    this.pairs = pairs;
    this.unpaired = unpaired;
  }

  /** Lists and pairs both folders, then checks every pair from the headers (see {@link check}). */
  static async open(options: FolderDatasetOptions): Promise<FolderDataset> {
    if (!options || typeof options.images !== 'string' || typeof options.masks !== 'string')
      throw new SamCobotError('ERR_ARGUMENT', `Expected {images: folder, masks: folder} for FolderDataset options but received ${describe(options)}`);
    resolveObjectOptions(options);
    const extensions = new Set((options.extensions ?? DEFAULT_EXTENSIONS).map((e) => e.toLowerCase()));
    const suffix = options.maskSuffix ?? '';
    const [images, masks] = await Promise.all([listStems(options.images, extensions, 'images'), listStems(options.masks, extensions, 'masks')]);
    const unpaired: DatasetProblem[] = [];
    const pairs: FilePair[] = [];
    const maskUsed = new Set<string>();
    for (const [stem, files] of images) {
      const maskFiles = masks.get(stem + suffix);
      if (maskFiles) maskUsed.add(stem + suffix);
      if (files.length > 1) {
        unpaired.push({ kind: 'duplicate', files, message: `several images named ${stem}: ${files.join(', ')}` });
      } else if (!maskFiles) {
        unpaired.push({ kind: 'missing-mask', files, message: `no mask for ${files[0]} (looked for ${join(options.masks, `${stem}${suffix}.*`)})` });
      } else if (maskFiles.length > 1) {
        unpaired.push({ kind: 'duplicate', files: maskFiles, message: `several masks named ${stem}${suffix}: ${maskFiles.join(', ')}` });
      } else {
        pairs.push({ name: stem, image: files[0]!, mask: maskFiles[0]! });
      }
    }
    for (const [stem, files] of masks)
      if (!maskUsed.has(stem)) unpaired.push({ kind: 'missing-image', files, message: `no image for ${files.join(', ')}` });
    pairs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const dataset = new FolderDataset(options, pairs, unpaired);
    await dataset.check();
    return dataset;
  }

  get length(): number {
    return this.pairs.length;
  }

  get names(): string[] {
    return this.pairs.map((p) => p.name);
  }

  /** Every problem found so far: unpaired files and the pairs dropped (skipBad). */
  get problems(): DatasetProblem[] {
    return [...this.unpaired, ...this.dropped];
  }

  /** Entries dropped because of a problem, one per problem (0 unless skipBad). */
  get skipped(): number {
    return this.options.skipBad ? this.unpaired.length + this.dropped.length : 0;
  }

  /**
   * Checks every pair (readable, image and mask of the same size): from the headers, or by decoding
   * both files with `decode`. Throws one ERR_FILE listing every problem (the report is its
   * `cause`), or with skipBad drops the bad pairs; returns the report either way.
   */
  async check(options: { decode?: boolean } = {}): Promise<DatasetReport> {
    const found = await mapLimit(this.pairs, CHECK_CONCURRENCY, (pair) => checkPair(pair, !!options.decode));
    const fresh = found.filter((p): p is DatasetProblem => p !== null);
    const problems = [...this.unpaired, ...this.dropped, ...fresh];
    const report: DatasetReport = { pairs: this.pairs.length - fresh.length, problems, skipped: 0 };
    if (problems.length === 0) return report;
    if (!this.options.skipBad) {
      const listed = problems.slice(0, LISTED_PROBLEMS).map((p) => `\n  - ${p.message}`).join('');
      const more = problems.length > LISTED_PROBLEMS ? `\n  ... and ${problems.length - LISTED_PROBLEMS} more` : '';
      throw new SamCobotError(
        'ERR_FILE',
        `Expected readable image/mask pairs of equal size for the dataset in ${this.options.images} and ${this.options.masks} but received ${problems.length} problem(s) (pass skipBad to skip them):${listed}${more}`,
        { cause: report },
      );
    }
    this.pairs = this.pairs.filter((_, i) => found[i] === null);
    this.dropped.push(...fresh);
    report.skipped = this.skipped;
    return report;
  }

  /** Decodes pair `index`: the image as 8-bit RGB and the mask's objects. Errors name the file. */
  async get(index: number): Promise<Sample> {
    const pair = this.pairs[index];
    if (!pair || !Number.isInteger(index)) throw new SamCobotError('ERR_ARGUMENT', `Expected an index in [0, ${this.pairs.length}) for get but received ${describe(index)}`);
    const [image, mask] = await Promise.all([decodeImage(pair.image), readLabelMap(pair.mask)]);
    if (image.width !== mask.width || image.height !== mask.height)
      throw new SamCobotError('ERR_FILE', `Expected a ${image.width}x${image.height} mask for ${pair.image} but received ${mask.width}x${mask.height} in ${pair.mask}`);
    return { name: pair.name, image, objects: objectsFromLabelMap(mask.labels, mask.width, mask.height, this.options) };
  }
}
