/**
 * A batch that takes longer than PostgreSQL's 15 s idle-in-transaction limit, with the next batch
 * already streamed in on another connection and waiting for it to commit. Idle that long, the
 * waiting transaction's session would be ended by the server (and the task fail): it rolls back
 * after 10 s instead, waits outside a transaction and writes again once the slow batch committed.
 * The run succeeds on its first attempt with every record once.
 */
import { describe, expect, it } from 'vitest';
import { activate, runToEnd, taskRows, useOrchestration } from '../helpers/orchestration.js';
import { uniqueTopic } from '../helpers/test-database.js';
import { createTopic, deleteTopic, produceWithKcat } from './kafka-test-tools.js';

const topic = uniqueTopic('dfm-slow-batch');
const { o } = useOrchestration(() => deleteTopic(topic));
const RECORDS = 300;

describe('kafka.to_postgres with a batch slower than the idle-in-transaction limit', () => {
  it('has the batch after it wait outside a transaction, and lands every record once on attempt 1', async () => {
    await createTopic(topic, 1);
    // The COPY of the first batch (the one holding id 0, the topic's first record) sleeps 17 s; every
    // statement is counted. Which of the three writers' statements ends first is up to the
    // scheduler, so the slow one is chosen by its rows, not by its turn.
    await o.pool.query(`create table slow (id bigint not null);
      create sequence slow_statements;
      create function slow_first() returns trigger language plpgsql as $$
        begin
          perform nextval('slow_statements');
          if exists (select 1 from new_rows where id = 0) then perform pg_sleep(17); end if;
          return null;
        end $$;
      create trigger slow_first after insert on slow referencing new table as new_rows
        for each statement execute function slow_first();`);
    await produceWithKcat(topic, Array.from({ length: RECORDS }, (_, id) => ({ key: String(id), value: JSON.stringify({ id }) })));
    await activate(
      o.pool,
      `id: slow_batch
tasks:
  land:
    type: kafka.to_postgres
    topic: ${topic}
    table: slow
    columns:
      id: { type: bigint }
    batch_size: 100
    batch_max_wait: 100ms
    session_timeout: 6s
`,
    );
    o.startWorker();
    const { runId, state } = await runToEnd(o.pool, 'slow_batch', 60_000);
    expect(state).toBe('success');
    const land = (await taskRows(o.pool, runId))['land']!;
    expect(land.attempt).toBe(1);
    expect(land.output).toMatchObject({ records: RECORDS, rows: RECORDS, fenced: 0, stoppedBy: 'caught_up' });
    const counts = await o.pool.query('select count(*)::int as n, count(distinct id)::int as distinct_n from slow');
    expect(counts.rows[0]).toEqual({ n: RECORDS, distinct_n: RECORDS });
    const statements = await o.pool.query<{ n: string }>("select last_value as n from slow_statements");
    // One COPY per committed batch, and the COPY of a batch that waited for the slow one again
    // (its first try rolled back at the gate).
    const batches = (land.output as { batches: number }).batches;
    expect(batches).toBeGreaterThanOrEqual(2);
    expect(Number(statements.rows[0]!.n), `${batches} batches`).toBeGreaterThan(batches);
  }, 90_000);
});
