/**
 * Pictures of a run, without a plotting dependency: training curves as SVG (written as .svg, or
 * rasterised to .png by sharp), and a PNG grid of predictions over their images.
 *
 * In the grid each cell is one object: its image scaled to fit the cell, the prediction as a blue
 * tint and the target as a green contour, so misses (green line around untinted pixels) and false
 * positives (tint outside the line) both show.
 */
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp from 'sharp';
import { SamCobotError, describe } from '../errors.js';
import type { DecodedImage } from '../image.js';

export interface CurveSeries {
  name: string;
  /** (x, y) points; non-finite y values leave a gap. */
  points: Array<[number, number]>;
}

export interface CurveOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Default 720 × 420. */
  width?: number;
  height?: number;
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** About five round tick values (1, 2 or 5 × 10^k apart) covering [lo, hi]. */
function ticks(lo: number, hi: number): { values: number[]; decimals: number } {
  const raw = (hi - lo) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const values: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) values.push(v);
  return { values, decimals: Math.max(0, -Math.floor(Math.log10(step))) };
}

function extent(values: number[]): [number, number] {
  if (values.length === 0) return [0, 1];
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) {
    const pad = Math.abs(lo) * 0.1 || 1;
    lo -= pad;
    hi += pad;
  }
  return [lo, hi];
}

