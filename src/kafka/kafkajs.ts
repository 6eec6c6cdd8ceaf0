/**
 * kafkajs, with a few of its internals replaced before it loads. kafkajs is unmaintained and
 * pinned (package-lock.json); the version is checked, and another one refuses to start with a
 * clear message instead of running with parts written for a different release. What changes is
 * how kafkajs reads and groups records, never what goes over the wire or when:
 *
 * - the v2 record batch decoder and the consumer's Batch (kafkajs-record-views.ts): a record is
 *   one view over the fetched bytes instead of ~15 objects;
 * - Connection.prototype.processData (framed-socket.ts): no empty remainder kept after each
 *   response, which made every later response a Buffer.concat copy;
 * - kafkajs' codec table: every Kafka codec, not only gzip (compression-codecs.ts);
 * - RequestQueue's pending-request timer, clamped to 1 ms instead of a negative delay that Node 24
 *   warns about (clamp-request-queue-timeout.ts);
 * - the producer's groupMessagesPerPartition: kafkajs copied a partition's array for every message
 *   it added (`[...current, message]`), so a send of n messages cost O(n²): 10,000 records to 3
 *   partitions were ~17 million element copies, and a bench producer that fell behind spiralled
 *   (each send bigger and slower than the last).
 *
 * Everything in dfm takes kafkajs from here (kafka-client.ts, probe-broker.ts): a static
 * `import … from 'kafkajs'` would load it before the replacements, because Node loads an ES
 * module's CommonJS imports before it runs any module of the graph.
 */
import { createRequire } from 'node:module';
import { clampRequestQueueTimeout } from './clamp-request-queue-timeout.js';
import { processData, type SocketFactory } from './framed-socket.js';
import { CODEC_IDS, COMPRESSION_CODECS, compressRecords, decompressRecords } from './compression-codecs.js';
import { decodeRecordBatch, makeBatchClass, useKafkajsParts } from './kafkajs-record-views.js';

const require = createRequire(import.meta.url);

/** The kafkajs release these replacements were written against. */
export const KAFKAJS_VERSION = '2.2.4';

/** kafkajs' own versions of what is replaced (for the tests that compare). */
export interface KafkajsOriginals {
  decodeRecordBatch?: unknown;
  Batch?: unknown;
  processData?: unknown;
  groupMessagesPerPartition?: unknown;
}
export const kafkajsOriginals: KafkajsOriginals = {};

/** kafkajs' producer/groupMessagesPerPartition, in one pass: messages by partition, in order. */
export function groupMessagesPerPartition<M>({ topic, partitionMetadata, messages, partitioner }: { topic: string; partitionMetadata: readonly unknown[]; messages: readonly M[]; partitioner: (args: { topic: string; partitionMetadata: readonly unknown[]; message: M }) => number }): Record<number, M[]> {
  const result: Record<number, M[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ??= []).push(message);
  }
  return result;
}

/** kafkajs' codec table: by codec id, a function giving `{ compress(encoder), decompress(buffer) }`. */
type KafkajsCodecs = Record<number, () => { compress(encoder: { buffer: Buffer }): Promise<Buffer>; decompress(buffer: Buffer): Promise<Buffer> }>;

/**
 * Every Kafka codec in kafkajs' table (it has gzip and throws "… compression not implemented" for
 * the others): what its producer compresses with (`send({ compression })`) and what its decoder
 * for the pre-0.11 message formats reads. dfm's v2 batch decoder calls compression-codecs.ts itself.
 */
function registerCodecs(codecs: KafkajsCodecs): void {
  for (const name of COMPRESSION_CODECS) {
    if (name === 'none') continue;
    const codec = { compress: (encoder: { buffer: Buffer }) => compressRecords(name, encoder.buffer), decompress: (buffer: Buffer) => decompressRecords(name, buffer) };
    codecs[CODEC_IDS[name]] = () => codec;
  }
}

/** Puts a module's exports into Node's require cache before anything requires it; returns the original ones. */
function replaceModule(request: string, exports: unknown): unknown {
  const path = require.resolve(request);
  const original: unknown = require(path); // loaded once, so the cache entry exists with its Module object
  const cached = require.cache[path];
  if (!cached) throw new Error(`could not replace ${request}: not in the require cache`);
  cached.exports = exports;
  return original;
}

/** Marks dfm's decoder, so a second evaluation of this module (a test runner's fresh module graph) finds the work done. */
const INSTALLED = Symbol.for('dfm.kafkajs-replacements');

function install(): void {
  const decoderPath = require.resolve('kafkajs/src/protocol/recordBatch/v0/decoder');
  const installed = (require.cache[decoderPath]?.exports as Record<symbol, KafkajsOriginals | undefined> | undefined)?.[INSTALLED];
  if (installed) {
    Object.assign(kafkajsOriginals, installed);
    return;
  }
  const { version } = require('kafkajs/package.json') as { version: string };
  if (version !== KAFKAJS_VERSION) {
    throw new Error(`dfm replaces parts of kafkajs ${KAFKAJS_VERSION}, but kafkajs ${version} is installed. Install the version package-lock.json pins (npm ci).`);
  }
  if (require.cache[require.resolve('kafkajs')]) throw new Error('kafkajs was loaded before dfm replaced parts of it: load it through src/kafka/kafkajs.ts, not with an import');
  useKafkajsParts({
    KafkaJSPartialMessageError: (require('kafkajs/src/errors') as { KafkaJSPartialMessageError: new (message: string) => Error }).KafkaJSPartialMessageError,
  });
  registerCodecs((require('kafkajs/src/protocol/message/compression') as { Codecs: KafkajsCodecs }).Codecs);
  const filterAbortedMessages = require('kafkajs/src/consumer/filterAbortedMessages') as Parameters<typeof makeBatchClass>[0];
  kafkajsOriginals.decodeRecordBatch = replaceModule('kafkajs/src/protocol/recordBatch/v0/decoder', decodeRecordBatch);
  kafkajsOriginals.Batch = replaceModule('kafkajs/src/consumer/batch', makeBatchClass(filterAbortedMessages));
  kafkajsOriginals.groupMessagesPerPartition = replaceModule('kafkajs/src/producer/groupMessagesPerPartition', groupMessagesPerPartition);
  const connection = require('kafkajs/src/network/connection') as { prototype: { processData: unknown } };
  kafkajsOriginals.processData = connection.prototype.processData;
  connection.prototype.processData = processData;
  clampRequestQueueTimeout();
  Object.defineProperty(decodeRecordBatch, INSTALLED, { value: kafkajsOriginals });
}

install();

/** kafkajs itself, loaded after the replacements. */
export const kafkajs = require('kafkajs') as typeof import('kafkajs');

/** kafkajs' own socket factory (what it uses when given none). */
export const kafkajsSocketFactory = (require('kafkajs/src/network/socketFactory') as () => SocketFactory)();
