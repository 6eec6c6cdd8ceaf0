/**
 * The offset compare-and-set of a batch writer, on its own: a partition's first offset is
 * inserted, later ones move in the COMMIT's round trip. When a stored offset is not the one the
 * writer expects (another consumer wrote first), nothing of the batch commits — rows, dead
 * letters, offsets — and the outcome names the partitions that were not where expected.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordOf } from '../../src/kafka/kafka-client.js';
import { openBatchWriter, type BatchWriter } from '../../src/tasks/kafka-to-postgres/kafka-to-postgres-writer.js';
import { testLogger } from '../helpers/orchestration.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

let database: TestDatabase;
let pool: pg.Pool;
let writer: BatchWriter;
beforeAll(async () => {
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url, max: 2 });
  await pool.query('create table cas (id bigint not null)');
  writer = await openBatchWriter(pool, {
    table: 'cas',
    mode: 'append',
    key: undefined,
    columns: { id: { field: undefined, type: 'bigint' } },
    // A consumer and topic with quotes: they are literals in the compare-and-set's statement.
    consumer: "group 'o'",
    topic: "topic'; drop table cas; --",
    deadLetterTable: 'dfm.dead_letter',
    runId: null,
    ensureDfmTables: false,
    logger: testLogger,
  });
});
afterAll(async () => {
  await writer.close();
  await pool.end();
  await database.drop();
});

const signal = new AbortController().signal;
/** A batch of ids (and one dead letter) from partitions 0 and 1. */
function batchOf(ids: number[]) {
  const batch = writer.newBatch();
  batch.addRange(0, ids.map((id) => recordOf(id, null, JSON.stringify({ id }))), 0, ids.length);
  batch.addRange(1, [recordOf(ids[0]!, null, '{"not json')], 0, 1);
  return batch;
}
const state = async () => ({
  rows: Number((await pool.query<{ n: string }>('select count(*) as n from cas')).rows[0]!.n),
  dead: Number((await pool.query<{ n: string }>('select count(*) as n from dfm.dead_letter')).rows[0]!.n),
  offsets: Object.fromEntries((await pool.query<{ partition: number; offset: string }>('select partition, "offset" from dfm.kafka_offset order by partition')).rows.map((r) => [r.partition, r.offset])),
});

describe('a batch writer\'s offset compare-and-set', () => {
  it('inserts first offsets, moves them with the commit, and rolls back a whole batch when one is not where expected', async () => {
    expect(await writer.write(batchOf([0, 1]), new Map([[0, { expected: undefined, next: 2n }], [1, { expected: undefined, next: 1n }]]), signal)).toMatchObject({ status: 'committed', rows: 2, deadLetters: 1 });
    expect(await state()).toEqual({ rows: 2, dead: 1, offsets: { 0: '2', 1: '1' } });

    // Partition 1 is not at 7: fenced, and partition 0's move, the rows and the dead letter roll back with it.
    expect(await writer.write(batchOf([2, 3]), new Map([[0, { expected: 2n, next: 4n }], [1, { expected: 7n, next: 2n }]]), signal)).toEqual({ status: 'fenced', partitions: [1] });
    expect(await state()).toEqual({ rows: 2, dead: 1, offsets: { 0: '2', 1: '1' } });
    expect(await writer.write(batchOf([2, 3]), new Map([[0, { expected: 5n, next: 4n }], [1, { expected: 7n, next: 2n }]]), signal)).toEqual({ status: 'fenced', partitions: [0, 1] });

    expect(await writer.write(batchOf([2, 3]), new Map([[0, { expected: 2n, next: 4n }], [1, { expected: 1n, next: 2n }]]), signal)).toMatchObject({ status: 'committed', rows: 2, deadLetters: 1 });
    expect(await state()).toEqual({ rows: 4, dead: 2, offsets: { 0: '4', 1: '2' } });
    // The connection is still good for the next batch.
    expect(await writer.readStoredOffsets()).toEqual(new Map([[0, 4n], [1, 2n]]));
  });
});
