/** Typed entry points to the native op table, one file per op family. */
export { runOp } from './core.js';
export * from './attention.js';
export * from './elementwise.js';
export * from './gemm.js';
export * from './layout.js';
export * from './activation.js';
export * from './conv.js';
export * from './norm.js';
export * from './cobot.js';
export * from './loss.js';
export * from './optim.js';
