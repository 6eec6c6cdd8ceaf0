/**
 * The history check of exactly-once: 100,000 ids seeded with kcat over 3 partitions, landed by
 * kafka.to_postgres in append mode (no key: a duplicate would stay visible), while the dfm
 * process doing it is killed with SIGKILL three times at different points of the stream. After the
 * restarts the table holds exactly the seeded ids, each once, and the stored offsets are the last
 * offset + 1 of every partition.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { triggerRun } from '../../src/runs/trigger-run.js';
import { spawnDfm, writePipelines, type DfmProcess } from '../helpers/dfm-process.js';
import { activate, taskRows, useOrchestration, waitForRun } from '../helpers/orchestration.js';
import { uniqueTopic } from '../helpers/test-database.js';
import { createTopic, deleteTopic, partitionRanges, produceWithKcat } from './kafka-test-tools.js';

const N = 100_000;
const PARTITIONS = 3;
const topic = uniqueTopic('dfm-history');
const processes: DfmProcess[] = [];
const empty = writePipelines({});

const { o, database } = useOrchestration();
afterEach(async () => {
  for (const p of processes.splice(0)) {
    p.kill('SIGKILL');
    await p.exited;
  }
});
afterAll(async () => {
  empty.remove();
  await deleteTopic(topic);
});

function startWorkerProcess(): DfmProcess {
  const p = spawnDfm(['serve', '--role', 'worker'], { DATABASE_URL: database.url, DFM_PIPELINES_DIR: empty.dir, LOG_LEVEL: 'info' });
  processes.push(p);
  return p;
}

/** Polls every 10 ms: a worker lands ~2,000-row batches several times a second. */
async function waitForRows(threshold: number): Promise<void> {
  const deadline = Date.now() + 90_000;
  while ((await landed()) < threshold) {
    if (Date.now() > deadline) throw new Error(`fewer than ${threshold} rows landed after 90 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const landed = async () => Number((await o.pool.query<{ n: string }>('select count(*) as n from history')).rows[0]!.n);

describe('kafka.to_postgres under kill -9', () => {
  it('lands each of 100,000 seeded ids exactly once across three SIGKILLs', async () => {
    await createTopic(topic, PARTITIONS);
    // ~120-byte values; keys spread the ids over the partitions.
    const pad = 'x'.repeat(80);
    await produceWithKcat(topic, Array.from({ length: N }, (_, id) => ({ key: `id-${id}`, value: `{"id":${id},"note":"${pad}"}` })));
    const ranges = await partitionRanges(topic);
    expect([...ranges.values()].every((r) => r.high > 20_000n)).toBe(true);

    await o.pool.query('create table history (id bigint not null, note text)');
    await activate(
      o.pool,
      `id: history
defaults: { retries: 10, retry_delay: 100ms, retry_backoff: fixed }
tasks:
  land:
    type: kafka.to_postgres
    topic: ${topic}
    table: history
    mode: append
    columns:
      id: { type: bigint }
      note: { type: text }
    batch_size: 2000
    batch_max_wait: 200ms
    session_timeout: 6s
`,
    );
    const { runId } = await triggerRun(o.pool, { pipelineId: 'history' });

    const killedAt: number[] = [];
    // A different delay after each threshold lands the kill at a different point of a batch
    // (decoding, COPY, the offset update, the commit, the Kafka commit).
    for (const [threshold, delayMs] of [[10_000, 0], [40_000, 37], [65_000, 13]] as const) {
      const worker = startWorkerProcess();
      await waitForRows(threshold);
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      worker.kill('SIGKILL');
      expect(await worker.exited).toBe(null);
      killedAt.push(await landed());
    }
    startWorkerProcess();
    const state = await waitForRun(o.pool, runId, 120_000);
    expect(state, JSON.stringify(await taskRows(o.pool, runId))).toBe('success');

    const counts = await o.pool.query<{ n: string; distinct: string; min: string; max: string }>('select count(*) as n, count(distinct id) as distinct, min(id) as min, max(id) as max from history');
    // count = count(distinct) = N with every id in [0, N): the table holds exactly the seeded set.
    expect(counts.rows[0]).toEqual({ n: String(N), distinct: String(N), min: '0', max: String(N - 1) });
    const offsets = await o.pool.query<{ partition: number; offset: string }>('select partition, "offset" from dfm.kafka_offset where consumer = $1 and topic = $2 order by partition', ['dfm.history.land', topic]);
    expect(offsets.rows.map((r) => [r.partition, BigInt(r.offset)])).toEqual([...ranges].sort(([a], [b]) => a - b).map(([p, r]) => [p, r.high]));
    const task = (await taskRows(o.pool, runId))['land']!;
    // Each kill cost one attempt (reaped as WORKER_LOST); a rebalance on a busy machine may cost
    // another, retried like any failure. Either way the data above landed exactly once.
    const lost = await o.pool.query("select count(*)::int as n from dfm.task_attempt a join dfm.task_run t on t.id = a.task_run_id where t.run_id = $1 and a.error->>'code' = 'WORKER_LOST'", [runId]);
    expect(lost.rows[0].n).toBe(3);
    expect(task.attempt).toBeGreaterThanOrEqual(4);
    // Each kill was mid-stream: rows had landed before it and more remained.
    expect(killedAt.every((n) => n > 0 && n < N), `killed at ${killedAt.join(', ')}`).toBe(true);
    expect(new Set(killedAt).size).toBe(3);
    console.log(`history: killed at ${killedAt.join(', ')} rows; finished as attempt ${task.attempt}`);
  });
});
