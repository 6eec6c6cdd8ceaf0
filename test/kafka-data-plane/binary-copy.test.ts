/**
 * kafka.to_postgres COPYs in binary when every target column has its mapping's type. Binary is
 * only right if PostgreSQL stores exactly what it stores from the text the task used to send: the
 * same generated records go through both layouts into two tables of the same shape, and the
 * tables must hold the same rows (EXCEPT ALL both ways), with the same dead letters.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testLogger } from '../helpers/orchestration.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { recordOf } from '../../src/kafka/kafka-client.js';
import type { ColumnPlan, ColumnType } from '../../src/tasks/kafka-to-postgres/kafka-record-decode.js';
import { batchFactory, openBatchWriter, type PendingBatch } from '../../src/tasks/kafka-to-postgres/kafka-to-postgres-writer.js';

const col = (name: string, type: ColumnType, key = false): ColumnPlan => ({ name, path: [name], type, key });
const COLUMNS = [col('id', 'bigint', true), col('s', 'text'), col('i', 'integer'), col('b', 'bigint'), col('d', 'double'), col('f', 'boolean'), col('at', 'timestamptz')];
const DDL = 'id bigint not null, s text, i integer, b bigint, d double precision, f boolean, at timestamptz';

let database: TestDatabase;
let pool: pg.Pool;
beforeAll(async () => {
  database = await createTestDatabase();
  // Binary timestamps are UTC instants; text ones without a zone are read in the session's zone.
  pool = new pg.Pool({ connectionString: database.url, max: 3, options: '-c TimeZone=UTC' });
});
afterAll(async () => {
  await pool.end();
  await database.drop();
});

async function copy(batch: PendingBatch, table: string): Promise<void> {
  const client = await pool.connect();
  try {
    const stream = client.query(copyStreams.from(`copy ${table} (${COLUMNS.map((c) => c.name).join(', ')}) from stdin${batch.binary ? ' (format binary)' : ''}`));
    await pipeline(Readable.from(batch.copyChunks()), stream);
  } finally {
    client.release();
  }
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');
const timestamp = fc.oneof(
  fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString()),
  // Hand-built: any day 1–31 of any month (February 30 included), any zone, 0–9 fraction digits.
  fc
    .record({
      year: fc.integer({ min: 0, max: 9999 }),
      month: fc.integer({ min: 1, max: 12 }),
      day: fc.integer({ min: 1, max: 31 }),
      time: fc.option(fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.option(fc.integer({ min: 0, max: 59 })), fc.stringMatching(/^\d{0,9}$/))),
      zone: fc.constantFrom('', 'Z', 'z', '+05', '-0330', '+15:59', '-15:59', '+16', '+00:00', '-23'),
      separator: fc.constantFrom('T', ' '),
    })
    .map(({ year, month, day, time, zone, separator }) => {
      const date = `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
      if (time === null) return date;
      const [h, m, s, fraction] = time;
      return `${date}${separator}${pad(h)}:${pad(m)}${s === null ? '' : `:${pad(s)}${fraction ? `.${fraction}` : ''}`}${zone}`;
    }),
  fc.integer({ min: -8.64e15, max: 8.64e15 }),
  fc.constantFrom('2024-02-29T23:59:59.9999995Z', '2000-01-01T00:00:00.0000005', '1999-12-31T23:59:59.999999999+15:59', '2024-01-01T00:00:00.0000015Z'),
);
const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('tab\there', 'back\\slash', 'new\nline', '\r', 'é€😀', ''));
const integer = fc.oneof(fc.integer(), fc.constantFrom(2147483647, -2147483648, 2147483648, -0, 7.0, '12', ' 13 ', '-0'), fc.double());
const bigint = fc.oneof(fc.maxSafeInteger(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String), fc.constantFrom(-1, 2 ** 53, '-9223372036854775808', '9223372036854775808', 1e3));
const double = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.constantFrom(-0, '-0', 1e-7, 0.1, 123456789012345, 1.7976931348623157e308, 5e-324, '1e-400', '4e-320', ' 2.50 ', '1e309', 0.000001),
);
// Every field but the key is optional, so that most records have a bad field in none of them.
const value = fc.record(
  {
    id: fc.oneof({ weight: 20, arbitrary: fc.maxSafeInteger() }, fc.constant(null)),
    s: fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null)),
    i: integer,
    b: bigint,
    d: double,
    f: fc.oneof(fc.boolean(), fc.constantFrom('true', 'false', 'yes', 1)),
    at: timestamp,
  },
  { requiredKeys: ['id'] },
);

describe('binary COPY', () => {
  it('stores exactly what the text COPY stores, and dead-letters the same records (property)', async () => {
    await pool.query(`create table via_text (${DDL}); create table via_binary (${DDL})`);
    const records = fc.sample(fc.tuple(value, fc.constantFrom(undefined, 1, '\t')), { numRuns: 6000, seed: 20261125 });
    const toRecord = ([object, space]: (typeof records)[number], offset: number) => recordOf(offset, null, JSON.stringify(object, null, space));
    const viaText = batchFactory({ columns: COLUMNS, jsonColumns: [], withSeq: false, binary: false })();
    const viaBinary = batchFactory({ columns: COLUMNS, jsonColumns: [], withSeq: false, binary: true })();
    // JSON texts JSON.stringify does not write: negative zeros, exponents, trailing zeros, underflow.
    const raw = ['{"id":1,"d":-0,"i":-0,"b":-0}', '{"id":2,"d":-0.0}', '{"id":3,"d":-0e5,"i":1e3,"b":-2E2}', '{"id":4,"d":"-0"}', '{"id":5,"d":1e-400}', '{"id":6,"d":7.50,"i":7.0}', '{"id":7,"d":-1.25e-7}'];
    const all = [...records.map(toRecord), ...raw.map((text, i) => recordOf(records.length + i, null, text))];
    viaText.addRange(0, all, 0, all.length);
    viaBinary.addRange(0, all, 0, all.length);

    expect(viaBinary.dead.map((d) => `${d.offset}: ${d.error}`)).toEqual(viaText.dead.map((d) => `${d.offset}: ${d.error}`));
    expect(viaBinary.rows).toBe(viaText.rows);
    expect(viaBinary.rows).toBeGreaterThan(1000);
    await copy(viaText, 'via_text');
    await copy(viaBinary, 'via_binary');
    const { rows } = await pool.query<{ only_text: string; only_binary: string; n: string }>(
      `select (select count(*) from (select * from via_text except all select * from via_binary) t) as only_text,
              (select count(*) from (select * from via_binary except all select * from via_text) t) as only_binary,
              (select count(*) from via_binary) as n`,
    );
    expect(rows[0]).toEqual({ only_text: '0', only_binary: '0', n: String(viaText.rows) });
    // -0 is stored as 0 from a number, as -0 from the text "-0", in both.
    const { rows: zeros } = await pool.query<{ t: string; b: string }>(
      `select (select string_agg(d::text, ',' order by d::text) from via_text where d = 0) as t, (select string_agg(d::text, ',' order by d::text) from via_binary where d = 0) as b`,
    );
    expect(zeros[0]!.b).toBe(zeros[0]!.t);
  });

  it('is chosen only when every target column has its mapping type and timestamps are read as UTC', async () => {
    await pool.query(`create table exact (${DDL}); create table loose (${DDL.replace('i integer', 'i numeric')})`);
    const options = { mode: 'append' as const, key: undefined, consumer: 'c', topic: 't', deadLetterTable: 'dfm.dead_letter', runId: null, ensureDfmTables: true, logger: testLogger };
    const columns = Object.fromEntries(COLUMNS.map((c) => [c.name, { field: undefined, type: c.type }]));
    const layoutOf = async (p: pg.Pool, table: string) => {
      const writer = await openBatchWriter(p, { ...options, table, columns });
      await writer.close();
      return writer.layout.binary;
    };
    expect(await layoutOf(pool, 'exact')).toBe(true);
    expect(await layoutOf(pool, 'loose')).toBe(false);
    const paris = new pg.Pool({ connectionString: database.url, max: 1, options: '-c TimeZone=Europe/Paris' });
    try {
      expect(await layoutOf(paris, 'exact')).toBe(false);
      // A zoneless timestamp lands as the session reads it: Paris time.
      const writer = await openBatchWriter(paris, { ...options, table: 'exact', columns });
      const batch = writer.newBatch();
      batch.addRange(0, [recordOf(0, null, '{"id":1,"at":"2024-07-01 12:00"}')], 0, 1);
      expect(await writer.write(batch, new Map([[0, { expected: undefined, next: 1n }]]), new AbortController().signal)).toMatchObject({ status: 'committed', rows: 1 });
      await writer.close();
      const { rows } = await pool.query<{ at: Date }>('select at from exact where id = 1');
      expect(rows[0]!.at.toISOString()).toBe('2024-07-01T10:00:00.000Z');
    } finally {
      await paris.end();
    }
  });
});
