/** The bridge from typed op wrappers to the native op table. */
import { call, type Attrs } from '../native.js';
import { Tensor } from '../tensor.js';
import type { Device } from '../device.js';

/**
 * Runs a native op by name and wraps its outputs. Validation happens now (a bad shape throws here);
 * the work is queued on the inputs' device.
 */
export function runOp(name: string, inputs: Tensor[], attrs: Attrs = {}, device?: Device): Tensor[] {
  return call((a) => a.op(name, inputs.map((t) => t.handle), attrs, device)).map((h) => new Tensor(h));
}
