import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { kafkajsOriginals } from './kafkajs.js';
import { recordOf, UnreadableBatch } from './kafkajs-record-views.js';

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
  /** Kafka's codec id: none, gzip, snappy, lz4, zstd (dfm registers them all in kafkajs' table, which its own decoder reads). */
  codec: fc.constantFrom(0, 0, 1, 2, 3, 4),
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
    const encoded = (await encodeRecordBatch({ compression: b.codec, firstOffset: offset.toString(), firstTimestamp: f.firstTimestamp, maxTimestamp: f.firstTimestamp + 5, lastOffsetDelta: delta - 1, transactional: b.transactional, producerId: b.producerId.toString(), records })).buffer;
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
  it('decodes every fetch exactly as kafkajs 2.2.4 does (every codec, mixed in one fetch): offsets, timestamps, keys, values, headers, contexts; partial batches dropped (property)', async () => {
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

  it('stops a fetch at a batch that cannot be read: the records before it, then an error naming topic, partition and offsets', async () => {
    const batchAt = async (firstOffset: number, compression: number, values: string[]) => {
      const records = values.map((value, i) => encodeRecord({ offsetDelta: i, timestampDelta: 0, key: Buffer.from(`k${firstOffset + i}`), value: Buffer.from(value), headers: {} }));
      return (await encodeRecordBatch({ compression, firstOffset: String(firstOffset), firstTimestamp: 1_700_000_000_000, maxTimestamp: 1_700_000_000_000, lastOffsetDelta: values.length - 1, records })).buffer;
    };
    const values = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ id: i, text: 'x'.repeat(50) }));
    const good = await batchAt(100, 3, values(5)); // lz4, offsets 100–104
    const corrupt = await batchAt(105, 4, values(10)); // zstd, offsets 105–114
    // The records' compressed bytes start after the 61-byte batch header: scramble them.
    for (let i = 61 + 4; i < corrupt.length; i += 3) corrupt[i] = corrupt[i]! ^ 0x5a;
    const after = await batchAt(115, 2, values(3)); // snappy, offsets 115–117: never delivered
    const unknownCodec = await batchAt(118, 1, values(2));
    unknownCodec.writeInt16BE(unknownCodec.readInt16BE(21) | 0x07, 21); // attributes: codec id 7

    const decoded = await decodeAll(ours, Buffer.concat([good, corrupt, after]));
    expect(decoded.map((r) => r['offset'])).toEqual(['100', '101', '102', '103', '104', '105', '115', '116', '117']);
    const marker = decoded[5] as unknown as UnreadableBatch;
    expect(marker).toBeInstanceOf(UnreadableBatch);
    expect(marker.key).toBeNull();

    for (const fetchedOffset of ['100', '108']) {
      const batch = new OursBatch('orders', fetchedOffset, { partition: 2, errorCode: 0, highWatermark: '200', abortedTransactions: [], messages: decoded }) as BatchLike & { unreadable?: UnreadableBatch };
      // Nothing past the unreadable batch; it stays even when the fetch began inside it.
      expect(batch.messages.map((m) => m.offset)).toEqual(fetchedOffset === '100' ? ['100', '101', '102', '103', '104', '105'] : ['105']);
      expect(batch.unreadable).toBe(marker);
      const error = batch.unreadable!.error;
      expect(error).toMatchObject({ code: 'KAFKA_BATCH_UNREADABLE', retryable: false, details: { topic: 'orders', partition: 2, firstOffset: '105', lastOffset: '114', codec: 'zstd' } });
      expect(error.message).toMatch(/^Kafka topic "orders" partition 2: the record batch at offsets 105–114 \(zstd\) cannot be read: .+\. Nothing at or after offset 105 of this partition was processed\..* set the partition's stored offset \(dfm\.kafka_offset\) to 115\.$/);
      expect(() => (batch.messages[batch.messages.length - 1] as unknown as UnreadableBatch).value).toThrow(/partition 2: the record batch at offsets 105–114/);
    }

    const [unknown] = await decodeAll(ours, unknownCodec);
    expect((unknown as unknown as UnreadableBatch).error.message).toMatch(/offsets 118–119 \(codec 7\) cannot be read: its attributes name compression codec 7, which Kafka does not define/);
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
