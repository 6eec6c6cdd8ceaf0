import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type net from 'node:net';
import { framedSocketFactory, processData, ResponseFrames } from './framed-socket.js';
import { kafkajsOriginals } from './kafkajs.js';

const require = createRequire(import.meta.url);

/** Kafka responses as they go over the wire: length, correlation id, payload. */
function wire(payloads: readonly Buffer[]): Buffer {
  return Buffer.concat(
    payloads.map((payload, id) => {
      const head = Buffer.alloc(8);
      head.writeInt32BE(payload.length + 4, 0);
      head.writeInt32BE(id, 4);
      return Buffer.concat([head, payload]);
    }),
  );
}

const payloads = fc.array(
  fc.oneof(
    fc.uint8Array({ maxLength: 50 }).map((a) => Buffer.from(a)),
    fc.integer({ min: 16_000, max: 200_000 }).map((n) => Buffer.alloc(n, n % 251)),
  ),
  { minLength: 1, maxLength: 8 },
);
/** Read sizes the kernel might return. */
const reads = fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 20 });

describe('ResponseFrames', () => {
  it('cuts any split of a response stream into the responses, whole, one Buffer each (property)', () => {
    fc.assert(
      fc.property(payloads, reads, (sent, sizes) => {
        const stream = wire(sent);
        const frames: Buffer[] = [];
        const cutter = new ResponseFrames(
          (frame) => frames.push(frame),
          (error) => {
            throw error;
          },
        );
        // Like the socket: each read fills at most the region handed out.
        for (let at = 0, k = 0; at < stream.length; k++) {
          const region = cutter.nextRead();
          const n = Math.min(region.length, sizes[k % sizes.length]!, stream.length - at);
          stream.copy(region, 0, at, at + n);
          cutter.onRead(n);
          at += n;
        }
        expect(Buffer.concat(frames).equals(stream)).toBe(true);
        expect(frames.map((f) => f.readInt32BE(4))).toEqual(sent.map((_, id) => id));
        expect(frames.map((f) => f.length)).toEqual(sent.map((p) => p.length + 8));
      }),
      { numRuns: 200, seed: 20261126 },
    );
  });

  it('refuses a stream that is not Kafka responses', () => {
    const errors: Error[] = [];
    const cutter = new ResponseFrames(
      () => {},
      (error) => errors.push(error),
    );
    cutter.take(Buffer.from([0xff, 0xff, 0xff, 0xf0, 1, 2]), 6);
    expect(errors.map((e) => e.message)).toEqual(['Kafka sent a response of -16 bytes: not a Kafka response']);
  });
});

describe('processData (kafkajs Connection)', () => {
  it("hands kafkajs' request queue the same responses as kafkajs' own, from any chunking (property)", () => {
    const original = kafkajsOriginals.processData as typeof processData;
    expect(typeof original).toBe('function');
    const connection = () => {
      const fulfilled: { size: number; correlationId: number; payload: string }[] = [];
      return {
        fulfilled,
        chunks: [] as Buffer[],
        bytesBuffered: 0,
        bytesNeeded: 4,
        requestQueue: { fulfillRequest: (r: { size: number; correlationId: number; payload: Buffer }) => fulfilled.push({ ...r, payload: r.payload.toString('hex') }) },
      };
    };
    fc.assert(
      fc.property(payloads, reads, (sent, sizes) => {
        const stream = wire(sent);
        const mine = connection();
        const theirs = connection();
        for (let at = 0, k = 0; at < stream.length; k++) {
          const chunk = stream.subarray(at, Math.min(stream.length, at + sizes[k % sizes.length]!));
          processData.call(mine, chunk);
          original.call(theirs, chunk);
          at += chunk.length;
        }
        expect(mine.fulfilled).toEqual(theirs.fulfilled);
        expect(mine.fulfilled.length).toBe(sent.length);
      }),
      { numRuns: 100, seed: 20261126 },
    );
    expect(require('kafkajs/src/network/connection').prototype.processData).toBe(processData);
  });
});

describe('framedSocketFactory', () => {
  it("hands TLS connections to kafkajs' own factory, with the arguments it was given", () => {
    const given: unknown[] = [];
    const tlsSocket = {} as net.Socket;
    const factory = framedSocketFactory((args) => {
      given.push(args);
      return tlsSocket;
    });
    const args = { host: 'kafka.example', port: 9093, ssl: { rejectUnauthorized: true }, onConnect: () => {} };
    expect(factory(args)).toBe(tlsSocket);
    expect(given).toEqual([args]);
  });
});