/** Line chart of the series with axes, ticks, labels and a legend, as a standalone SVG document. */
export function curvesSvg(series: CurveSeries[], options: CurveOptions = {}): string {
  if (!Array.isArray(series)) throw new SamCobotError('ERR_ARGUMENT', `Expected an array of {name, points} for series but received ${describe(series)}`);
  const width = options.width ?? 720;
  const height = options.height ?? 420;
  const left = 64;
  const right = 160;
  const top = 36;
  const bottom = 48;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const finite = series.flatMap((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
  const [x0, x1] = extent(finite.map(([x]) => x));
  let [y0, y1] = extent(finite.map(([, y]) => y));
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const px = (x: number): number => left + ((x - x0) / (x1 - x0)) * plotW;
  const py = (y: number): number => top + (1 - (y - y0) / (y1 - y0)) * plotH;
  const f = (v: number): string => v.toFixed(1);

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  if (options.title) parts.push(`<text x="${f(left + plotW / 2)}" y="22" text-anchor="middle" font-size="15">${escapeXml(options.title)}</text>`);
  const xt = ticks(x0, x1);
  const yt = ticks(y0, y1);
  for (const v of xt.values) {
    parts.push(`<line x1="${f(px(v))}" y1="${top}" x2="${f(px(v))}" y2="${top + plotH}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${f(px(v))}" y="${top + plotH + 16}" text-anchor="middle">${v.toFixed(xt.decimals)}</text>`);
  }
  for (const v of yt.values) {
    parts.push(`<line x1="${left}" y1="${f(py(v))}" x2="${left + plotW}" y2="${f(py(v))}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${left - 6}" y="${f(py(v) + 4)}" text-anchor="end">${v.toFixed(yt.decimals)}</text>`);
  }
  parts.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  if (options.xLabel) parts.push(`<text x="${f(left + plotW / 2)}" y="${height - 10}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  if (options.yLabel) parts.push(`<text transform="translate(16 ${f(top + plotH / 2)}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`);
  if (finite.length === 0) parts.push(`<text x="${f(left + plotW / 2)}" y="${f(top + plotH / 2)}" text-anchor="middle" fill="#888">no data</text>`);

  series.forEach((s, k) => {
    const colour = PALETTE[k % PALETTE.length]!;
    // A non-finite value ends the current run of points, so gaps stay visible.
    let run: Array<[number, number]> = [];
    const flush = (): void => {
      if (run.length === 1) parts.push(`<circle cx="${f(run[0]![0])}" cy="${f(run[0]![1])}" r="2.5" fill="${colour}"/>`);
      else if (run.length > 1) parts.push(`<polyline points="${run.map(([x, y]) => `${f(x)},${f(y)}`).join(' ')}" fill="none" stroke="${colour}" stroke-width="1.8" stroke-linejoin="round"/>`);
      run = [];
    };
    for (const [x, y] of s.points) {
      if (Number.isFinite(x) && Number.isFinite(y)) run.push([px(x), py(y)]);
      else flush();
    }
    flush();
    const ly = top + 10 + 20 * k;
    parts.push(`<line x1="${left + plotW + 12}" y1="${ly}" x2="${left + plotW + 36}" y2="${ly}" stroke="${colour}" stroke-width="2.5"/>`);
    parts.push(`<text x="${left + plotW + 42}" y="${ly + 4}">${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** Writes the curves as SVG, or as PNG when `path` ends in .png. */
export async function writeCurves(path: string, series: CurveSeries[], options: CurveOptions = {}): Promise<void> {
  const svg = curvesSvg(series, options);
  if (extname(path).toLowerCase() === '.png') await sharp(Buffer.from(svg)).png().toFile(path);
  else await writeFile(path, svg);
}

export interface GridItem {
  image: DecodedImage;
  /** (H, W), non-zero = object. */
  target: ArrayLike<number>;
  /** (H, W), above 0 = predicted object (0/1 masks, or logits). */
  prediction: ArrayLike<number>;
}

export interface GridOptions {
  /** Cells per row (default 4). */
  columns?: number;
  /** Cell side in pixels (default 256). */
  cellSize?: number;
}

const PREDICTION_TINT = [30, 144, 255];
const TARGET_LINE = [0, 230, 64];
const GAP = 4;

/** Nearest resize of a (H, W) plane to (h, w), centres aligned; true where above 0. */
function resizeMask(mask: ArrayLike<number>, W: number, H: number, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(H - 1, Math.floor(((y + 0.5) * H) / h));
    for (let x = 0; x < w; x++) out[y * w + x] = mask[sy * W + Math.min(W - 1, Math.floor(((x + 0.5) * W) / w))]! > 0 ? 1 : 0;
  }
  return out;
}

/** One cell: the image fitted in, tinted where predicted, outlined where the target's border is. */
async function renderCell(item: GridItem, cell: number): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { image } = item;
  const size = image.width * image.height;
  if (item.target.length !== size || item.prediction.length !== size)
    throw new SamCobotError('ERR_SHAPE', `Expected target and prediction of ${image.width}x${image.height} = ${size} values for a grid item but received ${item.target.length} and ${item.prediction.length}`);
  const scale = cell / Math.max(image.width, image.height);
  const w = Math.max(1, Math.round(image.width * scale));
  const h = Math.max(1, Math.round(image.height * scale));
  const pixels = new Uint8Array(
    await sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), { raw: { width: image.width, height: image.height, channels: 3 } })
      .resize(w, h, { kernel: 'linear', fit: 'fill' })
      .raw()
      .toBuffer(),
  );
  const predicted = resizeMask(item.prediction, image.width, image.height, w, h);
  const target = resizeMask(Array.from(item.target, (v) => (v !== 0 ? 1 : 0)), image.width, image.height, w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const border = target[i] && (x === 0 || y === 0 || x === w - 1 || y === h - 1 || !target[i - 1] || !target[i + 1] || !target[i - w] || !target[i + w]);
      for (let c = 0; c < 3; c++) {
        if (border) pixels[3 * i + c] = TARGET_LINE[c]!;
        else if (predicted[i]) pixels[3 * i + c] = Math.round(pixels[3 * i + c]! * 0.5 + PREDICTION_TINT[c]! * 0.5);
      }
    }
  }
  return { data: pixels, width: w, height: h };
}

/** Writes a PNG grid of the items (one cell each, row by row) and returns its size. */
export async function predictionGridPng(items: GridItem[], path: string, options: GridOptions = {}): Promise<{ width: number; height: number }> {
  const columns = options.columns ?? 4;
  const cell = options.cellSize ?? 256;
  if (!Number.isInteger(columns) || columns < 1) throw new SamCobotError('ERR_ARGUMENT', `Expected a positive integer for columns but received ${describe(columns)}`);
  if (!Number.isInteger(cell) || cell < 8) throw new SamCobotError('ERR_ARGUMENT', `Expected an integer of at least 8 for cellSize but received ${describe(cell)}`);
  if (!Array.isArray(items) || items.length === 0) throw new SamCobotError('ERR_ARGUMENT', `Expected at least one item for predictionGridPng but received ${describe(items)}`);
  const cols = Math.min(columns, items.length);
  const rows = Math.ceil(items.length / cols);
  const width = cols * cell + (cols + 1) * GAP;
  const height = rows * cell + (rows + 1) * GAP;
  const canvas = new Uint8Array(width * height * 3).fill(40);
  const cells = await Promise.all(items.map((item) => renderCell(item, cell)));
  cells.forEach((c, k) => {
    const ox = GAP + (k % cols) * (cell + GAP) + Math.floor((cell - c.width) / 2);
    const oy = GAP + Math.floor(k / cols) * (cell + GAP) + Math.floor((cell - c.height) / 2);
    for (let y = 0; y < c.height; y++) canvas.set(c.data.subarray(y * c.width * 3, (y + 1) * c.width * 3), ((oy + y) * width + ox) * 3);
  });
  await sharp(canvas, { raw: { width, height, channels: 3 } }).png().toFile(path);
  return { width, height };
}
