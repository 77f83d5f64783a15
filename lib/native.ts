/**
 * Loads the native addon. When it is missing or fails to load, one error lists the likely causes
 * and the command that fixes each.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SamCobotError, fromNative } from './errors.js';

/** The opaque tensor handle the addon hands out. */
export interface NativeTensor {
  readonly shape: number[];
  readonly dtype: string;
  readonly device: 'cpu' | 'cuda';
  readonly disposed: boolean;
  read(): Promise<ArrayBuffer>;
  reshape(shape: number[]): NativeTensor;
  dispose(): void;
}

export interface BackendInfo {
  built: boolean;
  available: boolean;
  reason: string;
}

export interface MemoryStats {
  bytesInUse: number;
  bytesCached: number;
  peakBytesInUse: number;
  systemAllocations: number;
}

export type Attrs = Record<string, number | boolean | string | number[] | undefined>;

export interface NativeAddon {
  empty(shape: number[], dtype: string, device: string): NativeTensor;
  fromBytes(data: ArrayBufferView | ArrayBuffer, shape: number[], dtype: string, device: string): NativeTensor;
  op(name: string, inputs: NativeTensor[], attrs?: Attrs, device?: string): NativeTensor[];
  transfer(tensor: NativeTensor, device: string): NativeTensor;
  synchronize(device: string): Promise<void>;
  backends(): { cpu: BackendInfo; cuda: BackendInfo };
  opNames(): string[];
  memoryStats(device: string): MemoryStats;
  emptyCache(device: string): void;
}

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function candidates(): string[] {
  const fromEnv = process.env.SAM_COBOT_ADDON ? [process.env.SAM_COBOT_ADDON] : [];
  return [...fromEnv, join(packageRoot, 'build', 'Release', 'sam_cobot.node'), join(packageRoot, 'build', 'Debug', 'sam_cobot.node')];
}

function load(): NativeAddon {
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  let lastError: unknown;
  for (const path of candidates()) {
    if (!existsSync(path)) {
      tried.push(`${path} (missing)`);
      continue;
    }
    try {
      return require(path) as NativeAddon;
    } catch (error) {
      lastError = error;
      tried.push(`${path} (${(error as Error).message.split('\n')[0]})`);
    }
  }
  throw new SamCobotError(
    'ERR_NATIVE_LOAD',
    [
      'Expected the sam-cobot native addon but it could not be loaded. Tried:',
      ...tried.map((t) => `  - ${t}`),
      'Likely causes and fixes:',
      '  - the build did not run or failed (install scripts disabled, no compiler): run `npm run build:native` and read its log;',
      '  - CMake or a C++17 compiler is missing: install cmake >= 3.19 and g++ >= 9, then `npm run build:native`;',
      '  - built for another Node.js version or machine: `npm rebuild sam-cobot` (or `npm run build:native` in this repository);',
      '  - a CUDA build whose libraries (cuBLAS, cudart) are not found at run time: set LD_LIBRARY_PATH to them, or rebuild CPU-only with `SAM_COBOT_CUDA=0 npm run build:native`;',
      '  - the driver is older than the CUDA toolkit used to build, or no kernel image for this GPU: build with `CUDAARCHS=<your sm> npm run build:native`.',
    ].join('\n'),
    { cause: lastError },
  );
}

let addon: NativeAddon | undefined;

/** The loaded addon (loaded on first use). */
export function native(): NativeAddon {
  addon ??= load();
  return addon;
}

/** Calls into the addon, turning its errors into SamCobotError. */
export function call<T>(fn: (addon: NativeAddon) => T): T {
  const a = native();
  try {
    return fn(a);
  } catch (error) {
    throw fromNative(error);
  }
}
