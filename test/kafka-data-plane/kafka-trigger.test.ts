/**
 * The Kafka trigger makes exactly one run per batch of records, across a kill -9 of the dfm
 * process that watches it: the run and the trigger's offsets commit in one transaction, so the
 * restarted process neither repeats the first batch nor misses the one produced while it was down.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnDfm, writePipelines, type DfmProcess } from '../helpers/dfm-process.js';
import { useOrchestration } from '../helpers/orchestration.js';
import { uniqueTopic } from '../helpers/test-database.js';
import { createTopic, deleteTopic, partitionRanges, produceWithKcat } from './kafka-test-tools.js';

const topic = uniqueTopic('dfm-trigger');
const missingTopic = uniqueTopic('dfm-trigger-missing');
const processes: DfmProcess[] = [];
const BATCH = 10;
const pipelines = writePipelines({
  'triggered.yaml': `id: triggered
triggers:
  - kafka: { topic: ${topic}, min_records: ${BATCH} }
tasks:
  record:
    type: postgres.sql
    sql: "insert into trigger_runs (run_id) values (:run_id)"
`,
  'missing.yaml': `id: missing-topic
triggers:
  - kafka: { topic: ${missingTopic} }
tasks:
  noop: { type: postgres.sql, sql: "select 1" }
`,
});

const { o, database } = useOrchestration();
beforeAll(async () => {
  await o.pool.query('create table trigger_runs (run_id bigint primary key)');
});
afterEach(async () => {
  for (const p of processes.splice(0)) {
    p.kill('SIGKILL');
    await p.exited;
  }
});
afterAll(async () => {
  pipelines.remove();
  await deleteTopic(topic);
});

function startDfm(): DfmProcess {
  const p = spawnDfm(['serve'], { DATABASE_URL: database.url, DFM_PIPELINES_DIR: pipelines.dir, LOG_LEVEL: 'info' });
  processes.push(p);
  return p;
}

const eventRuns = async () =>
  (await o.pool.query<{ id: string; state: string; dedupe_key: string }>("select id, state, dedupe_key from dfm.run where pipeline_id = 'triggered' and trigger = 'event' order by id")).rows;

async function waitForRuns(count: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const runs = await eventRuns();
    if (runs.length >= count && runs.every((r) => r.state === 'success')) return;
    if (Date.now() > deadline) throw new Error(`expected ${count} successful event runs, have ${JSON.stringify(runs)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Records `[from, to)` of each partition named in a dedupe key `kafka:<topic>:p:from-to,…`. */
function recordsOf(dedupeKey: string): number {
  const spans = dedupeKey.slice(`kafka:${topic}:`.length).split(',');
  return spans.reduce((sum, span) => {
    const [, from, to] = /^\d+:(\d+)-(\d+)$/.exec(span)!;
    return sum + Number(to) - Number(from);
  }, 0);
}

describe('the Kafka trigger', () => {
  it('creates exactly one run per batch of records across a kill -9 of the watcher', async () => {
    await createTopic(topic, 3);
    const first = startDfm();
    await first.waitForOutput(/scheduler leader/);
    // A topic that does not exist: a clear warning naming it and the broker, and no run.
    await first.waitForOutput(new RegExp(`Kafka topic \\\\?"${missingTopic}\\\\?" does not exist on 127\\.0\\.0\\.1:\\d+`));

    // Fewer than min_records: no run yet.
    await produceWithKcat(topic, Array.from({ length: BATCH - 1 }, (_, i) => ({ key: `a${i}`, value: `{"n":${i}}` })));
    await new Promise((r) => setTimeout(r, 1500));
    expect(await eventRuns()).toHaveLength(0);
    await produceWithKcat(topic, [{ key: 'a9', value: '{"n":9}' }]);
    await waitForRuns(1);

    first.kill('SIGKILL');
    await first.exited;
    // The second batch arrives while no watcher runs.
    await produceWithKcat(topic, Array.from({ length: BATCH }, (_, i) => ({ key: `b${i}`, value: `{"n":${i}}` })));
    const second = startDfm();
    await second.waitForOutput(/scheduler leader/);
    await waitForRuns(2);
    // A few more polls change nothing: no duplicate of either batch.
    await new Promise((r) => setTimeout(r, 1500));

    const runs = await eventRuns();
    expect(runs).toHaveLength(2);
    expect(runs.map((r) => recordsOf(r.dedupe_key))).toEqual([BATCH, BATCH]);
    const ran = await o.pool.query<{ run_id: string }>('select run_id from trigger_runs order by run_id');
    expect(ran.rows.map((r) => r.run_id)).toEqual(runs.map((r) => r.id));
    const ends = await partitionRanges(topic);
    const stored = await o.pool.query<{ partition: number; offset: string }>("select partition, \"offset\" from dfm.kafka_offset where consumer = 'trigger:triggered' order by partition");
    expect(stored.rows.map((r) => [r.partition, BigInt(r.offset)])).toEqual([...ends].sort(([a], [b]) => a - b).map(([p, r]) => [p, r.high]));
    expect(await o.pool.query("select 1 from dfm.run where pipeline_id = 'missing-topic'")).toHaveProperty('rowCount', 0);
  });
});
