/**
 * A restricted unpickler for PyTorch checkpoints: it decodes the pickle subset `torch.save` emits
 * for state dicts and training checkpoints, and refuses everything else.
 *
 * Python's pickle is a small stack machine whose GLOBAL/REDUCE/BUILD/NEWOBJ/INST/OBJ opcodes import
 * and call arbitrary code; `torch.load` without `weights_only` therefore runs whatever a file asks.
 * Here nothing is imported or called. Values are plain data (numbers, strings, bytes, lists,
 * tuples, dicts, sets); GLOBAL/STACK_GLOBAL accept only an allow-list of names, each of which maps
 * to a data constructor implemented below (OrderedDict, tensor and parameter rebuilds, storage type
 * tags, torch.Size, torch.device, dtypes, bytes and sets). Any other name, and every opcode outside
 * the supported set, is an `ERR_FILE` error naming the opcode or global and its byte offset.
 * Storages come from BINPERSID through the caller's `persistentLoad`; tensors are decoded as
 * {@link TorchTensor} references (storage, offset, shape, stride) and read later by the caller.
 *
 * Every read is bounds-checked; running off the end raises {@link TruncatedPickleError}. Each opcode
 * consumes at least one byte and does work proportional to what it pops, so decoding time and
 * memory are linear in the input size.
 */
import { SamCobotError } from '../errors.js';
import { fileError } from './binary-file.js';
import type { StoredDType } from './stored-tensor.js';

/** A Python tuple (kept apart from lists, which are mutable JS arrays). */
export class PyTuple {
  constructor(readonly items: readonly unknown[]) {}
}

export type PyKey = string | number | bigint | boolean | null;

/** A Python dict or OrderedDict, in insertion order. */
export class PyDict {
  readonly map = new Map<PyKey, unknown>();
}

/** A Python set or frozenset. */
export class PySet {
  readonly items: unknown[] = [];
}

/** An allow-listed global that is data rather than a constructor (a storage type or a dtype). */
export class PyGlobal {
  constructor(readonly qualifiedName: string) {}
}

/** A storage referenced by a persistent id: `count` elements of `dtype`, named `key` in the archive. */
export class TorchStorage {
  constructor(
    readonly key: string,
    readonly dtype: StoredDType,
    readonly count: number,
    readonly location: string,
  ) {}
}

