/**
 * The zombie fence (kafkajs issue 1046), twice. First the bare consumer: a process frozen with
 * SIGSTOP in the middle of a batch is evicted from the group; another member takes its partitions
 * and continues from Postgres; when the frozen one resumes, its batch fails the offset
 * compare-and-set and rolls back. Then the whole service: a worker frozen with SIGSTOP mid-stream loses its task
 * (heartbeat timeout) and its group membership (session timeout) to a second worker, which
 * continues from the offsets in Postgres. When the frozen one resumes, the batch it had in hand
 * fails the offset compare-and-set and rolls back: no id is written twice.
 */
import { spawn } from 'node:child_process';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { triggerRun } from '../../src/runs/trigger-run.js';
import { spawnDfm, writePipelines, type DfmProcess } from '../helpers/dfm-process.js';
import { activate, taskRows, useOrchestration, waitForRun } from '../helpers/orchestration.js';
import { uniqueTopic } from '../helpers/test-database.js';
import { createTopic, deleteTopic, partitionRanges, produceWithKcat } from './kafka-test-tools.js';

const N = 80_000;
const topic = uniqueTopic('dfm-zombie');
const processes: DfmProcess[] = [];
const empty = writePipelines({});

const { o, database } = useOrchestration();
afterEach(async () => {
  for (const p of processes.splice(0)) {
    p.kill('SIGCONT');
    p.kill('SIGKILL');
    await p.exited;
  }
});
afterAll(async () => {
  empty.remove();
  await deleteTopic(topic);
});

const landed = async () => Number((await o.pool.query<{ n: string }>('select count(*) as n from zombie')).rows[0]!.n);
async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function startWorkerProcess(): DfmProcess {
  const p = spawnDfm(['serve', '--role', 'worker'], { DATABASE_URL: database.url, DFM_PIPELINES_DIR: empty.dir, LOG_LEVEL: 'warn' });
  processes.push(p);
  return p;
}

interface Consumer {
  output(): string;
  kill(signal: NodeJS.Signals): void;
  exited: Promise<number | null>;
}
const consumers: Consumer[] = [];
afterEach(async () => {
  for (const c of consumers.splice(0)) {
    c.kill('SIGCONT');
    c.kill('SIGKILL');
    await c.exited;
  }
});

function startConsumer(options: { topic: string; table: string; groupId: string; batchSize: number; decodeOnWorker: boolean }): Consumer {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/kafka-data-plane/consume-process.ts', JSON.stringify({ databaseUrl: database.url, brokers: inject('kafkaBrokers'), ...options })], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const consumer = {
    output: () => output,
    kill: (signal: NodeJS.Signals) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    exited: new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code))),
  };
  consumers.push(consumer);
  return consumer;
}

describe('a bare consumer frozen mid-batch past its session timeout', () => {
  it('is fenced by the offset compare-and-set when it resumes: no duplicates', async () => {
    const bareTopic = uniqueTopic('dfm-zombie-bare');
    const total = 20_000;
    await createTopic(bareTopic, 3);
    try {
      await produceWithKcat(bareTopic, Array.from({ length: total }, (_, id) => ({ key: `id-${id}`, value: `{"id":${id}}` })));
      // Each batch's INSERT takes 150 ms (a statement trigger sleeps): a SIGSTOP almost surely
      // lands inside a batch, before its offset update.
      await o.pool.query(`create table bare (id bigint not null);
        create function slow_down() returns trigger language plpgsql as $$ begin perform pg_sleep(0.15); return null; end $$;
        create trigger slow_down after insert on bare for each statement execute function slow_down();`);
      const options = { topic: bareTopic, table: 'bare', groupId: 'zombie-bare', batchSize: 500 };
      // The zombie builds its rows with the decoding worker sharing them, the successor on its own
      // thread: both ways of the task meet the fence.
      const zombie = startConsumer({ ...options, decodeOnWorker: true });
      await waitFor(async () => Number((await o.pool.query('select count(*) as n from bare')).rows[0].n) >= 2_000, '2,000 rows');
      zombie.kill('SIGSTOP');
      const successor = startConsumer({ ...options, decodeOnWorker: false });
      // The successor joins once the frozen member's 6 s session expired. Resume the zombie while
      // the successor is still working (it needs ~40 batches of 150 ms) and well before the 15 s
      // idle-in-transaction limit would end the zombie's transaction for it.
      await new Promise((r) => setTimeout(r, 9_000));
      zombie.kill('SIGCONT');
      // Both finish within a minute; if not, say what each was doing.
      const outputs = () => `zombie output:\n${zombie.output()}\nsuccessor output:\n${successor.output()}`;
      const exits = await Promise.race([Promise.all([successor.exited, zombie.exited]), new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000).unref())]);
      expect(exits, outputs()).toEqual([0, 0]);
      const counts = await o.pool.query('select count(*) as n, count(distinct id) as distinct, min(id) as min, max(id) as max from bare');
      expect(counts.rows[0]).toEqual({ n: String(total), distinct: String(total), min: '0', max: String(total - 1) });
      const fenced = [zombie, successor].map((c) => (c.output().match(/compare-and-set failed/g) ?? []).length);
      // Whichever of the two reached the compare-and-set second rolled back (the zombie, unless it
      // was frozen between its offset update and its commit: then the successor waited on the row lock).
      expect(fenced[0]! + fenced[1]!, `zombie output:\n${zombie.output()}\nsuccessor output:\n${successor.output()}`).toBeGreaterThanOrEqual(1);
      console.log(`bare zombie: fenced batches zombie=${fenced[0]} successor=${fenced[1]}`);
    } finally {
      await deleteTopic(bareTopic);
    }
  });
});

