import { describe, expect, it } from 'vitest';
import { KeptRecords } from './kept-records.js';

describe('KeptRecords', () => {
  it('gives back every record as delivered: partition, offset, key and value bytes, nulls', () => {
    const fetch = Buffer.from('k1v1k2v2-other');
    const other = Buffer.from('elsewhere');
    const kept = new KeptRecords();
    const delivered = [
      { partition: 0, record: { offset: '5', key: fetch.subarray(0, 2), value: fetch.subarray(2, 4) } },
      { partition: 2, record: { offset: '9007199254740993', key: null, value: other.subarray(4) } },
      { partition: 0, record: { offset: '6', key: fetch.subarray(4, 6), value: null } },
    ];
    // Past the first growth of the arrays.
    for (let i = 0; i < 3000; i++) delivered.push({ partition: 1, record: { offset: String(100 + i), key: null, value: fetch.subarray(i % 10, 14) } });
    for (const { partition, record } of delivered) kept.add(partition, record);
    expect(kept.length).toBe(delivered.length);
    delivered.forEach(({ partition, record }, i) => {
      expect(kept.partition(i)).toBe(partition);
      const back = kept.record(i);
      expect(back.offset).toBe(record.offset);
      expect(back.key === null ? null : back.key.toString()).toBe(record.key === null ? null : record.key.toString());
      expect(back.value === null ? null : back.value.toString()).toBe(record.value === null ? null : record.value.toString());
    });
  });

  it('takes runs of records: consecutive offsets without parsing each, gaps and huge offsets one by one', () => {
    const fetch = Buffer.from('k0v0k1v1k2v2k3v3k4v4');
    const record = (offset: string, n: number) => ({ offset, key: fetch.subarray(4 * n, 4 * n + 2), value: fetch.subarray(4 * n + 2, 4 * n + 4) });
    const consecutive = Array.from({ length: 2500 }, (_, i) => record(String(1000 + i), i % 5));
    // A compacted or transactional fetch: offsets ascend with gaps.
    const gapped = [record('7', 0), record('9', 1), record('10', 2)];
    const huge = [record('9007199254740993', 3), record('9007199254740994', 4)];
    const kept = new KeptRecords();
    kept.addRun(0, consecutive, 1, 2500);
    kept.addRun(1, gapped, 0, 3);
    kept.add(2, record('3', 0));
    kept.addRun(2, huge, 0, 2);
    const expected = [...consecutive.slice(1).map((r) => [0, r] as const), ...gapped.map((r) => [1, r] as const), [2, record('3', 0)] as const, ...huge.map((r) => [2, r] as const)];
    expect(kept.length).toBe(expected.length);
    expected.forEach(([partition, r], i) => {
      expect(kept.partition(i)).toBe(partition);
      const back = kept.record(i);
      expect(back.offset).toBe(r.offset);
      expect(back.key!.toString() + back.value!.toString()).toBe(r.key.toString() + r.value.toString());
    });
  });
});
