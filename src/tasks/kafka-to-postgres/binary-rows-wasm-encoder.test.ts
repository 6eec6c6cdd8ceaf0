import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileBinaryRowsWasm, renderWasmModule, root, WASM_MODULE } from '../../../scripts/wasm.js';
import { recordAt, recordOf, type ConsumedRecord } from '../../kafka/kafka-client.js';
import { BINARY_ROWS_WASM } from './binary-rows-wasm.generated.js';
import { compileWasmRowEncoder } from './binary-rows-wasm-encoder.js';
import { binaryRowRoom, writeBinaryRowStart } from './copy-binary.js';
import { compileJsonCopyWriter } from './json-to-copy-line.js';
import type { ColumnPlan, ColumnType } from './kafka-record-decode.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

const col = (name: string, type: ColumnType, key = false): ColumnPlan => ({ name, path: [name], type, key });
// `i` as a by-name column NOT NULL without a default: given back when null, like a key.
const PLAN: ColumnPlan[] = [col('id', 'bigint', true), col('s', 'text'), col('at', 'timestamptz'), { ...col('i', 'integer'), notNull: true }, col('d', 'double'), col('f', 'boolean'), col('größe', 'text', true)];

/** What the JavaScript one-pass path writes for a record: its row, or undefined when it gives it back. */
function javascriptRow(plan: readonly ColumnPlan[], value: Buffer, withSeq: boolean): Buffer | undefined {
  const write = compileJsonCopyWriter(plan, new Set(), true)!;
  const out = Buffer.alloc(binaryRowRoom(value.length, plan.length) + 16);
  const end = write(value, out, writeBinaryRowStart(out, 0, plan.length, withSeq ? 0 : undefined));
  return end < 0 ? undefined : out.subarray(0, end);
}

/** Records whose values lie in one buffer with other bytes between them, as in a fetch. */
function inOneBuffer(values: readonly Buffer[], gaps: readonly number[]): ConsumedRecord[] {
  const parts: Buffer[] = [];
  const at: number[] = [];
  let length = 0;
  values.forEach((value, k) => {
    const gap = Buffer.from('"}] \\{'.repeat(4).slice(0, gaps[k % gaps.length]! % 20));
    parts.push(gap, value);
    length += gap.length;
    at.push(length);
    length += value.length;
  });
  // Bytes that would complete a cut-off value after the last one.
  const bytes = Buffer.concat([...parts, Buffer.from('"}]}"\\ 1 true')]);
  return values.map((value, k) => recordAt(bytes, at[k]!, at[k]!, value.length, String(k)));
}

// Values of every kind, as JSON text: mostly what each column takes, and the edges around it.
const ascii = fc.stringMatching(/^[ !#-[\]-~]{0,70}$/);
const text = fc.oneof(ascii.map((s) => JSON.stringify(s)), fc.string({ unit: 'grapheme' }).map((s) => JSON.stringify(s)), fc.string({ unit: 'binary' }).map((s) => JSON.stringify(s)), fc.tuple(ascii, fc.constantFrom('"', '\\', '\t', '\u0000', 'é', '\u007f', '\u0080')).map(([s, stop]) => JSON.stringify(s.slice(0, 17) + stop + s.slice(17))));
const number = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.tuple(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.integer({ min: 0, max: 20 })).map(([d, k]) => d.toFixed(k)),
  fc.stringMatching(/^-?(0|[1-9]\d{0,17})(\.\d{1,24})?([eE][+-]?\d{1,3})?$/),
  fc.constantFrom('2147483647', '-2147483648', '2147483648', '-2147483649', '999999999999999', '-999999999999999', '1000000000000000', '9007199254740993', '-0', '-0.0', '0.000', '01', '-', '1.', '.5', '1e5', '0.1', '1.50', '123456789012345.0'),
);
const timestamp = fc.oneof(
  fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.stringMatching(/^\d{4}-[01]\d-[0-3]\d([T ][0-2]\d:[0-5]\d(:[0-6]\d(\.\d{1,10})?)?)?(Z|z|[+-][0-2]\d(:?[0-6]\d)?)?$/),
  fc.constantFrom('2024-02-29', '2023-02-29', '2024-02-30 10:00', '2100-02-29', '2000-02-29', '0000-01-01', '2024-04-31', '2024-13-01', '2024-00-10', '2024-01-00', '2024-01-01T24:00', '2024-01-01T10:00:00+15:59', '2024-01-01T10:00:00-16:00', '2024-01-01T10:00:00.1234567Z', '2024-01-01T10:00:00.999999Z'),
).map((t) => JSON.stringify(t));
const literal = fc.constantFrom('true', 'false', 'null', 'nul', 'tru', 'True', 'nullx');
const any = fc.oneof(text, number, timestamp, literal, fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)));
const plainText = fc.oneof(ascii, fc.array(fc.constantFrom('a', 'Z', ' ', '-', '0', 'é', 'ü', '€', '日本', '😀'), { maxLength: 30 }).map((parts) => parts.join(''))).map((t) => JSON.stringify(t));
const instant = fc
  .tuple(
    fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true }),
    fc.constantFrom('Z', 'z', '', '+05:30', '-08:00', '+0100', '-03', '+15:59', '-00:30'),
    fc.constantFrom(0, 1, 3, 6),
    fc.constantFrom('T', ' '),
    fc.constantFrom('date', 'minutes', 'seconds'),
  )
  .map(([d, zone, digits, separator, precision]) => {
    const iso = d.toISOString();
    if (precision === 'date') return JSON.stringify(iso.slice(0, 10));
    const fraction = digits === 0 ? '' : `.${iso.slice(20, 23)}999`.slice(0, digits + 1);
    return JSON.stringify(`${iso.slice(0, 10)}${separator}${iso.slice(11, precision === 'minutes' ? 16 : 19)}${precision === 'minutes' ? '' : fraction}${zone}`);
  });
