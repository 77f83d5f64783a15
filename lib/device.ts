/** Backends and device selection. */
import { SamCobotError, fromNative } from './errors.js';
import { call, type BackendInfo, type MemoryStats } from './native.js';

export type Device = 'cpu' | 'cuda';
export type DeviceRequest = Device | 'auto';

/** Which backends were built into the addon and which work on this machine, with the reason. */
export function backends(): { cpu: BackendInfo; cuda: BackendInfo } {
  return call((a) => a.backends());
}

/** Resolves `'auto'` to CUDA when a GPU answers, else CPU; asking for CUDA where none is throws `ERR_NO_CUDA`. */
export function resolveDevice(request: DeviceRequest = 'cpu'): Device {
  if (request === 'cpu') return 'cpu';
  const { cuda } = backends();
  if (request === 'auto') return cuda.available ? 'cuda' : 'cpu';
  if (request === 'cuda') {
    if (!cuda.available) throw new SamCobotError('ERR_NO_CUDA', `Expected a working CUDA backend for device 'cuda' but received none (${cuda.reason})`);
    return 'cuda';
  }
  throw new SamCobotError('ERR_ARGUMENT', `Expected 'cpu', 'cuda' or 'auto' for device but received ${JSON.stringify(request)}`);
}

/** Waits until every op queued on the device has run; rejects with the first error raised by one. */
export async function synchronize(device: Device): Promise<void> {
  await call((a) => a.synchronize(device)).catch((error: unknown) => {
    throw fromNative(error);
  });
}

/** Arena statistics of the device's memory (bytes in use, cached, peak, system allocations). */
export function memoryStats(device: Device): MemoryStats {
  return call((a) => a.memoryStats(device));
}

/** Returns the device arena's cached blocks to the system. */
export function emptyCache(device: Device): void {
  call((a) => a.emptyCache(device));
}
