/**
 * The worker thread of background-decoder.ts: turns record values into binary COPY rows in
 * WebAssembly (binary-rows-wasm-encoder.ts) or with the byte path and, for what they give back,
 * the general decoder (their rules and messages, unchanged). It holds no state but the compiled
 * plan; every message is answered in the order it came.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BINARY_ROW_START_BYTES, binaryRowRoom, compileBinaryRowDecoder, writeBinaryRowStart } from './copy-binary.js';
import { compileJsonCopyWriter } from './json-to-copy-line.js';
import { compileWasmRowEncoder } from './binary-rows-wasm-encoder.js';
import type { ColumnPlan } from './kafka-record-decode.js';
import type { DecodeRequest, DecodeResponse } from './background-decoder.js';

const { columns, withSeq } = workerData as { columns: ColumnPlan[]; withSeq: boolean };
const write = compileJsonCopyWriter(columns, new Set(), true);
const decode = compileBinaryRowDecoder(columns);
const wasm = compileWasmRowEncoder(columns, withSeq);

parentPort!.on('message', ({ id, bytes, starts, lengths }: DecodeRequest) => {
  const src = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = starts.length;
  let room = 0;
  for (let k = 0; k < count; k++) room += binaryRowRoom(Math.max(0, lengths[k]!), columns.length) + BINARY_ROW_START_BYTES;
  const out = Buffer.allocUnsafeSlow(room);
  const ends = new Int32Array(count);
  const dead: number[] = [];
  const errors: string[] = [];
  let at = 0;
  // The WebAssembly rows, copied run by run; each record it gives back takes the paths below.
  const rows = wasm?.encodeValues(bytes, starts, lengths);
  let run = rows?.start ?? 0;
  let rowAt = run;
  for (let k = 0; k < count; k++) {
    if (rows !== undefined) {
      const rowEnd = rows.ends[k]!;
      if (rowEnd >= 0) {
        at += rowEnd - rowAt;
        rowAt = rowEnd;
        ends[k] = at;
        continue;
      }
      rows.bytes.copy(out, at - (rowAt - run), run, rowAt);
      run = rowAt;
    }
    const length = lengths[k]!;
    // In upsert mode the batch writes the position over the 0 (PendingBatch.addEncoded).
    const fields = writeBinaryRowStart(out, at, columns.length, withSeq ? 0 : undefined);
    let end = write !== undefined && length >= 0 ? write(src, out, fields, starts[k]!, starts[k]! + length) : -1;
    if (end < 0) {
      const row = decode(length < 0 ? null : src.subarray(starts[k]!, starts[k]! + length));
      if (Buffer.isBuffer(row)) end = fields + row.copy(out, fields);
      else {
        dead.push(k);
        errors.push(row.error);
        end = at;
      }
    }
    ends[k] = at = end;
  }
  if (rows !== undefined) rows.bytes.copy(out, at - (rowAt - run), run, rowAt);
  const response: DecodeResponse = { id, bytes: out.buffer, ends, dead: Int32Array.from(dead), errors };
  parentPort!.postMessage(response, [out.buffer, ends.buffer]);
});