/** Timestamps one step off the plain ones: a zone, fraction, date or time PostgreSQL or the grammar refuses, or that the JavaScript path rounds. */
const nearlyTimestamp = fc
  .tuple(
    fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true }),
    fc.constantFrom('+05:60', '+0560', '+24:00', '+05:3', '+053', '+16:00', '-16:00', '+15:59', '-15:59', '+05:30x', '+', 'Z ', 'ZZ', '.1234567Z', '.123456789Z', '.Z', '.1234567890Z', ':60Z', '', 'T', '\\u0030'),
    fc.constantFrom('date', 'seconds', 'minutes'),
  )
  .map(([d, tail, precision]) => {
    const iso = d.toISOString();
    const head = precision === 'date' ? iso.slice(0, 10) : iso.slice(0, precision === 'minutes' ? 16 : 19);
    return `"${head}${tail}"`;
  });
const decimal = fc.oneof(fc.integer({ min: -1e8, max: 1e8 }).map((n) => String(n / 1000)), fc.integer().map(String));
/** Per column: a plain value of its type (what a producer of one schema sends), and the edges. */
const plain = [fc.integer().map(String), plainText, instant, fc.integer().map(String), decimal, fc.constantFrom('true', 'false', 'null'), plainText];
const edges = [number, text, fc.oneof(timestamp, nearlyTimestamp, nearlyTimestamp), number, number, literal, text];
const space = fc.constantFrom('', '', '', ' ', '\n', ' \t');

/** A record in plan order: plain (every column's plain value, nothing else) or not (edges, any value, a key missing or added, an edited byte). */
const record = fc
  .tuple(
    fc.tuple(...plain.map((p, k) => fc.oneof({ weight: 8, arbitrary: p.map((v) => ({ v, plain: true })) }, { weight: 1, arbitrary: fc.oneof(edges[k]!, any).map((v) => ({ v, plain: false })) }, { weight: 1, arbitrary: fc.constant({ v: undefined, plain: false }) }))),
    fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: any }),
    fc.array(space, { minLength: 6, maxLength: 6 }),
    fc.oneof({ weight: 10, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })) }),
  )
  .map(([values, extra, [s0, s1, s2, s3, s4, s5], edit]) => {
    const entries = PLAN.flatMap((c, k) => (values[k]!.v === undefined ? [] : [`${s1}${JSON.stringify(c.name)}${s2}:${s3}${values[k]!.v}${s4}`]));
    if (extra !== undefined) entries.splice(2, 0, `"extra":${extra}`);
    const bytes = Buffer.from(`${s0}{${entries.join(',')}}${s5}`);
    if (edit !== undefined) bytes[edit[0] % bytes.length] = edit[1];
    // A null key column is not plain: the general path names it.
    return { bytes, plain: values.every((v) => v.plain) && extra === undefined && edit === undefined };
  });