/** A tensor as `_rebuild_tensor_v2` describes it: a strided view of a storage (validated to lie inside it). */
export class TorchTensor {
  constructor(
    readonly storage: TorchStorage,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {}
}

/** Running off the end of the data. Readers that load a file in pieces catch this to read more. */
export class TruncatedPickleError extends SamCobotError {}

/** PyTorch storage type names and the element type each holds. */
export const storageDTypes: Readonly<Record<string, StoredDType>> = {
  'torch.FloatStorage': 'F32',
  'torch.DoubleStorage': 'F64',
  'torch.HalfStorage': 'F16',
  'torch.BFloat16Storage': 'BF16',
  'torch.LongStorage': 'I64',
  'torch.IntStorage': 'I32',
  'torch.ShortStorage': 'I16',
  'torch.CharStorage': 'I8',
  'torch.ByteStorage': 'U8',
  'torch.BoolStorage': 'BOOL',
};

const dtypeNames = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool', 'float', 'double', 'half', 'long', 'int', 'short'];

/** Globals that are data, not calls. */
const tagGlobals = new Set([...Object.keys(storageDTypes), ...dtypeNames.map((d) => `torch.${d}`)]);

export interface UnpickleOptions {
  /** The file and the part of it being decoded, for error messages (e.g. `weights/data.pkl`). */
  file: string;
  part: string;
  /** Where decoding starts in `bytes` (default 0). */
  start?: number;
  /** Turns a BINPERSID id into a value (a {@link TorchStorage}); throw to refuse it. Without it, BINPERSID is refused. */
  persistentLoad?: (pid: unknown, offset: number) => unknown;
}

/** Opcode names, for messages about refused opcodes. */
const opcodeNames: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4a: 'BININT',
  0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE',
  0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND',
  0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET',
  0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT',
  0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2',
  0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME',
  0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

/** A short description of a decoded value for error messages. */
export function describePy(value: unknown): string {
  if (value === null) return 'None';
  if (typeof value === 'string') return `the str ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value)}`;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return `${typeof value === 'boolean' ? 'the bool' : 'the number'} ${value}`;
  if (value instanceof PyTuple) return `a tuple of ${value.items.length}`;
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (value instanceof PyDict) return `a dict of ${value.map.size}`;
  if (value instanceof PyGlobal) return `the global ${value.qualifiedName}`;
  if (value instanceof Reducer) return `the callable ${value.qualifiedName}`;
  if (value instanceof TorchStorage) return `a storage`;
  if (value instanceof TorchTensor) return `a tensor`;
  if (value instanceof Uint8Array) return `bytes of length ${value.length}`;
  if (value instanceof PySet) return `a set of ${value.items.length}`;
  return 'an unknown value';
}

/** An allow-listed callable: REDUCE applies `apply` to the argument tuple. */
class Reducer {
  constructor(
    readonly qualifiedName: string,
    readonly apply: (args: readonly unknown[], fail: Fail) => unknown,
  ) {}
}

type Fail = (what: string, received: string) => never;

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function countTuple(value: unknown, name: string, fail: Fail): number[] {
  if (!(value instanceof PyTuple) || !value.items.every(isCount)) fail(`${name} as a tuple of non-negative integers`, describePy(value));
  return [...(value as PyTuple).items] as number[];
}

/** `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`. */
function rebuildTensor(args: readonly unknown[], fail: Fail): TorchTensor {
  if (args.length !== 6 && args.length !== 7) fail('6 or 7 arguments to _rebuild_tensor_v2', `${args.length}`);
  const [storage, offset, size, stride, requiresGrad] = args;
  if (!(storage instanceof TorchStorage)) fail('a storage (a persistent id) as the first argument of _rebuild_tensor_v2', describePy(storage));
  if (!isCount(offset)) fail('a non-negative storage offset', describePy(offset));
  const shape = countTuple(size, 'size', fail);
  const strides = countTuple(stride, 'stride', fail);
  if (shape.length !== strides.length) fail(`a stride of the same rank as the size [${shape}]`, `[${strides}]`);
  if (typeof requiresGrad !== 'boolean') fail('a bool requires_grad', describePy(requiresGrad));
  const numel = shape.reduce((a, b) => a * b, 1);
  const s = storage as TorchStorage;
  if (numel > 0) {
    const last = (offset as number) + shape.reduce((sum, d, i) => sum + (d - 1) * strides[i]!, 0);
    if (last >= s.count) fail(`a view inside its storage of ${s.count} elements`, `offset ${offset}, size [${shape}], stride [${strides}] reaching element ${last}`);
    // Overlapping or expanded views (stride 0) could describe far more elements than the file holds.
    if (numel > s.count) fail(`at most ${s.count} elements (the storage's size; expanded views are not supported)`, `${numel}`);
  }
  return new TorchTensor(s, offset as number, shape, strides);
}

/** `_rebuild_parameter(data, requires_grad, backward_hooks[, state])`: the tensor itself. */
function rebuildParameter(args: readonly unknown[], fail: Fail): TorchTensor {
  if (args.length !== 3 && args.length !== 4) fail('3 or 4 arguments to _rebuild_parameter', `${args.length}`);
  if (!(args[0] instanceof TorchTensor)) fail('a tensor as the parameter data', describePy(args[0]));
  return args[0] as TorchTensor;
}

const reducers = new Map<string, Reducer>(
  (
    [
      ['collections.OrderedDict', (args, fail) => (args.length === 0 ? new PyDict() : fail('OrderedDict() without arguments', `${args.length} arguments`))],
      ['torch._utils._rebuild_tensor_v2', rebuildTensor],
      ['torch._utils._rebuild_parameter', rebuildParameter],
      ['torch._utils._rebuild_parameter_with_state', rebuildParameter],
      ['torch.Size', (args, fail) => new PyTuple(countTuple(args[0], 'torch.Size', fail))],
      ['torch.device', (args, fail) => {
        if (typeof args[0] !== 'string' || (args.length === 2 && !isCount(args[1])) || args.length > 2) fail('torch.device(type[, index])', args.map(describePy).join(', '));
        return args.length === 2 ? `${args[0]}:${args[1]}` : args[0];
      }],
      ['_codecs.encode', (args, fail) => {
        // Python 3 pickles bytes for protocol 2 as _codecs.encode(text, 'latin1').
        const [text, encoding] = args;
        if (args.length !== 2 || typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) fail("_codecs.encode(str, 'latin1')", args.map(describePy).join(', '));
        return Uint8Array.from(text as string, (c) => c.charCodeAt(0) & 0xff);
      }],
      ...['builtins.set', '__builtin__.set', 'builtins.frozenset', '__builtin__.frozenset'].map(
        (name) =>
          [name, (args: readonly unknown[], fail: Fail) => {
            const set = new PySet();
            if (args.length > 1 || (args.length === 1 && !Array.isArray(args[0]))) fail(`${name}([items])`, args.map(describePy).join(', '));
            if (args.length === 1) set.items.push(...(args[0] as unknown[]));
            return set;
          }] as const,
      ),
    ] as Array<readonly [string, (args: readonly unknown[], fail: Fail) => unknown]>
  ).map(([name, apply]) => [name, new Reducer(name, apply)]),
);

/** The value a GLOBAL names, or undefined when the name is not allowed. */
function resolveGlobal(module: string, name: string): unknown {
  const qualified = `${module}.${name}`;
  if (tagGlobals.has(qualified)) return new PyGlobal(qualified);
  return reducers.get(qualified);
}

/** ISO-8859-1 (TextDecoder's 'latin1' label is really windows-1252). */
function latin1(raw: Uint8Array): string {
  return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');
}

function isKey(value: unknown): value is PyKey {
  return value === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof value);
}

