/**
 * graphile-worker 0.17.3 side of the scheduler bench, default (unbatched) settings: no local
 * queue, no completion batching. Its own logger is silenced below warnings, as dfm's is.
 */
import pg from 'pg';
import { Logger, makeWorkerUtils, run, type Runner, type Task } from 'graphile-worker';
import { Events, sampleWaits, sleep, waitNoBackends, within, xactCommit, type BenchOptions, type WaitSummary } from './common.js';

const logger = new Logger(() => (level, message) => {
  if (level === 'error' || level === 'warning') process.stderr.write(`[graphile-worker ${level}] ${message}\n`);
});

const POLL_INTERVAL_MS = 2000;

async function start(url: string, concurrency: number, taskList: Record<string, Task>): Promise<Runner> {
  return run({ connectionString: url, concurrency, noHandleSignals: true, pollInterval: POLL_INTERVAL_MS, logger, taskList });
}

export async function setupGraphile(url: string): Promise<void> {
  const utils = await makeWorkerUtils({ connectionString: url, logger });
  try {
    await utils.migrate();
  } finally {
    await utils.release();
  }
}

export interface LatencySample {
  /** Handler start − the moment COMMIT of the enqueueing transaction was sent, ms. */
  readonly fromCommit: number;
  /** Handler start − start of the enqueueing transaction (graphile's perfTest method), ms. */
  readonly fromEnqueue: number;
}

/**
 * One system under test, driven sample by sample so that C1 and C2 can alternate between the two
 * systems (this machine is shared: load changes over minutes, alternating spreads it evenly).
 */
export interface System {
  readonly name: string;
  start(concurrency: number): Promise<void>;
  stop(): Promise<void>;
  /** C1: make one task ready, wait for its handler to start and its completion; `id` unique. */
  latencySample(id: number): Promise<LatencySample>;
  /** C2: one chain of `steps`; ms from the COMMIT of step 1 to the end of the last handler. */
  chain(rep: number, steps: number): Promise<number>;
  /** Handler starts seen more than once (a task that ran twice). */
  ranTwice(): number;
}

export function graphileSystem(url: string): System {
  const events = new Events();
  let runner: Runner | undefined;
  let client: pg.Client | undefined;
  let steps = 0;
  return {
    name: 'graphile-worker',
    async start(concurrency) {
      runner = await start(url, concurrency, {
        c1: async (payload) => {
          events.record(`c1:start:${(payload as { id: number }).id}`);
        },
        c2: async (payload, helpers) => {
          const { rep, step } = payload as { rep: number; step: number };
          events.record(`c2:start:${rep}:${step}`);
          if (step < steps) await helpers.addJob('c2', { rep, step: step + 1 });
          events.record(`c2:end:${rep}:${step}`);
        },
      });
      runner.events.on('job:complete', ({ job }) => {
        if (job.task_identifier === 'c1') events.record(`c1:done:${(job.payload as { id: number }).id}`);
      });
      client = new pg.Client({ connectionString: url, application_name: 'bench-enqueue' });
      await client.connect();
      await sleep(300); // LISTEN is up and the first fetch is done before timing starts
    },
    async stop() {
      await client?.end();
      await runner?.stop();
      client = undefined;
      runner = undefined;
    },
    async latencySample(id) {
      const t0 = performance.now();
      await client!.query('begin');
      await client!.query("select graphile_worker.add_job('c1', json_build_object('id', $1::int))", [id]);
      const tCommit = performance.now();
      await client!.query('commit');
      const started = await events.wait(`c1:start:${id}`);
      await events.wait(`c1:done:${id}`);
      return { fromCommit: started - tCommit, fromEnqueue: started - t0 };
    },
    async chain(rep, n) {
      steps = n;
      await client!.query('begin');
      await client!.query("select graphile_worker.add_job('c2', json_build_object('rep', $1::int, 'step', 1))", [rep]);
      const tCommit = performance.now();
      await client!.query('commit');
      const end = await events.wait(`c2:end:${rep}:${n}`, 60_000);
      return end - tCommit;
    },
    ranTwice: () => events.duplicates('c1:start:').length + events.duplicates('c2:start:').length,
  };
}

