/**
 * Metrics overhead (issue 18), side by side in one run:
 * 1. The scheduler bench's C3 (independent no-op tasks through dfm's executor) with metrics off
 *    and on, after a discarded warm-up part, in the order off on on off on off off on (ABBA BAAB) so
 *    drifting background load and the database's growth hit both alike. "On"
 *    is a worker counting into a registry that is scraped every second (Prometheus scrapes every
 *    15 s: this is the pessimistic case). Bar: on ≥ 0.97 × off.
 * 2. The time and size of a scrape at 1,000 pipelines, each with runs, tasks of two types, retries,
 *    Kafka records and a lag series, and the leader's scrape-time read against 1,000 active
 *    pipelines in PostgreSQL.
 *
 *   npx tsx bench/metrics-overhead.ts            # C3 9 parts of 25,000 tasks
 *   npx tsx bench/metrics-overhead.ts --quick    # C3 9 parts of 3,000 tasks
 * DATABASE_URL is the admin connection (a fresh database is created beside it and dropped).
 */
import { loadavg } from 'node:os';
import { loadConfig } from '../src/config/load-config.js';
import { createPool } from '../src/db/create-pool.js';
import { createLogger } from '../src/lib/logger.js';
import { createMetrics } from '../src/metrics/create-metrics.js';
import { createLeaderReadings } from '../src/service/create-leader-readings.js';
import { parsePipelineSource } from '../src/pipeline/parse-pipeline-source.js';
import { activatePipelines } from '../src/scheduler/activate-pipelines.js';
import { createDatabase, databaseUrl, dropDatabase, median, parseOptions, round, withAdmin } from './scheduler/common.js';
import { C3_PIPELINE, dfmThroughput, setupDfm } from './scheduler/dfm.js';

const options = { ...parseOptions(process.argv.slice(2), process.env), probe: false };
const logger = createLogger(process.env['BENCH_LOG_LEVEL'] ?? 'warn');
const db = `bench_metrics_${process.pid}`;
const url = databaseUrl(options.adminUrl, db);
const command = `npx tsx bench/metrics-overhead.ts ${process.argv.slice(2).join(' ')}`.trim();
const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const PIPELINES = 1000;

async function throughputOverhead(): Promise<{ off: number; on: number; runs: string[] }> {
  const half = options.c3Tasks / 2;
  const shape = { pipelineId: C3_PIPELINE, tasks: half, tasksPerRun: options.c3TasksPerRun };
  const results = { off: [] as number[], on: [] as number[], warmup: [] as number[] };
  const runs: string[] = [];
  await withAdmin(options.adminUrl, async (admin) => {
    // The first part pays for the JIT and cold caches: measured, printed, not counted.
    for (const mode of ['warmup', 'off', 'on', 'on', 'off', 'on', 'off', 'off', 'on'] as const) {
      const metrics = mode === 'on' ? createMetrics() : undefined;
      const scraper = metrics ? setInterval(() => void metrics.registry.metrics(), 1000) : undefined;
      try {
        const r = await dfmThroughput(url, db, admin, logger, options, shape, metrics);
        if (r.ranTwice !== 0 || r.ranNever !== 0) throw new Error(`C3 ${mode}: ${r.ranTwice} ran twice, ${r.ranNever} never`);
        results[mode].push(r.tasksPerSecond);
        runs.push(`${mode} ${round(r.tasksPerSecond, 0)}`);
        log(`C3 metrics ${mode}: ${round(r.tasksPerSecond, 0)} tasks/s (load ${round(loadavg()[0]!, 2)})`);
      } finally {
        clearInterval(scraper);
      }
    }
  });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { off: mean(results.off), on: mean(results.on), runs };
}

/**
 * What the metrics cost the worker per task, without PostgreSQL's noise: the calls one C3 task
 * makes (claim count and latency, running gauge twice, attempt outcome, duration, time, run close
 * amortized over the run's tasks), repeated, timed on this process's CPU.
 */
function metricsCpuPerTask(): number {
  const metrics = createMetrics();
  const n = 200_000;
  const perTask = () => {
    metrics.claims.inc(1);
    metrics.claimLatency.observe(0.003);
    metrics.tasksRunning.set(7);
    metrics.taskRunsFinished.inc({ pipeline: C3_PIPELINE, type: 'postgres.sql', outcome: 'success' });
    metrics.taskDuration.observe({ type: 'postgres.sql' }, 0.0004);
    metrics.taskSeconds.inc({ pipeline: C3_PIPELINE, type: 'postgres.sql' }, 0.0004);
    metrics.tasksRunning.set(6);
  };
  for (let i = 0; i < 20_000; i++) perTask();
  const cpu = process.cpuUsage();
  for (let i = 0; i < n; i++) perTask();
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / n;
}

