/**
 * Binary COPY rows of kafka.to_postgres' bench records, built side by side in one run: by the
 * JavaScript byte path (json-to-copy-line.ts) and by the WebAssembly encoder
 * (binary-rows-wasm-encoder.ts: copying the values into its memory, the rows, and copying them
 * out, as PendingBatch does), in slices of 256 records as the task takes them. Checks that both
 * write the same bytes, then prints ns per record and the ratio, alternating the two for
 * `--rounds` rounds.
 *
 *   npx tsx bench/binary-rows.ts [--records=200000] [--rounds=6]
 */
import { recordAt } from '../src/kafka/kafka-client.js';
import { compileWasmRowEncoder } from '../src/tasks/kafka-to-postgres/binary-rows-wasm-encoder.js';
import { writeBinaryRowStart } from '../src/tasks/kafka-to-postgres/copy-binary.js';
import { compileJsonCopyWriter } from '../src/tasks/kafka-to-postgres/json-to-copy-line.js';
import type { ColumnPlan } from '../src/tasks/kafka-to-postgres/kafka-record-decode.js';
import { COLUMNS, recordValue } from './kafka-to-postgres/records.js';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const RECORDS = Number(args['records'] ?? 200_000);
const ROUNDS = Number(args['rounds'] ?? 6);
const SLICE = 256;
const PLAN: ColumnPlan[] = Object.entries(COLUMNS).map(([name, c]) => ({ name, path: [name], type: c.type, key: false }));

// The records as a fetch leaves them: values in one buffer, a record header's bytes between them.
const parts: Buffer[] = [];
const at: number[] = [];
let length = 0;
for (let id = 0; id < RECORDS; id++) {
  const value = Buffer.from(recordValue(id));
  parts.push(Buffer.alloc(12), value);
  at.push(length + 12);
  length += 12 + value.length;
}
const fetched = Buffer.concat(parts);
const records = at.map((start, id) => recordAt(fetched, start - 12, start, parts[2 * id + 1]!.length, String(id)));

const write = compileJsonCopyWriter(PLAN, new Set(), true)!;
const wasm = compileWasmRowEncoder(PLAN, false);
if (wasm === undefined) throw new Error('no WebAssembly encoder for the bench plan');
const out = Buffer.allocUnsafeSlow(64 << 20);

function javascript(): number {
  let o = 0;
  for (let k = 0; k < RECORDS; k++) {
    if (o > out.length - 4096) o = 0;
    o = write(fetched, out, writeBinaryRowStart(out, o, PLAN.length, undefined), at[k]!, at[k]! + records[k]!.valueLength);
    if (o < 0) throw new Error(`record ${k} left the byte path`);
  }
  return o;
}

function webAssembly(): number {
  let o = 0;
  for (let from = 0; from < RECORDS; from += SLICE) {
    const to = Math.min(RECORDS, from + SLICE);
    const { bytes, start, ends } = wasm!.encode(records, from, to);
    const end = ends[to - from - 1]!;
    if (end < 0 || ends.some((e) => e < 0)) throw new Error(`a record of ${from}–${to} was given back`);
    if (o > out.length - (end - start)) o = 0;
    o += bytes.copy(out, o, start, end);
  }
  return o;
}

// Same bytes first.
const expected = Buffer.from(out.subarray(0, javascript()));
const got = out.subarray(0, webAssembly());
if (!got.equals(expected)) throw new Error('WebAssembly and JavaScript rows differ');

const time = (run: () => number) => {
  const began = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - began) / RECORDS;
};
const best = { javascript: Infinity, webAssembly: Infinity };
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? (['javascript', 'webAssembly'] as const) : (['webAssembly', 'javascript'] as const);
  for (const name of order) best[name] = Math.min(best[name], time(name === 'javascript' ? javascript : webAssembly));
}
const ratio = Math.round((best.javascript / best.webAssembly) * 100) / 100;
process.stdout.write(
  [
    `binary rows of ${RECORDS} bench records (~${recordValue(1).length} B), best of ${ROUNDS} alternating rounds`,
    `JavaScript byte path                 ${best.javascript.toFixed(0).padStart(6)} ns/record`,
    `WebAssembly (copy in, rows, copy out) ${best.webAssembly.toFixed(0).padStart(5)} ns/record   ${ratio}× faster`,
    JSON.stringify({ bench: 'binary-rows', records: RECORDS, javascriptNsPerRecord: Math.round(best.javascript), webAssemblyNsPerRecord: Math.round(best.webAssembly), ratio, node: process.version }),
    '',
  ].join('\n'),
);
