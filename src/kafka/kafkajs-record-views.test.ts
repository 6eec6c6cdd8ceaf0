import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { kafkajsOriginals } from './kafkajs.js';
import { recordOf } from './kafkajs-record-views.js';

const require = createRequire(import.meta.url);
type Decoded = { records: Record<string, unknown>[] } & Record<string, unknown>;
type DecodeBatch = (decoder: unknown) => Promise<Decoded>;
type BatchLike = { messages: { offset: string }[]; firstOffset(): string | null; lastOffset(): string; offsetLag(): string; offsetLagLow(): string; isEmpty(): boolean; isEmptyIncludingFiltered(): boolean; isEmptyDueToFiltering(): boolean; isEmptyControlRecord(): boolean; isEmptyDueToLogCompactedMessages(): boolean };
type BatchClass = new (topic: string, fetchedOffset: string, partitionData: unknown) => BatchLike;
const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => { canReadBytes(n: number): boolean };
const { RecordBatch: encodeRecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as { RecordBatch: (batch: unknown) => Promise<{ buffer: Buffer }> };
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (record: unknown) => unknown;
const ours = require('kafkajs/src/protocol/recordBatch/v0/decoder') as DecodeBatch;
const OursBatch = require('kafkajs/src/consumer/batch') as BatchClass;
const theirs = kafkajsOriginals.decodeRecordBatch as DecodeBatch;
const TheirBatch = kafkajsOriginals.Batch as BatchClass;

/** What kafkajs' fetch decoding does with a partition's record set: batches until a partial one. */
async function decodeAll(decode: DecodeBatch, bytes: Buffer): Promise<Record<string, unknown>[]> {
  const decoder = new Decoder(bytes);
  const records: Record<string, unknown>[] = [];
  while (decoder.canReadBytes(49)) {
    try {
      records.push(...(await decode(decoder)).records);
    } catch (error) {
      if ((error as Error).name === 'KafkaJSPartialMessageError') break;
      throw error;
    }
  }
  return records;
}

/** Every field kafkajs gives of a message, in comparable form. */
function fields(message: Record<string, unknown>): unknown {
  const text = (b: unknown) => (b === null ? null : (b as Buffer).toString('hex'));
  const headers = Object.fromEntries(Object.entries(message['headers'] as Record<string, Buffer | Buffer[]>).map(([k, v]) => [k, Array.isArray(v) ? v.map(text) : text(v)]));
  return { offset: message['offset'], timestamp: message['timestamp'], key: text(message['key']), value: text(message['value']), headers, attributes: message['attributes'], magicByte: message['magicByte'], isControlRecord: message['isControlRecord'], batchContext: message['batchContext'] };
}

const bytes = fc.option(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), { freq: 5 });
const record = fc.record({
  gap: fc.nat({ max: 3 }),
  timestampDelta: fc.integer({ min: -1_000_000, max: 1_000_000_000 }),
  key: bytes,
  value: bytes,
  headers: fc.dictionary(fc.constantFrom('a', 'b', 'trace-id', 'é'), fc.oneof(fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)), fc.array(fc.uint8Array({ maxLength: 5 }).map((a) => Buffer.from(a)), { minLength: 1, maxLength: 3 }))),
});
const batch = fc.record({
  records: fc.array(record, { minLength: 1, maxLength: 30 }),
  gzip: fc.boolean(),
  transactional: fc.boolean(),
  control: fc.boolean(),
  producerId: fc.bigInt({ min: -1n, max: 2n ** 62n }),
});
const fetch = fc.record({
  firstOffset: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 40n }), fc.bigInt({ min: 2n ** 53n - 50n, max: 2n ** 62n })),
  firstTimestamp: fc.integer({ min: 0, max: 2 ** 45 }),
  batches: fc.array(batch, { minLength: 1, maxLength: 3 }),
  /** Bytes cut off the end: the fetch's last batch is partial, as maxBytes leaves it. */
  cut: fc.nat({ max: 40 }),
  /** Where the fetch asked to start, from the first record. */
  fetchedAt: fc.nat({ max: 40 }),
});