export interface ThroughputResult {
  readonly tasks: number;
  readonly seconds: number;
  readonly tasksPerSecond: number;
  /** pg_stat_database.xact_commit delta / tasks: execution only, and with the enqueueing. */
  readonly commitsPerTask: number;
  readonly commitsPerTaskWithEnqueue: number;
  readonly enqueueSeconds: number;
  readonly ranTwice: number;
  readonly ranNever: number;
  readonly leftInQueue: number;
  readonly nodeCpuSeconds: number;
  readonly waits: WaitSummary;
  readonly setup: string;
}

/** The figures both systems report for C3, from what each measured. */
export function throughputFigures(m: {
  /** Handler starts per task. */
  ran: Uint8Array;
  t0: number;
  t1: number;
  commits: { beforeEnqueue: number; beforeRun: number; after: number };
  enqueueSeconds: number;
  leftInQueue: number;
  cpu: NodeJS.CpuUsage;
  waits: WaitSummary;
  /** Handler starts of tasks that are not this scenario's (counted as ran twice). */
  foreign?: number;
}): Omit<ThroughputResult, 'setup'> {
  let ranTwice = m.foreign ?? 0;
  let ranNever = 0;
  for (const count of m.ran) {
    if (count === 0) ranNever++;
    if (count > 1) ranTwice++;
  }
  const n = m.ran.length;
  const seconds = (m.t1 - m.t0) / 1000;
  return {
    tasks: n,
    seconds,
    tasksPerSecond: n / seconds,
    commitsPerTask: (m.commits.after - m.commits.beforeRun) / n,
    commitsPerTaskWithEnqueue: (m.commits.after - m.commits.beforeEnqueue) / n,
    enqueueSeconds: m.enqueueSeconds,
    ranTwice,
    ranNever,
    leftInQueue: m.leftInQueue,
    nodeCpuSeconds: (m.cpu.user + m.cpu.system) / 1e6,
    waits: m.waits,
  };
}

/** C3: addJobs of N no-op jobs, then a worker with `concurrency` until the queue is empty. */
export async function graphileThroughput(url: string, database: string, admin: pg.Client, options: BenchOptions, n = options.c3Tasks): Promise<ThroughputResult> {
  const ran = new Uint8Array(n);
  await waitNoBackends(admin, database);
  const beforeEnqueue = await xactCommit(admin, database);
  const enqueueStart = performance.now();
  const utils = await makeWorkerUtils({ connectionString: url, logger });
  try {
    const chunk = 5000;
    for (let from = 0; from < n; from += chunk) {
      const specs = [];
      for (let i = from; i < Math.min(n, from + chunk); i++) specs.push({ identifier: 'c3', payload: { i } });
      await utils.addJobs(specs);
    }
  } finally {
    await utils.release();
  }
  const enqueueSeconds = (performance.now() - enqueueStart) / 1000;
  await waitNoBackends(admin, database);
  const beforeRun = await xactCommit(admin, database);

  let done = 0;
  let allRan: () => void = () => {};
  const allRanPromise = new Promise<void>((resolve) => (allRan = resolve));
  const waits = sampleWaits(options.adminUrl, database);
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const runner = await start(url, options.concurrency, {
    c3: async (payload) => {
      const { i } = payload as { i: number };
      if (ran[i]! < 255) ran[i]!++;
      if (++done === n) allRan();
    },
  });
  // Finished = every handler ran and every completion is committed (the queue is empty).
  const probe = new pg.Client({ connectionString: url, application_name: 'bench-probe' });
  let probes = 0;
  let leftInQueue = -1;
  let t1 = 0;
  try {
    await within(allRanPromise, 30 * 60_000, 'all graphile jobs');
    await probe.connect();
    for (;;) {
      probes++;
      const { rows } = await probe.query<{ n: number }>('select count(*)::int as n from graphile_worker._private_jobs');
      leftInQueue = rows[0]!.n;
      if (leftInQueue === 0) break;
      await sleep(10);
    }
    t1 = performance.now();
  } finally {
    await probe.end().catch(() => {});
    await runner.stop();
  }
  const used = process.cpuUsage(cpu);
  const waitSummary = await waits.stop();
  await waitNoBackends(admin, database);
  const after = await xactCommit(admin, database) - probes;
  return {
    ...throughputFigures({ ran, t0, t1, commits: { beforeEnqueue, beforeRun, after }, enqueueSeconds, leftInQueue, cpu: used, waits: waitSummary }),
    setup: `addJobs of ${n} jobs in chunks of 5000, then run({ concurrency: ${options.concurrency} }) until the queue is empty`,
  };
}