/**
 * Decodes one pickle from `bytes` (from `options.start`), returning the value and the offset just
 * after its STOP opcode.
 */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): { value: unknown; end: number } {
  const { file, part } = options;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = options.start ?? 0;
  let opStart = pos;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();

  const fail: Fail = (what, received) => {
    throw fileError(file, `${part} at byte ${opStart}`, what, received);
  };
  const need = (n: number): number => {
    if (n > bytes.length - pos) {
      const error = fileError(file, `${part} at byte ${opStart}`, `${n} more bytes`, `the end of the data after ${bytes.length - pos} (truncated)`);
      throw new TruncatedPickleError('ERR_FILE', error.message);
    }
    const at = pos;
    pos += n;
    return at;
  };
  const readUint = (n: 1 | 2 | 4): number => {
    const at = need(n);
    return n === 1 ? bytes[at]! : n === 2 ? view.getUint16(at, true) : view.getUint32(at, true);
  };
  const readLength8 = (): number => {
    const length = view.getBigUint64(need(8), true);
    if (length > BigInt(bytes.length)) fail('a length inside the data', `${length}`);
    return Number(length);
  };
  const readBytes = (n: number): Uint8Array => bytes.subarray(need(n), pos);
  const readUtf8 = (n: number): string => {
    const raw = readBytes(n);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      return fail('a UTF-8 string', 'invalid byte sequences');
    }
  };
  const readLine = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) need(bytes.length - pos + 1);
    const line = latin1(bytes.subarray(pos, end));
    pos = end + 1;
    return line;
  };
  const readLong = (n: number): number | bigint => {
    const raw = readBytes(n);
    let value = 0n;
    for (let i = n - 1; i >= 0; i--) value = (value << 8n) | BigInt(raw[i]!);
    if (n > 0 && raw[n - 1]! & 0x80) value -= 1n << BigInt(8 * n);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  };
  // As in CPython, a MARK fences the stack: opcodes cannot reach values pushed before it.
  const top = (): unknown => {
    if (stack.length <= (marks.at(-1) ?? 0)) fail('a value on the stack', 'an empty stack');
    return stack.at(-1);
  };
  const pop = (): unknown => {
    top();
    return stack.pop();
  };
  const popMark = (): unknown[] => {
    const mark = marks.pop();
    if (mark === undefined) fail('a MARK before this opcode', 'none');
    return stack.splice(mark!);
  };
  const setItems = (target: unknown, items: unknown[]): void => {
    if (!(target instanceof PyDict)) fail('a dict to set items in', describePy(target));
    for (let i = 0; i + 1 < items.length; i += 2) {
      const key = items[i];
      if (!isKey(key)) fail('a dict key that is a str, int, float, bool or None', describePy(key));
      (target as PyDict).map.set(key as PyKey, items[i + 1]);
    }
  };
  const appendItems = (target: unknown, items: unknown[]): void => {
    if (Array.isArray(target)) target.push(...items);
    else if (target instanceof PySet) target.items.push(...items);
    else fail('a list to append to', describePy(target));
  };
  const push = (value: unknown): void => {
    stack.push(value);
  };
  const put = (index: number): void => {
    memo.set(index, top());
  };
  const get = (index: number): void => {
    if (!memo.has(index)) fail('a memo index stored earlier', `${index}`);
    push(memo.get(index));
  };
  const pushGlobal = (module: string, name: string): void => {
    const value = resolveGlobal(module, name);
    if (value === undefined) fail('an allowed global (state-dict types only; loading never runs code)', `the global ${module}.${name}`);
    push(value);
  };

  for (;;) {
    opStart = pos;
    const op = readUint(1);
    switch (op) {
      case 0x80: { // PROTO
        const protocol = readUint(1);
        if (protocol < 2 || protocol > 5) fail('pickle protocol 2 to 5', `${protocol}`);
        break;
      }
      case 0x95: // FRAME: only a read-ahead hint
        readLength8();
        break;
      case 0x2e: // STOP
        return { value: pop(), end: pos };
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4a: // BININT
        push(view.getInt32(need(4), true));
        break;
      case 0x4b: // BININT1
        push(readUint(1));
        break;
      case 0x4d: // BININT2
        push(readUint(2));
        break;
      case 0x8a: // LONG1
        push(readLong(readUint(1)));
        break;
      case 0x8b: { // LONG4
        const n = view.getInt32(need(4), true);
        if (n < 0) fail('a non-negative LONG4 length', `${n}`);
        push(readLong(n));
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        push(view.getFloat64(need(8), false));
        break;
      case 0x58: // BINUNICODE
        push(readUtf8(readUint(4)));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(readUtf8(readUint(1)));
        break;
      case 0x8d: // BINUNICODE8
        push(readUtf8(readLength8()));
        break;
      case 0x54: // BINSTRING (Python 2 str)
      case 0x55: // SHORT_BINSTRING
        push(latin1(readBytes(op === 0x54 ? readUint(4) : readUint(1))));
        break;
      case 0x42: // BINBYTES
        push(readBytes(readUint(4)).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        push(readBytes(readUint(1)).slice());
        break;
      case 0x8e: // BINBYTES8
        push(readBytes(readLength8()).slice());
        break;
      case 0x29: // EMPTY_TUPLE
        push(new PyTuple([]));
        break;
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: { // TUPLE3
        const items: unknown[] = [];
        for (let i = 0; i < op - 0x84; i++) items.unshift(pop());
        push(new PyTuple(items));
        break;
      }
      case 0x74: // TUPLE
        push(new PyTuple(popMark()));
        break;
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x6c: // LIST
        push(popMark());
        break;
      case 0x7d: // EMPTY_DICT
        push(new PyDict());
        break;
      case 0x64: { // DICT
        const dict = new PyDict();
        setItems(dict, popMark());
        push(dict);
        break;
      }
      case 0x8f: // EMPTY_SET
        push(new PySet());
        break;
      case 0x91: { // FROZENSET
        const set = new PySet();
        set.items.push(...popMark());
        push(set);
        break;
      }
      case 0x73: { // SETITEM
        const value = pop();
        const key = pop();
        setItems(top(), [key, value]);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: { // APPEND
        const value = pop();
        appendItems(top(), [value]);
        break;
      }
      case 0x65: // APPENDS
      case 0x90: { // ADDITEMS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x71: // BINPUT
        put(readUint(1));
        break;
      case 0x72: // LONG_BINPUT
        put(readUint(4));
        break;
      case 0x94: // MEMOIZE
        put(memo.size);
        break;
      case 0x68: // BINGET
        get(readUint(1));
        break;
      case 0x6a: // LONG_BINGET
        get(readUint(4));
        break;
      case 0x63: { // GLOBAL
        const module = readLine();
        pushGlobal(module, readLine());
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('module and name strings for STACK_GLOBAL', `${describePy(module)}, ${describePy(name)}`);
        pushGlobal(module as string, name as string);
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const callable = pop();
        if (!(callable instanceof Reducer)) fail('an allowed callable for REDUCE', describePy(callable));
        if (!(args instanceof PyTuple)) fail('an argument tuple for REDUCE', describePy(args));
        push((callable as Reducer).apply((args as PyTuple).items, fail));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const target = top();
        // torch.save sets an OrderedDict's `_metadata` attribute this way; attributes carry no tensors.
        if (!(target instanceof PyDict)) fail('BUILD on a dict (setting OrderedDict attributes)', `BUILD on ${describePy(target)} with ${describePy(state)}`);
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!options.persistentLoad) fail('no persistent id in this pickle', describePy(pid));
        push(options.persistentLoad!(pid, opStart));
        break;
      }
      default:
        fail('an opcode a state dict needs (loading never runs code)', `the opcode ${opcodeNames[op] ?? `0x${op.toString(16).padStart(2, '0')}`}`);
    }
  }
}

/** Nesting beyond this in `extra` values is refused (real checkpoints nest a few levels). */
const maxDepth = 1000;

/**
 * A decoded value as plain JS: dicts become objects (keys as strings), lists, tuples and sets
 * arrays, bytes a Uint8Array, tensors `{kind: 'tensor', dtype, shape}` descriptions (not read),
 * globals their qualified name; ints beyond 2^53 stay bigint. Shared objects are converted once;
 * a cyclic or too deeply nested object is an `ERR_FILE` error.
 */
export function toPlainValue(value: unknown, file: string, part: string): unknown {
  const done = new Map<object, unknown>();
  const active = new Set<object>();
  const convert = (v: unknown, depth: number): unknown => {
    if (v === null || typeof v !== 'object') return v;
    if (v instanceof Uint8Array) return v;
    if (v instanceof PyGlobal || v instanceof Reducer) return v.qualifiedName;
    if (v instanceof TorchTensor) return { kind: 'tensor', dtype: v.storage.dtype, shape: [...v.shape] };
    if (v instanceof TorchStorage) return { kind: 'storage', dtype: v.dtype, count: v.count };
    if (done.has(v)) return done.get(v);
    if (active.has(v)) throw fileError(file, part, 'an acyclic object', 'a container that contains itself');
    if (depth > maxDepth) throw fileError(file, part, `nesting at most ${maxDepth} deep`, 'deeper nesting');
    active.add(v);
    let out: unknown;
    if (v instanceof PyDict) out = Object.fromEntries([...v.map].map(([k, x]) => [String(k), convert(x, depth + 1)]));
    else {
      const items = v instanceof PyTuple ? v.items : v instanceof PySet ? v.items : (v as unknown[]);
      out = items.map((x) => convert(x, depth + 1));
    }
    active.delete(v);
    done.set(v, out);
    return out;
  };
  return convert(value, 0);
}
