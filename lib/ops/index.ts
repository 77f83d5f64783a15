/** Typed entry points to the native op table, one file per op family. */
export { runOp } from './core.js';
export * from './elementwise.js';
export * from './gemm.js';
