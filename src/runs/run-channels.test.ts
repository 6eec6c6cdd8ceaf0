import { describe, expect, it } from 'vitest';
import { parsePayload, toPayloads } from './run-channels.js';

describe('run event payloads', () => {
  it('carries run ids, each once, and reads them back', () => {
    expect(toPayloads([3, 1, 3, 2])).toEqual(['3,1,2']);
    expect(parsePayload('3,1,2')).toEqual([3, 1, 2]);
    expect(toPayloads([])).toEqual([]);
    expect(parsePayload('')).toEqual([]);
  });

  it('splits many ids into payloads below NOTIFY’s 8000-byte limit, losing none', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => 1_000_000_000 + i);
    const payloads = toPayloads(ids);
    expect(payloads.length).toBeGreaterThan(1);
    for (const p of payloads) expect(Buffer.byteLength(p)).toBeLessThan(8000);
    expect(payloads.flatMap(parsePayload)).toEqual(ids);
  });
});
