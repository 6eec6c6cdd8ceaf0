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
});
