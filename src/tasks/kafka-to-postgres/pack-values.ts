/**
 * The values of a run of records, copied side by side into one buffer: for the decoding worker
 * (background-decoder.ts, a transferable buffer) and the WebAssembly rows (binary-rows-wasm-encoder.ts,
 * its memory). A fetch's values lie close together in kafkajs' fetch buffer: each run of values
 * with gaps under 1 KB (record headers) is one copy, not one per record.
 */
import type { ConsumedRecord } from '../../kafka/kafka-client.js';

/** Gaps between values that are copied along rather than starting another span. */
const GAP = 1024;

/**
 * Copies the values of records[from, to) into the bytes `place(size)` gives, from its `at`:
 * starts[k] is where record from + k's value begins there, lengths[k] its length (-1: null).
 */
export function packValues(
  records: readonly ConsumedRecord[],
  from: number,
  to: number,
  starts: Int32Array,
  lengths: Int32Array,
  place: (size: number) => { readonly bytes: Uint8Array; readonly at: number },
): void {
  const count = to - from;
  // Spans: [buffer, first byte, end] of runs of values in one ArrayBuffer.
  const spanOf = new Int32Array(count);
  const spanBuffers: ArrayBufferLike[] = [];
  const spanFrom: number[] = [];
  const spanTo: number[] = [];
  let size = 0;
  // The records of a Kafka record batch share one Buffer: its ArrayBuffer and offset are read once.
  let source: Buffer | undefined;
  let buffer: ArrayBufferLike = new ArrayBuffer(0);
  let base = 0;
  for (let k = 0; k < count; k++) {
    const record = records[from + k]!;
    const length = record.valueLength;
    lengths[k] = length < 0 ? -1 : length;
    if (length < 0) continue;
    const last = spanBuffers.length - 1;
    if (record.bytes !== source) {
      source = record.bytes;
      buffer = source.buffer;
      base = source.byteOffset;
    }
    const offset = base + record.valueStart;
    if (last >= 0 && spanBuffers[last] === buffer && offset >= spanTo[last]! && offset - spanTo[last]! < GAP) {
      size += offset + length - spanTo[last]!;
      spanTo[last] = offset + length;
    } else {
      spanBuffers.push(buffer);
      spanFrom.push(offset);
      spanTo.push(offset + length);
      size += length;
    }
    spanOf[k] = spanBuffers.length - 1;
    starts[k] = offset; // made relative below
  }
  const { bytes, at } = place(size);
  const spanAt: number[] = [];
  let position = at;
  for (let s = 0; s < spanBuffers.length; s++) {
    spanAt.push(position);
    bytes.set(new Uint8Array(spanBuffers[s]!, spanFrom[s]!, spanTo[s]! - spanFrom[s]!), position);
    position += spanTo[s]! - spanFrom[s]!;
  }
  for (let k = 0; k < count; k++) if (lengths[k]! >= 0) starts[k] = spanAt[spanOf[k]!]! + starts[k]! - spanFrom[spanOf[k]!]!;
}