async function scrapeAt1000(): Promise<{ kib: number; bestMs: number; medianMs: number; leaderReadMs: number }> {
  const metrics = createMetrics();
  const lag: { pipeline: string; task: string; topic: string; lag: number }[] = [];
  for (let i = 0; i < PIPELINES; i++) {
    const pipeline = `pipeline-${String(i).padStart(4, '0')}`;
    metrics.runsCreated.inc({ pipeline, trigger: 'schedule' });
    for (const state of ['success', 'failed']) {
      metrics.runsFinished.inc({ pipeline, trigger: 'schedule', state });
      metrics.runDuration.observe({ trigger: 'schedule', state }, 3);
      metrics.runSeconds.inc({ pipeline }, 3);
    }
    for (const type of ['postgres.sql', 'kafka.to_postgres']) {
      metrics.taskRunsFinished.inc({ pipeline, type, outcome: 'success' });
      metrics.taskDuration.observe({ type }, 0.2);
      metrics.taskSeconds.inc({ pipeline, type }, 0.2);
    }
    metrics.retries.inc({ pipeline, type: 'postgres.sql' });
    metrics.kafkaRecords.inc({ pipeline, task: 'land', direction: 'in' }, 10);
    lag.push({ pipeline, task: 'land', topic: `topic-${i}`, lag: i });
  }
  metrics.leader.readFrom(async () => ({ ready: { count: 3, oldestSeconds: 1.5 }, kafkaLag: lag, outbox: [] }));
  await metrics.registry.metrics();
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 21; i++) {
    const began = performance.now();
    bytes = Buffer.byteLength(await metrics.registry.metrics());
    times.push(performance.now() - began);
  }

  // The leader's read against 1,000 active pipelines (postgres.sql; no Kafka task, so no broker).
  const pool = createPool(url, logger, { max: 2, applicationName: 'bench-metrics' });
  try {
    const text = (id: string) => `id: ${id}\nschedule: "@hourly"\ntasks:\n  t: { type: postgres.sql, sql: select 1 }\n`;
    await activatePipelines(pool, Array.from({ length: PIPELINES }, (_, i) => `bench-many-${i}`).map((id) => ({ file: `${id}.yaml`, pipeline: parsePipelineSource(text(id), `${id}.yaml`).pipeline! })));
    const readings = createLeaderReadings({ pool, config: loadConfig({ DATABASE_URL: url }), kafkaBrokers: ['127.0.0.1:1'], logger });
    await readings.read();
    const reads: number[] = [];
    for (let i = 0; i < 11; i++) {
      const began = performance.now();
      await readings.read();
      reads.push(performance.now() - began);
    }
    await readings.close();
    return { kib: bytes / 1024, bestMs: Math.min(...times), medianMs: median(times), leaderReadMs: median(reads) };
  } finally {
    await pool.end();
  }
}

async function main(): Promise<void> {
  await withAdmin(options.adminUrl, (admin) => createDatabase(admin, db));
  try {
    await setupDfm(url, logger, options);
    log(`C3 ${options.c3Tasks / 2} no-op tasks per part, concurrency ${options.concurrency}: a warm-up, then off on on off on off off on`);
    const c3 = await throughputOverhead();
    const cpuPerTaskUs = metricsCpuPerTask();
    // At the measured throughput, the share of one core the metrics calls take.
    const share = (cpuPerTaskUs * c3.off) / 1e6;
    const scrape = await scrapeAt1000();
    const ratio = c3.on / c3.off;
    const rows = [
      ['measure', 'value', 'bar', 'result'],
      [`C3 tasks/s, metrics off (mean of 4)`, String(round(c3.off, 0)), '—', 'info'],
      [`C3 tasks/s, metrics on, scraped every 1 s (mean of 4)`, String(round(c3.on, 0)), '—', 'info'],
      ['C3 on / off', String(round(ratio, 3)), '≥ 0.97', ratio >= 0.97 ? 'pass' : 'FAIL'],
      ['metrics CPU per task (µs), no database', String(round(cpuPerTaskUs, 2)), '—', 'info'],
      [`  × ${round(c3.off, 0)} tasks/s = share of one core`, `${round(100 * share, 2)} %`, '≤ 3 %', share <= 0.03 ? 'pass' : 'FAIL'],
      [`scrape size at ${PIPELINES} pipelines (KiB)`, String(round(scrape.kib, 0)), '< 1024', scrape.kib < 1024 ? 'pass' : 'FAIL'],
      [`scrape time at ${PIPELINES} pipelines, best / median of 21 (ms)`, `${round(scrape.bestMs, 1)} / ${round(scrape.medianMs, 1)}`, '< 50', scrape.medianMs < 50 ? 'pass' : 'FAIL'],
      [`leader read at ${PIPELINES} active pipelines, median of 11 (ms)`, String(round(scrape.leaderReadMs, 1)), '—', 'info'],
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
    console.log(`C3 parts in order: ${c3.runs.join(', ')}; load average now ${round(loadavg()[0]!, 2)}`);
    console.log(`reproduce: ${command}`);
  } finally {
    await withAdmin(options.adminUrl, (admin) => dropDatabase(admin, db));
  }
}

await main();
