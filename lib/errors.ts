/** Stable error codes carried by every {@link SamCobotError}. */
export type ErrorCode =
  | 'ERR_SHAPE'
  | 'ERR_DTYPE'
  | 'ERR_DEVICE'
  | 'ERR_NO_CUDA'
  | 'ERR_FILE'
  | 'ERR_ARGUMENT'
  | 'ERR_DISPOSED'
  | 'ERR_UNSUPPORTED'
  | 'ERR_OUT_OF_MEMORY'
  | 'ERR_RUNTIME'
  | 'ERR_NATIVE_LOAD';

/**
 * The one error type of the library. `code` is stable across versions; the message has the form
 * `Expected <what> for <name> but received <value>`.
 */
export class SamCobotError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SamCobotError';
    this.code = code;
  }
}

/** Builds the project's message shape. */
export function expected(code: ErrorCode, what: string, name: string, received: unknown): SamCobotError {
  return new SamCobotError(code, `Expected ${what} for ${name} but received ${describe(received)}`);
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(describe).join(',')}]`;
  if (value === null || value === undefined || typeof value !== 'object') return String(value);
  return value.constructor?.name ?? 'an object';
}

/** Turns an error thrown by the addon (a plain Error with `code`) into a SamCobotError. */
export function fromNative(error: unknown): unknown {
  if (error instanceof SamCobotError) return error;
  if (error instanceof Error && typeof (error as { code?: unknown }).code === 'string') {
    const wrapped = new SamCobotError((error as unknown as { code: ErrorCode }).code, error.message);
    return wrapped;
  }
  return error;
}
