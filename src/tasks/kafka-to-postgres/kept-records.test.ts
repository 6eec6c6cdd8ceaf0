import { describe, expect, it } from 'vitest';
import { recordAt, recordOf, type ConsumedRecord } from '../../kafka/kafka-client.js';
import { KeptRecords } from './kept-records.js';

/** Records laid one after another in one buffer, as a fetch holds them. */
function inOneFetch(parts: readonly [offset: string, key: string | null, value: string | null][]): ConsumedRecord[] {
  const alone = parts.map(([offset, key, value]) => recordOf(offset, key, value));
  const fetch = Buffer.concat(alone.map((r) => r.bytes));
  let at = 0;
  return alone.map((r, i) => {
    const record = recordAt(fetch, at, at + r.valueStart, r.valueLength, parts[i]![0]);
    at += r.bytes.length;
    return record;
  });
}

const text = (b: Buffer | null) => (b === null ? null : b.toString());

describe('KeptRecords', () => {
  it('gives back every record as delivered: partition, offset, key and value bytes, nulls', () => {
    const [a, b] = inOneFetch([
      ['5', 'k1', 'v1'],
      ['6', 'k2', null],
    ]);
    const delivered = [
      { partition: 0, record: a! },
      { partition: 2, record: recordOf('9007199254740993', null, 'elsewhere') },
      { partition: 0, record: b! },
    ];
    // Past the first growth of the arrays.
    for (let i = 0; i < 3000; i++) delivered.push({ partition: 1, record: recordOf(100 + i, null, `v${i % 10}`) });
    const kept = new KeptRecords();
    for (const { partition, record } of delivered) kept.add(partition, record);
    expect(kept.length).toBe(delivered.length);
    delivered.forEach(({ partition, record }, i) => {
      expect(kept.partition(i)).toBe(partition);
      const back = kept.record(i);
      expect([back.offset, text(back.key), text(back.value)]).toEqual([record.offset, text(record.key), text(record.value)]);
    });
  });

  it('takes runs of records: consecutive offsets without parsing each, gaps and huge offsets one by one', () => {
    const consecutive = inOneFetch(Array.from({ length: 2500 }, (_, i) => [String(1000 + i), `k${i % 5}`, `v${i % 5}`] as const));
    // A compacted or transactional fetch: offsets ascend with gaps.
    const gapped = inOneFetch([
      ['7', 'k0', 'v0'],
      ['9', 'k1', 'v1'],
      ['10', 'k2', 'v2'],
    ]);
    const huge = inOneFetch([
      ['9007199254740993', 'k3', 'v3'],
      ['9007199254740994', 'k4', 'v4'],
    ]);
    const single = recordOf(3, 'k0', 'v0');
    const kept = new KeptRecords();
    kept.addRun(0, consecutive, 1, 2500);
    kept.addRun(1, gapped, 0, 3);
    kept.add(2, single);
    kept.addRun(2, huge, 0, 2);
    const expected = [...consecutive.slice(1).map((r) => [0, r] as const), ...gapped.map((r) => [1, r] as const), [2, single] as const, ...huge.map((r) => [2, r] as const)];
    expect(kept.length).toBe(expected.length);
    expected.forEach(([partition, r], i) => {
      expect(kept.partition(i)).toBe(partition);
      const back = kept.record(i);
      expect([back.offset, text(back.key), text(back.value)]).toEqual([r.offset, text(r.key), text(r.value)]);
    });
  });
});
