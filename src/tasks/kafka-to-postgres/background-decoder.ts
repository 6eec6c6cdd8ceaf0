/**
 * Decodes record values on a worker thread (decode-worker.ts) while this thread runs the Kafka
 * client and the writers. kafka.to_postgres is bound by its main thread: kafkajs' fetch decoding,
 * the byte path to binary COPY rows and the writers all run there. With the worker sharing the
 * rows, the main thread does about what a consume-only loop does, at the price of the worker's
 * own time and GC: worth it where a core is spare, not on two (kafka-to-postgres-consume.ts,
 * decodeOnWorker, has the figures).
 *
 * Per request the values of a run of records are copied into one transferable buffer
 * (pack-values.ts), and the rows come back in another, with where each record's row ends (a dead
 * letter's row is empty) and the errors of the dead letters. Answers come in request order.
 */
import { Worker } from 'node:worker_threads';
import { DfmError, messageOf } from '../../lib/errors.js';
import type { ConsumedRecord } from '../../kafka/kafka-client.js';
import type { ColumnPlan } from './kafka-record-decode.js';
import { packValues } from './pack-values.js';

export interface DecodeRequest {
  readonly id: number;
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** Where each record's value starts in bytes; its length, -1 for a null value. */
  readonly starts: Int32Array<ArrayBuffer>;
  readonly lengths: Int32Array<ArrayBuffer>;
}

export interface DecodeResponse {
  readonly id: number;
  readonly bytes: ArrayBuffer;
  /** Where each record's row ends in bytes (rows are back to back; a dead letter's is empty). */
  readonly ends: Int32Array;
  /** The records (indexes in the request) that are dead letters, and why. */
  readonly dead: Int32Array;
  readonly errors: readonly string[];
}

/** Rows of records [from, to) of one fetch, in binary COPY format. */
export interface EncodedRecords {
  readonly from: number;
  readonly to: number;
  readonly bytes: Buffer;
  /** ends[k]: where the row of record from + k ends. */
  readonly ends: Int32Array;
  /** Error of each dead letter, by record index (from + k). */
  readonly errors: ReadonlyMap<number, string>;
}

export interface BackgroundDecoder {
  /** Rows of records[from, to); the records must stay unchanged until it resolves. */
  encode(records: readonly ConsumedRecord[], from: number, to: number): Promise<EncodedRecords>;
  close(): Promise<void>;
}

/**
 * Starts the worker. It runs decode-worker.js next to this module: the compiled one, or the
 * TypeScript source through tsx in a source checkout (as bin/dfm.js runs it).
 */
export function startBackgroundDecoder(columns: readonly ColumnPlan[], withSeq: boolean): BackgroundDecoder {
  const source = import.meta.url.endsWith('.ts');
  const entry = new URL(`./decode-worker.${source ? 'ts' : 'js'}`, import.meta.url).href;
  // tsx's ESM API (its CommonJS build cannot register hooks from a worker).
  const tsx = source ? import.meta.resolve('tsx/esm/api') : undefined;
  const worker = new Worker(BOOTSTRAP, { eval: true, workerData: { entry, tsx, columns, withSeq } });
  const waiting = new Map<number, { resolve: (response: DecodeResponse) => void; reject: (error: unknown) => void }>();
  let failure: unknown;
  let nextId = 0;
  const failAll = (error: unknown) => {
    failure ??= error;
    for (const { reject } of waiting.values()) reject(failure);
    waiting.clear();
  };
  worker.on('message', (response: DecodeResponse) => {
    const request = waiting.get(response.id);
    waiting.delete(response.id);
    request?.resolve(response);
  });
  // A crash (out of memory, say) fails the run as retryable: nothing was committed from its rows.
  worker.on('error', (error) => failAll(new DfmError('KAFKA_DECODER_FAILED', `The thread decoding Kafka records failed: ${messageOf(error)}`, { cause: error, retryable: true })));
  worker.on('exit', (code) => failAll(new DfmError('KAFKA_DECODER_FAILED', `The thread decoding Kafka records exited (code ${code}).`, { retryable: true })));

  return {
    async encode(records, from, to) {
      if (failure !== undefined) throw failure;
      const request = packRequest(nextId++, records, from, to);
      const response = await new Promise<DecodeResponse>((resolve, reject) => {
        waiting.set(request.id, { resolve, reject });
        worker.postMessage(request, [request.bytes.buffer, request.starts.buffer, request.lengths.buffer]);
      });
      const errors = new Map<number, string>();
      response.dead.forEach((k, i) => errors.set(from + k, response.errors[i]!));
      return { from, to, bytes: Buffer.from(response.bytes), ends: response.ends, errors };
    },
    async close() {
      failure ??= new Error('the decoding worker thread was closed');
      await worker.terminate();
    },
  };
}

// Evaluated as CommonJS in the worker: registers tsx when running the TypeScript source.
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) {
    (await import(workerData.tsx)).register();
  }
  await import(workerData.entry);
})().catch((error) => { setImmediate(() => { throw error; }); });
`;

/** The values of records[from, to) in one new buffer. */
function packRequest(id: number, records: readonly ConsumedRecord[], from: number, to: number): DecodeRequest {
  const starts = new Int32Array(to - from);
  const lengths = new Int32Array(to - from);
  let bytes = new Uint8Array(0);
  packValues(records, from, to, starts, lengths, (size) => ({ bytes: (bytes = new Uint8Array(new ArrayBuffer(size))), at: 0 }));
  return { id, bytes, starts, lengths };
}