describe('compileWasmRowEncoder', () => {
  it('is built from assembly/binary-rows.ts as committed', async () => {
    const committed = await readFile(path.join(root, WASM_MODULE), 'utf8');
    expect(committed, 'stale: run `npm run wasm:build` and commit the result').toBe(renderWasmModule(await compileBinaryRowsWasm()));
    expect(BINARY_ROWS_WASM.length).toBeGreaterThan(1000);
  }, 60_000);

  it.each([false, true])('writes the JavaScript path\'s bytes for every record it takes, and takes the plain ones (property; upsert positions: %s)', (withSeq) => {
    const encoder = compileWasmRowEncoder(PLAN, withSeq)!;
    let taken = 0;
    let plainCount = 0;
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 30 }), fc.array(fc.nat(), { minLength: 1, maxLength: 5 }), (generated, gaps) => {
        const values = generated.map((g) => g.bytes);
        const records = inOneBuffer(values, gaps);
        const from = records.length > 2 ? 1 : 0;
        const { bytes, start, ends } = encoder.encode(records, from, records.length);
        let at = start;
        for (let k = from; k < records.length; k++) {
          const end = ends[k - from]!;
          const text = values[k]!.toString('utf8');
          if (generated[k]!.plain) {
            plainCount++;
            expect(end, `given back: ${text}`).toBeGreaterThanOrEqual(0);
          }
          if (end < 0) continue;
          taken++;
          const expected = javascriptRow(PLAN, values[k]!, withSeq);
          expect(expected, `taken by WebAssembly only: ${text}`).toBeDefined();
          expect(bytes.subarray(at, end).equals(expected!), text).toBe(true);
          at = end;
        }
      }),
      { numRuns: 1500 },
    );
    expect(plainCount).toBeGreaterThan(1000);
    expect(taken).toBeGreaterThan(plainCount);
    // ~3 s on an idle 2-core machine, past vitest's 5 s default under other engineers' suites.
  }, 30_000);

  it('takes every record a producer of one schema sends, across memory growth, spans and null values', () => {
    const encoder = compileWasmRowEncoder(PLAN, false)!;
    const value = (k: number) =>
      Buffer.from(`{"id":${k},"s":"${'station-'.repeat(k % 300)}${k}","at":"2024-01-0${1 + (k % 9)}T10:00:${String(k % 60).padStart(2, '0')}.${k % 1000}Z","i":${-k},"d":${k / 8},"f":${k % 2 === 0},"größe":"g"}`);
    const values = Array.from({ length: 5000 }, (_, k) => value(k));
    // Two fetch buffers, and a tombstone (given back) between them.
    const records = [...inOneBuffer(values.slice(0, 2500), [3]), recordOf(2500, null, null), ...inOneBuffer(values.slice(2500), [0, 900, 2000])];
    const { bytes, start, ends } = encoder.encode(records, 0, records.length);
    expect(ends[2500]).toBe(-1);
    let at = start;
    records.forEach((r, k) => {
      if (k === 2500) return;
      const v = values[k < 2500 ? k : k - 1]!;
      expect(bytes.subarray(at, ends[k]!).equals(javascriptRow(PLAN, v, false)!), v.toString('utf8')).toBe(true);
      at = ends[k]!;
    });
    // The same rows from values already side by side (the decoding worker's requests); the
    // first call's rows are copied out first, as PendingBatch does (a call reuses the memory).
    const first = Buffer.from(bytes.subarray(start, ends[records.length - 1]!));
    const firstEnds = Array.from(ends, (e) => (e < 0 ? e : e - start));
    const packed = Buffer.concat([Buffer.from('xx'), ...values]);
    const valueStarts = Int32Array.from(records, (_, k) => (k === 2500 ? 0 : 2 + values.slice(0, k < 2500 ? k : k - 1).reduce((n, v) => n + v.length, 0)));
    const again = encoder.encodeValues(packed, valueStarts, Int32Array.from(records, (_, k) => (k === 2500 ? -1 : values[k < 2500 ? k : k - 1]!.length)));
    expect(Array.from(again.ends, (e) => (e < 0 ? e : e - again.start))).toEqual(firstEnds);
    expect(again.bytes.subarray(again.start, again.ends[records.length - 1]!).equals(first)).toBe(true);
  });

  it('has no encoder for plans without a one-pass path', () => {
    expect(compileWasmRowEncoder([{ name: 'a', path: ['x', 'y'], type: 'text', key: false }], false)).toBeUndefined();
    expect(compileWasmRowEncoder([col('a"b', 'text')], false)).toBeUndefined();
    expect(compileWasmRowEncoder([], false)).toBeUndefined();
  });
});
