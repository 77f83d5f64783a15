/** sam-cobot: the public surface. */
export { SamCobotError, type ErrorCode } from './errors.js';
export { backends, resolveDevice, synchronize, memoryStats, emptyCache, type Device, type DeviceRequest } from './device.js';
export { Tensor, withScope, type DType, type TensorOptions, type TypedArray } from './tensor.js';
export * as ops from './ops/index.js';