describe('a worker frozen past its session timeout', () => {
  it('resumes as a zombie whose writes are fenced off: no duplicates', async () => {
    await createTopic(topic, 3);
    await produceWithKcat(topic, Array.from({ length: N }, (_, id) => ({ key: `id-${id}`, value: `{"id":${id}}` })));
    const ranges = await partitionRanges(topic);
    await o.pool.query('create table zombie (id bigint not null)');
    await activate(
      o.pool,
      `id: zombie
defaults: { retries: 5, retry_delay: 100ms }
tasks:
  land:
    type: kafka.to_postgres
    topic: ${topic}
    table: zombie
    mode: append
    columns: { id: { type: bigint } }
    batch_size: 1000
    batch_max_wait: 100ms
    session_timeout: 6s
`,
    );
    const { runId } = await triggerRun(o.pool, { pipelineId: 'zombie' });
    const zombie = startWorkerProcess();
    await waitFor(async () => (await landed()) >= 5_000, '5,000 rows');
    zombie.kill('SIGSTOP');
    const frozenAt = await landed();

    // The second worker reaps the task (2 s heartbeat timeout), joins the group once the frozen
    // member's 6 s session expired, and writes from the stored offsets.
    startWorkerProcess();
    await waitFor(async () => (await landed()) >= frozenAt + 5_000, 'the second worker to land 5,000 more rows', 60_000);
    zombie.kill('SIGCONT');

    expect(await waitForRun(o.pool, runId, 90_000)).toBe('success');
    // Give the resumed zombie time to try its stale batch and be fenced (or to notice it lost its claim).
    await waitFor(async () => /compare-and-set failed|no longer ours/.test(zombie.output()), 'the zombie to notice', 20_000);

    const counts = await o.pool.query<{ n: string; distinct: string; min: string; max: string }>('select count(*) as n, count(distinct id) as distinct, min(id) as min, max(id) as max from zombie');
    expect(counts.rows[0]).toEqual({ n: String(N), distinct: String(N), min: '0', max: String(N - 1) });
    const offsets = await o.pool.query<{ partition: number; offset: string }>('select partition, "offset" from dfm.kafka_offset where consumer = $1 order by partition', ['dfm.zombie.land']);
    expect(offsets.rows.map((r) => [r.partition, BigInt(r.offset)])).toEqual([...ranges].sort(([a], [b]) => a - b).map(([p, r]) => [p, r.high]));
    expect((await taskRows(o.pool, runId))['land']!.attempt).toBe(2);
    const fenced = /compare-and-set failed/.test(zombie.output());
    console.log(`zombie: frozen at ${frozenAt} rows; its stale batch was ${fenced ? 'fenced by the offset compare-and-set' : 'dropped (it saw the lost claim first)'}`);
  });
});
