/**
 * One entry point for model files: safetensors or a PyTorch checkpoint, told apart by their first
 * bytes rather than by their names.
 *
 * A safetensors file starts with an 8-byte header length that fits in the file, followed by `{`;
 * a zip (`torch.save` since 1.6) starts with `PK\x03\x04`; a legacy `torch.save` file starts
 * with a pickle PROTO opcode (0x80). The safetensors test comes first: a zip's ninth byte is never
 * `{`, so the two cannot be confused.
 */
import type { DeviceRequest } from '../device.js';
import type { Tensor } from '../tensor.js';
import { withFile, fileError } from './binary-file.js';
import { readPth } from './pth.js';
import { readSafetensors } from './safetensors.js';

export interface LoadStateDictOptions {
  /** Where the tensors go (default `'cpu'`). */
  device?: DeviceRequest;
  /** Read only these tensors (each must exist). */
  keys?: Iterable<string>;
  /** For a training checkpoint (.pth): the top-level entry holding the state dict, when the automatic choice is wrong. */
  stateDictKey?: string;
}

export interface StateDict {
  /** The tensors, in file order. */
  tensors: Map<string, Tensor>;
  /** safetensors `__metadata__` (empty for .pth files). */
  metadata: Record<string, string>;
  /** The other top-level entries of a .pth training checkpoint as plain values (empty otherwise). */
  extra: Record<string, unknown>;
  format: 'safetensors' | 'pth-zip' | 'pth-legacy';
}

type Format = StateDict['format'];

async function sniff(path: string): Promise<Format> {
  return withFile(path, async (file) => {
    const head = await file.read(0, Math.min(file.size, 9), 'file signature');
    if (head.length === 9 && head[8] === 0x7b && new DataView(head.buffer).getBigUint64(0, true) <= BigInt(file.size - 8)) return 'safetensors';
    if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'pth-zip';
    if (head[0] === 0x80) return 'pth-legacy';
    throw fileError(path, 'file signature', 'a safetensors file or a PyTorch checkpoint (.pth, zip or legacy)', `the bytes ${[...head].map((b) => b.toString(16).padStart(2, '0')).join(' ')}`);
  });
}

/**
 * Reads the tensors of a model file: safetensors (with its metadata) or a PyTorch checkpoint, zip
 * or legacy, read by a restricted unpickler that never runs code (a training checkpoint's other
 * entries come back in `extra`). Element types map to tensor dtypes as `readSafetensors` and
 * `readPth` describe. Every problem with the file is an `ERR_FILE` error.
 */
export async function loadStateDict(path: string, options: LoadStateDictOptions = {}): Promise<StateDict> {
  const format = await sniff(path);
  if (format === 'safetensors') {
    const { tensors, metadata } = await readSafetensors(path, options);
    return { tensors, metadata, extra: {}, format };
  }
  const { tensors, extra } = await readPth(path, options);
  return { tensors, metadata: {}, extra, format };
}