async function encodeFetch(f: Fetch): Promise<{ bytes: Buffer; aborted: { producerId: string; firstOffset: string }[] }> {
  const parts: Buffer[] = [];
  const aborted: { producerId: string; firstOffset: string }[] = [];
  let offset = f.firstOffset;
  for (const b of f.batches) {
    let delta = 0;
    const records = b.records.map((r) => {
      delta += r.gap;
      const encoded = encodeRecord({ offsetDelta: delta, timestampDelta: r.timestampDelta, key: r.key, value: r.value, headers: r.headers });
      delta++;
      return encoded;
    });
    const encoded = (await encodeRecordBatch({ compression: b.gzip ? 1 : 0, firstOffset: offset.toString(), firstTimestamp: f.firstTimestamp, maxTimestamp: f.firstTimestamp + 5, lastOffsetDelta: delta - 1, transactional: b.transactional, producerId: b.producerId.toString(), records })).buffer;
    if (b.control) encoded[22] = encoded[22]! | 0x20;
    if (b.transactional && b.producerId % 3n === 0n) aborted.push({ producerId: b.producerId.toString(), firstOffset: offset.toString() });
    parts.push(encoded);
    offset += BigInt(delta);
  }
  const all = Buffer.concat(parts);
  return { bytes: all.subarray(0, Math.max(0, all.length - f.cut)), aborted };
}

type Fetch = typeof fetch extends fc.Arbitrary<infer T> ? T : never;

describe("dfm's kafkajs record decoding", () => {
  it('decodes every fetch exactly as kafkajs 2.2.4 does: offsets, timestamps, keys, values, headers, contexts; partial batches dropped (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fetch, async (f) => {
        const { bytes } = await encodeFetch(f);
        const [mine, kafkajs] = await Promise.all([decodeAll(ours, bytes), decodeAll(theirs, bytes)]);
        expect(mine.map(fields)).toEqual(kafkajs.map(fields));
      }),
      { numRuns: 300, seed: 20261126 },
    );
  });

  it("filters a fetch like kafkajs' Batch: below the fetch offset, aborted transactions, control records; same offsets and lags (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fetch, fc.boolean(), async (f, withAborted) => {
        const { bytes, aborted } = await encodeFetch(f);
        const [mine, kafkajs] = await Promise.all([decodeAll(ours, bytes), decodeAll(theirs, bytes)]);
        const fetchedOffset = (f.firstOffset + BigInt(f.fetchedAt)).toString();
        const partition = (messages: unknown[]) => ({ partition: 1, errorCode: 0, highWatermark: (f.firstOffset + 200n).toString(), abortedTransactions: withAborted ? aborted : [], messages });
        const a = new OursBatch('t', fetchedOffset, partition(mine));
        const b = new TheirBatch('t', fetchedOffset, partition(kafkajs));
        const summary = (x: BatchLike) => ({
          messages: x.messages.map((m) => m.offset),
          first: x.firstOffset(),
          last: x.lastOffset(),
          lag: x.offsetLag(),
          lagLow: x.offsetLagLow(),
          empty: [x.isEmpty(), x.isEmptyIncludingFiltered(), x.isEmptyDueToFiltering(), x.isEmptyControlRecord(), x.isEmptyDueToLogCompactedMessages()],
        });
        expect(summary(a)).toEqual(summary(b));
      }),
      { numRuns: 200, seed: 20261126 },
    );
  });

  it('makes records by hand that read back as given', () => {
    const r = recordOf('9007199254740993', 'k', null);
    expect([r.offset, r.key?.toString(), r.value, r.valueLength, r.headers]).toEqual(['9007199254740993', 'k', null, -1, {}]);
    const big = recordOf(7, null, 'x'.repeat(300));
    expect([big.offset, big.key, big.value?.length, big.bytes.toString('utf8', big.valueStart, big.valueStart + big.valueLength)]).toEqual(['7', null, 300, 'x'.repeat(300)]);
  });
});

describe("dfm's kafkajs producer grouping", () => {
  it("groups messages by partition exactly as kafkajs' own, in one pass", async () => {
    const { groupMessagesPerPartition } = await import('./kafkajs.js');
    const theirs = kafkajsOriginals.groupMessagesPerPartition as typeof groupMessagesPerPartition;
    expect(require('kafkajs/src/producer/groupMessagesPerPartition')).toBe(groupMessagesPerPartition);
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 1000 }), { maxLength: 200 }), fc.integer({ min: 0, max: 5 }), (messages, partitions) => {
        const args = { topic: 't', partitionMetadata: Array.from({ length: partitions }, (_, partitionId) => ({ partitionId })), messages, partitioner: ({ message }: { message: number }) => message % Math.max(1, partitions) };
        expect(groupMessagesPerPartition(args)).toEqual(theirs(args));
      }),
      { numRuns: 200, seed: 20261126 },
    );
    // Linear: 100,000 messages to 3 partitions at once (kafkajs' own copied ~1.7 billion elements).
    const many = Array.from({ length: 100_000 }, (_, i) => i);
    const grouped = groupMessagesPerPartition({ topic: 't', partitionMetadata: [0, 1, 2], messages: many, partitioner: ({ message }) => message % 3 });
    expect([grouped[0]!.length, grouped[1]!.length, grouped[2]!.length]).toEqual([33_334, 33_333, 33_333]);
  });
});
