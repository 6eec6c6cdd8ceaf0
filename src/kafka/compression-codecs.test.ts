import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMPRESSION_CODECS, codecOfAttributes, compressRecords, decompressRecords, frameXerial, XERIAL_MAGIC, zstdImplementation } from './compression-codecs.js';

const require = createRequire(import.meta.url);
const snappy = require('snappy') as { compressSync(input: Uint8Array): Buffer };
const zstdLibrary = require('@mongodb-js/zstd') as { compress(input: Buffer, level?: number): Promise<Buffer>; decompress(input: Buffer): Promise<Buffer> };

/** Records as a producer batches them: JSON text, repetitive, with some noise. */
function jsonRecords(count: number): Buffer {
  return Buffer.from(Array.from({ length: count }, (_, i) => JSON.stringify({ id: i, station: `st-${i % 17}`, aqi: (i * 37) % 500, noise: randomBytes(4).toString('hex') })).join('\n'));
}

const inputs: [string, Buffer][] = [
  ['one byte', Buffer.from([7])],
  ['JSON records, 40 KB (more than one xerial chunk)', jsonRecords(500)],
  ['JSON records, 900 KB (a full fetch)', jsonRecords(11_000)],
  ['random bytes, 100 KB (incompressible)', randomBytes(100_000)],
];

describe('Kafka compression codecs', () => {
  for (const codec of COMPRESSION_CODECS) {
    it(`${codec}: round trip`, async () => {
      for (const [what, input] of inputs) {
        const compressed = await compressRecords(codec, input);
        if (codec !== 'none' && what.startsWith('JSON')) expect(compressed.length, what).toBeLessThan(input.length / 2);
        expect((await decompressRecords(codec, compressed)).equals(input), what).toBe(true);
      }
    });
  }

  it('reads the codec from the low 3 bits of the batch attributes; 5–7 are none of them', () => {
    expect([0, 1, 2, 3, 4, 0x10 | 3, 0x20 | 4].map(codecOfAttributes)).toEqual(['none', 'gzip', 'snappy', 'lz4', 'zstd', 'lz4', 'zstd']);
    expect([5, 6, 7].map(codecOfAttributes)).toEqual([undefined, undefined, undefined]);
  });

  it('snappy: writes xerial framing as snappy-java does (header, version 1, chunks of 32 KiB input)', async () => {
    const input = jsonRecords(1500); // ~110 KB: four chunks
    const framed = await compressRecords('snappy', input);
    expect(framed.subarray(0, 8).equals(XERIAL_MAGIC)).toBe(true);
    expect([framed.readInt32BE(8), framed.readInt32BE(12)]).toEqual([1, 1]);
    const chunks: number[] = [];
    for (let at = 16; at < framed.length; ) {
      const length = framed.readInt32BE(at);
      chunks.push(length);
      at += 4 + length;
    }
    expect(chunks).toHaveLength(Math.ceil(input.length / 32768));
    expect(16 + chunks.reduce((sum, n) => sum + 4 + n, 0)).toBe(framed.length);
  });

  it('snappy: reads raw blocks (librdkafka) and xerial frames of any chunking (Java, Kafka Connect)', async () => {
    const input = jsonRecords(800);
    expect((await decompressRecords('snappy', snappy.compressSync(input))).equals(input)).toBe(true);
    // Uneven chunks, as a stream flushed mid-way writes them.
    const cuts = [0, 1000, 1001, 30_000, input.length];
    const framed = frameXerial(cuts.slice(1).map((end, i) => snappy.compressSync(input.subarray(cuts[i], end))));
    expect((await decompressRecords('snappy', framed)).equals(input)).toBe(true);
    // An empty frame (header only) is no records.
    expect((await decompressRecords('snappy', frameXerial([]))).length).toBe(0);
  });

  it('snappy: a xerial chunk that runs past the batch is an error, not a short read', async () => {
    const framed = frameXerial([snappy.compressSync(jsonRecords(100))]);
    await expect(decompressRecords('snappy', framed.subarray(0, framed.length - 3))).rejects.toThrow(/xerial snappy: a chunk of \d+ bytes at byte 20 runs past/);
    const zero = Buffer.concat([frameXerial([]), Buffer.from([0, 0, 0, 0])]);
    await expect(decompressRecords('snappy', zero)).rejects.toThrow(/a chunk of 0 bytes/);
  });

  it('lz4: writes the LZ4 frame format (magic 0x184D2204), not a raw block', async () => {
    const framed = await compressRecords('lz4', jsonRecords(100));
    expect(framed.readUInt32LE(0)).toBe(0x184d2204);
  });

  it('zstd: node:zlib (Node 22.15+) and @mongodb-js/zstd (Node 20) read each other', async () => {
    const input = jsonRecords(2000);
    expect((await decompressRecords('zstd', await zstdLibrary.compress(input, 3))).equals(input)).toBe(true);
    expect((await zstdLibrary.decompress(await compressRecords('zstd', input))).equals(input)).toBe(true);
    expect(['node:zlib', '@mongodb-js/zstd']).toContain(zstdImplementation());
  });

  for (const codec of COMPRESSION_CODECS.filter((c) => c !== 'none')) {
    it(`${codec}: garbage, a cut-off stream and flipped bytes reject (never crash the process, never a wrong length unnoticed)`, async () => {
      const input = jsonRecords(300);
      const good = await compressRecords(codec, input);
      await expect(decompressRecords(codec, Buffer.from('not compressed at all, just text'))).rejects.toThrow();
      await expect(decompressRecords(codec, good.subarray(0, Math.floor(good.length / 2)))).rejects.toThrow();
      // Flipped bytes: a codec without a checksum may inflate them to other bytes (the record
      // decoder then finds records that do not fit), but it must answer, not crash.
      await fc.assert(
        fc.asyncProperty(fc.array(fc.record({ at: fc.nat({ max: good.length - 1 }), xor: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 4 }), async (flips) => {
          const bad = Buffer.from(good);
          for (const { at, xor } of flips) bad[at] = bad[at]! ^ xor;
          const outcome = await decompressRecords(codec, bad).then(
            (out) => out,
            (error: unknown) => error,
          );
          expect(outcome instanceof Error || Buffer.isBuffer(outcome)).toBe(true);
        }),
        { numRuns: 200, seed: 20261204 },
      );
    });
  }
});
