import { afterAll, describe, expect, it } from 'vitest';
import { recordAt, recordOf, type ConsumedRecord } from '../../kafka/kafka-client.js';
import { startBackgroundDecoder, type BackgroundDecoder } from './background-decoder.js';
import type { ColumnPlan } from './kafka-record-decode.js';
import { batchFactory } from './kafka-to-postgres-writer.js';

const columns: ColumnPlan[] = [
  { name: 'id', path: ['id'], type: 'bigint', key: true },
  { name: 'at', path: ['at'], type: 'timestamptz', key: false },
  { name: 'note', path: ['note'], type: 'text', key: false },
];
const values = [
  '{"id":1,"at":"2024-01-31T10:00:00Z","note":"byte path"}',
  '{"id":2,"note":"tab\\there"}', // general path: an escape
  '{"note":"no key"}', // dead letter
  null, // tombstone: dead letter
  '{"id":"3","at":1700000000000}', // general path: a string for a bigint, epoch milliseconds
  '{"id":4,"at":"2024-02-30"}', // dead letter: not a date
  '{"id":5,"note":"é€😀"}',
];
// Records lie in fetch buffers as a fetch leaves them: several per buffer with bytes between, and a second buffer.
function fetched(): ConsumedRecord[] {
  const first = Buffer.alloc(4096, 0x2a);
  const second = Buffer.alloc(4096, 0x2a);
  let at = 7;
  return values.map((text, i) => {
    const alone = recordOf(i, text === null ? null : `k${i}`, text);
    const target = i < 4 ? first : second;
    if (i === 4) at = 3;
    alone.bytes.copy(target, at);
    const record = recordAt(target, at, at + alone.valueStart, alone.valueLength, String(i));
    at += alone.bytes.length + 13;
    return record;
  });
}

const decoders: BackgroundDecoder[] = [];
afterAll(async () => {
  for (const decoder of decoders) await decoder.close();
});

describe('startBackgroundDecoder', () => {
  it.each([false, true])('gives the batch the bytes and dead letters it builds itself (upsert positions: %s)', async (withSeq) => {
    const decoder = startBackgroundDecoder(columns, withSeq);
    decoders.push(decoder);
    const records = fetched();
    const inline = batchFactory({ columns, jsonColumns: [], withSeq, binary: true })();
    inline.addRange(0, records, 0, 2);
    inline.addRange(1, records, 2, records.length);
    const viaWorker = batchFactory({ columns, jsonColumns: [], withSeq, binary: true })();
    // Two requests, the batch taking one of them in two parts.
    const head = await decoder.encode(records, 0, 3);
    const tail = await decoder.encode(records, 3, records.length);
    viaWorker.addEncoded(0, records, 0, 2, head);
    viaWorker.addEncoded(1, records, 2, 3, head);
    viaWorker.addEncoded(1, records, 3, records.length, tail);
    expect(Buffer.concat(viaWorker.copyChunks())).toEqual(Buffer.concat(inline.copyChunks()));
    expect(viaWorker.rows).toBe(4);
    expect(viaWorker.dead.map((d) => [d.partition, d.offset, d.error])).toEqual(inline.dead.map((d) => [d.partition, d.offset, d.error]));
    expect(viaWorker.dead.map((d) => d.error)).toEqual(['key field "id" is missing or null', 'the record has no value (a tombstone)', 'field "at" → column at (timestamptz): date/time field value out of range: "2024-02-30"']);
    expect(viaWorker.nextOffsets()).toEqual(inline.nextOffsets());
  });

  it('fails every request once the worker is gone', async () => {
    const decoder = startBackgroundDecoder(columns, false);
    await decoder.close();
    await expect(decoder.encode(fetched(), 0, 1)).rejects.toThrow(/closed/);
  });
});
