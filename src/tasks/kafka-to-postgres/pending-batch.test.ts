import { describe, expect, it } from 'vitest';
import { recordOf } from '../../kafka/kafka-client.js';
import { BINARY_COPY_HEADER } from './copy-binary.js';
import type { ColumnPlan } from './kafka-record-decode.js';
import { batchFactory } from './kafka-to-postgres-writer.js';

const columns: ColumnPlan[] = [
  { name: 'id', path: ['id'], type: 'bigint', key: true },
  { name: 'aqi', path: ['aqi'], type: 'integer', key: false },
  { name: 'note', path: ['note'], type: 'text', key: false },
];
/** The rows of a binary COPY, each field read by the type of its column (upsert: a position first). */
function readBinaryRows(copy: Buffer, withSeq: boolean): string[] {
  expect(copy.subarray(0, BINARY_COPY_HEADER.length)).toEqual(BINARY_COPY_HEADER);
  const rows: string[] = [];
  let at = BINARY_COPY_HEADER.length;
  for (let count = copy.readInt16BE(at); count !== -1; count = copy.readInt16BE(at)) {
    at += 2;
    const fields: string[] = [];
    for (let f = 0; f < count; f++) {
      const length = copy.readInt32BE(at);
      at += 4;
      const type = withSeq ? (f === 0 ? 'integer' : columns[f - 1]!.type) : columns[f]!.type;
      if (length === -1) fields.push('NULL');
      else fields.push(type === 'bigint' ? String(copy.readBigInt64BE(at)) : type === 'integer' ? String(copy.readInt32BE(at)) : copy.toString('utf8', at, at + length));
      at += Math.max(0, length);
    }
    rows.push(fields.join('|'));
  }
  expect(at + 2).toBe(copy.length);
  return rows;
}
const record = (offset: number, value: string | null) => recordOf(offset, `k${offset}`, value);

describe('PendingBatch', () => {
  it.each([false, true])('writes byte-path and general-path rows in record order, dead letters aside (upsert positions: %s)', (withSeq) => {
    const batch = batchFactory({ columns, jsonColumns: [], withSeq, binary: false })();
    const records = [
      record(10, '{"id":1,"aqi":5,"note":"a"}'), // byte path
      record(11, '{"id":2,"aqi":"6","note":"b\\tc"}'), // general path (a string for an integer)
      record(12, '{"aqi":7}'), // dead: key missing
      record(13, null), // dead: tombstone
      record(14, '{"id":3,"note":"ü"}'),
    ];
    batch.addRange(0, records, 0, 2);
    batch.addRange(1, [record(3, '{"id":4}')], 0, 1);
    batch.addRange(0, records, 2, 5);
    const rows = ['1\t5\ta', '2\t6\tb\\tc', '4\t\\N\t\\N', '3\t\\N\tü'];
    expect(Buffer.concat(batch.copyChunks()).toString('utf8')).toBe(rows.map((row, i) => `${withSeq ? `${i}\t` : ''}${row}\n`).join(''));
    expect(batch.rows).toBe(4);
    expect(batch.records).toBe(6);
    expect(batch.dead.map((d) => [d.partition, d.offset, d.key?.toString()])).toEqual([
      [0, '12', 'k12'],
      [0, '13', 'k13'],
    ]);
    expect(batch.nextOffsets()).toEqual(new Map([[0, 15n], [1, 4n]]));
    expect(batch.isAtOrAbove(new Map([[0, 10n]]))).toBe(true);
    expect(batch.isAtOrAbove(new Map([[0, 11n]]))).toBe(false);
    const rest = batch.withoutBelow(new Map([[0, 12n]]));
    expect(rest.records).toBe(4);
    expect(batch.allRecords().map((r) => `${r.partition}:${r.record.offset}`)).toEqual(['0:10', '0:11', '1:3', '0:12', '0:13', '0:14']);
  });

  it.each([false, true])('writes the same rows in binary (upsert positions: %s)', (withSeq) => {
    const batch = batchFactory({ columns, jsonColumns: [], withSeq, binary: true })();
    batch.addRange(0, [record(1, '{"id":1,"aqi":5,"note":"a"}'), record(2, '{"id":2,"aqi":"6","note":"b\\tc"}'), record(3, '{"aqi":7}'), record(4, '{"id":-3,"note":"ü"}')], 0, 4);
    const rows = ['1|5|a', '2|6|b\tc', '-3|NULL|ü'];
    expect(readBinaryRows(Buffer.concat(batch.copyChunks()), withSeq)).toEqual(rows.map((row, i) => (withSeq ? `${i}|${row}` : row)));
    // Sent again after a retry: the same bytes.
    expect(readBinaryRows(Buffer.concat(batch.copyChunks()), withSeq)).toHaveLength(3);
    expect(batch.dead.map((d) => d.offset)).toEqual(['3']);
  });

  it('builds a batch in the chunks a committed batch gave back, with only its own rows', () => {
    const newBatch = batchFactory({ columns, jsonColumns: [], withSeq: false, binary: true });
    const long = 'x'.repeat(180);
    const first = newBatch();
    first.addRange(0, Array.from({ length: 12_000 }, (_, i) => record(i, `{"id":${i},"aqi":1,"note":"${long}"}`)), 0, 12_000);
    expect(readBinaryRows(Buffer.concat(first.copyChunks()), false)).toHaveLength(12_000);
    first.release();
    const second = newBatch();
    second.addRange(1, [record(5, '{"id":5,"aqi":2,"note":"y"}'), record(6, '{"id":6,"aqi":3,"note":null}')], 0, 2);
    expect(readBinaryRows(Buffer.concat(second.copyChunks()), false)).toEqual(['5|2|y', '6|3|NULL']);
  });
});
