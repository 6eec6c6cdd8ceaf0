/**
 * Binary COPY rows of kafka.to_postgres built in WebAssembly (assembly/binary-rows.ts), for the
 * records a producer serialising one schema sends: every column's key in plan order, plain values.
 * The byte path in JavaScript (json-to-copy-line.ts, writeInOrder) did this at ~450 ns a 200-byte
 * record, two thirds of the task's main thread; the module scans text 16 bytes at a time and
 * writes the same bytes in a fraction of that (bench/kafka-to-postgres.ts). What it does not take
 * comes back as -1, and PendingBatch gives that record to the JavaScript paths, so their rules and
 * messages stay the only definition of what a record becomes.
 *
 * Per call the values of a run of records are copied into the module's memory (pack-values.ts),
 * the rows are written behind them, and the caller copies the rows out before the next call.
 */
import type { ConsumedRecord } from '../../kafka/kafka-client.js';
import { BINARY_ROW_START_BYTES, binaryRowRoom } from './copy-binary.js';
import { BINARY_ROWS_WASM } from './binary-rows-wasm.generated.js';
import { inOrderBinaryKinds } from './json-to-copy-line.js';
import type { ColumnPlan } from './kafka-record-decode.js';
import { packValues } from './pack-values.js';

/** What this module uses of the WebAssembly API (TypeScript's lib here has no declarations of it). */
interface WebAssemblyApi {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object, imports: object) => { readonly exports: unknown };
}
const { Module, Instance } = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

interface Exports {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  heapBase(): number;
  setPlan(at: number, count: number): void;
  encode(starts: number, lengths: number, ends: number, count: number, out: number, withSeq: number): number;
}

/** The rows of one call; valid until the next call. */
export interface WasmRows {
  /** The module's memory. */
  readonly bytes: Buffer;
  /** Where the first row starts in bytes. */
  readonly start: number;
  /** ends[k]: where the row of record from + k ends in bytes, or -1: given back (no bytes). */
  readonly ends: Int32Array;
}

export interface WasmRowEncoder {
  /** Rows of records[from, to), back to back; with a position field of 0 in upsert mode (PendingBatch writes the position). */
  encode(records: readonly ConsumedRecord[], from: number, to: number): WasmRows;
  /** The same for values already side by side in `values` (the decoding worker's requests): value k is [starts[k], starts[k] + lengths[k]), -1 for null. */
  encodeValues(values: Uint8Array, starts: Int32Array, lengths: Int32Array): WasmRows;
}

/** Reads and writes of the module may run this far past a value or a row. */
const SLACK = 16;
const PAGE = 65_536;

let compiled: object | undefined | null;

/** The module, compiled once per process; null where this runtime cannot (no WebAssembly SIMD). */
function binaryRowsModule(): object | null {
  if (compiled === undefined) {
    try {
      compiled = new Module(Buffer.from(BINARY_ROWS_WASM, 'base64'));
    } catch {
      compiled = null;
    }
  }
  return compiled ?? null;
}

/**
 * An encoder for binary rows of this plan, or undefined when the plan has no one-pass path (a
 * nested field, a key with a quote or backslash) or WebAssembly SIMD is not available.
 */
export function compileWasmRowEncoder(columns: readonly ColumnPlan[], withSeq: boolean): WasmRowEncoder | undefined {
  const kinds = inOrderBinaryKinds(columns);
  const module = binaryRowsModule();
  if (kinds === undefined || module === null) return undefined;
  const wasm = new Instance(module, {}).exports as unknown as Exports;
  const memory = wasm.memory;
  let bytes = Buffer.from(memory.buffer);
  const ensure = (size: number): void => {
    const missing = size - memory.buffer.byteLength;
    if (missing <= 0) return;
    memory.grow(Math.ceil(missing / PAGE));
    bytes = Buffer.from(memory.buffer);
  };
  const count = columns.length;
  // The plan: four Int32 per column (kind, key, where its name is, its length), then the names.
  const planAt = align(wasm.heapBase());
  const plan = new Int32Array(count * 4);
  let at = planAt + count * 16;
  const names = columns.map((c) => Buffer.from(c.path[0]!, 'utf8'));
  names.forEach((name, c) => {
    plan.set([kinds[c]!, columns[c]!.key || columns[c]!.notNull === true ? 1 : 0, at, name.length], c * 4);
    at += name.length;
  });
  const callAt = align(at);
  ensure(callAt);
  bytes.set(new Uint8Array(plan.buffer), planAt);
  names.forEach((name, c) => bytes.set(name, plan[c * 4 + 2]!));
  wasm.setPlan(planAt, count);
  // Where packValues leaves each value (it cannot write into the memory: it may grow meanwhile).
  let starts = new Int32Array(256);
  let lengths = new Int32Array(256);
  const scratchFor = (n: number): void => {
    if (starts.length >= n) return;
    starts = new Int32Array(n);
    lengths = new Int32Array(n);
  };
  // In the memory for a call of n records: starts, lengths and ends (Int32 each), the values, then the rows.
  const layout = (n: number, size: number, valueLengths: Int32Array): { valuesAt: number; out: number } => {
    const valuesAt = callAt + n * 12;
    const out = align(valuesAt + size + SLACK);
    let room = 0;
    for (let k = 0; k < n; k++) room += binaryRowRoom(Math.max(0, valueLengths[k]!), count) + BINARY_ROW_START_BYTES;
    ensure(out + room + SLACK);
    return { valuesAt, out };
  };
  const run = (n: number, out: number, valueLengths: Int32Array): WasmRows => {
    const buffer = memory.buffer;
    new Int32Array(buffer, callAt, n).set(starts.subarray(0, n));
    new Int32Array(buffer, callAt + n * 4, n).set(valueLengths.subarray(0, n));
    wasm.encode(callAt, callAt + n * 4, callAt + n * 8, n, out, withSeq ? 1 : 0);
    return { bytes, start: out, ends: new Int32Array(buffer, callAt + n * 8, n) };
  };

  return {
    encode(records, from, to) {
      const n = to - from;
      scratchFor(n);
      let out = 0;
      packValues(records, from, to, starts, lengths, (size) => {
        const at = layout(n, size, lengths);
        out = at.out;
        return { bytes, at: at.valuesAt };
      });
      return run(n, out, lengths);
    },
    encodeValues(values, valueStarts, valueLengths) {
      const n = valueStarts.length;
      scratchFor(n);
      const { valuesAt, out } = layout(n, values.length, valueLengths);
      bytes.set(values, valuesAt);
      for (let k = 0; k < n; k++) starts[k] = valuesAt + valueStarts[k]!;
      return run(n, out, valueLengths);
    },
  };
}

function align(at: number): number {
  return Math.ceil(at / 16) * 16;
}
