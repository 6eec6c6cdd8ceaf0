/**
 * Diagnostic for bench/kafka-to-postgres.ts: seeds a topic and runs only (c), dfm's
 * kafka.to_postgres end to end (exactly once), `--runs` times against fresh tables, and prints
 * records/s and the CPU seconds each process spent (this node process, split into its main thread,
 * its other threads — V8's garbage collector helpers, libuv — and the threads that ended with the
 * run — the task's decoding worker —, the PostgreSQL backends of
 * the bench database, the broker) so it is visible which one is the bottleneck.
 * `--compression=lz4` (or another codec) seeds the topic compressed. `--decode-on-worker=true|false`
 * forces the decoding worker on or off; `--store-offsets=false` runs
 * (c0) instead; `--checkpoint` starts each run after a CHECKPOINT; `--columns=by-name` runs the
 * task without its `columns` mapping (fields by name from the table's catalog), `--columns=alternate`
 * alternates explicit and by-name runs and ends with the ratio of their best figures. Meant to be
 * run under the profiler:
 *
 *   node --import tsx --cpu-prof --cpu-prof-dir=/tmp/k2p-prof bench/kafka-to-postgres-profile.ts --records=300000
 *
 * Same environment and record shape as the bench (DATABASE_URL, KAFKA_BROKERS).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { applyMigrations } from '../src/db/migrate.js';
import { createKafka, createKafkaAdmin, type CompressionCodec } from '../src/kafka/kafka-client.js';
import { createLogger } from '../src/lib/logger.js';
import { consumeToPostgres } from '../src/tasks/kafka-to-postgres/kafka-to-postgres-consume.js';
import { benchTaskOptions, seedWithKcat } from './kafka-to-postgres/records.js';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const RECORDS = Number(args['records'] ?? 300_000);
const PARTITIONS = Number(args['partitions'] ?? 3);
const BATCH = Number(args['batch-size'] ?? 10_000);
const RUNS = Number(args['runs'] ?? 1);
/** --decode-on-worker=true|false: force the decoding worker on or off (default: the task's choice, on beyond 2 cores). */
const DECODE_ON_WORKER = args['decode-on-worker'] === undefined ? undefined : args['decode-on-worker'] === 'true';
/** --store-offsets=false: (c0), without the offsets in the transaction. */
const STORE_OFFSETS = args['store-offsets'] !== 'false';
/** --checkpoint: a CHECKPOINT before each run, as the bench does before each step. */
const CHECKPOINT = args['checkpoint'] !== undefined && args['checkpoint'] !== 'false';
/** --columns=explicit (default) | by-name | alternate: the task's column mapping, or both in turn. */
const COLUMN_MAPPING = args['columns'] ?? 'explicit';
/** --compression=<codec>: kcat seeds the topic compressed (none, gzip, snappy, lz4, zstd). */
const COMPRESSION = (args['compression'] ?? 'none') as CompressionCodec;
const adminUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const brokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const logger = createLogger(process.env['BENCH_LOG_LEVEL'] ?? 'warn');
const suffix = `${process.pid}`;
const database = `bench_k2p_prof_${suffix}`;
const topic = `bench-k2p-prof-${suffix}`;

/** utime + stime of a process in seconds (Linux). */
function cpuSeconds(pid: number, path = `/proc/${pid}/stat`): number {
  try {
    const fields = readFileSync(path, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** CPU seconds of this process' main thread, and of its other threads (V8's GC helpers, libuv). */
function threadSeconds(): { main: number; others: number } {
  let main = 0;
  let others = 0;
  for (const task of readdirSync('/proc/self/task')) {
    const seconds = cpuSeconds(Number(task), `/proc/self/task/${task}/stat`);
    if (task === String(process.pid)) main += seconds;
    else others += seconds;
  }
  return { main, others };
}

function brokerPid(): number | undefined {
  try {
    const out = execFileSync('bash', ['-c', "ss -ltnp 'sport = :9092' | grep -o 'pid=[0-9]*' | head -1"], { encoding: 'utf8' });
    return Number(out.trim().replace('pid=', '')) || undefined;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const kafka = createKafka(brokers, logger, { clientId: 'dfm-bench-prof' });
  const kafkaAdmin = createKafkaAdmin(kafka, brokers);
  const pool = new pg.Pool({ connectionString: url.toString(), max: 4 });
  try {
    await admin.query(`create database ${database}`);
    await applyMigrations(url.toString(), logger);
    await kafkaAdmin.ensureTopic(topic, { partitions: PARTITIONS, replicationFactor: 1 });
    await seedWithKcat(brokers, topic, RECORDS, COMPRESSION);
    const broker = brokerPid();
    const best = { explicit: Infinity, 'by-name': Infinity };
    for (let run = 0; run < RUNS; run++) {
      const table = `c_${run}`;
      const mapping = COLUMN_MAPPING === 'alternate' ? (run % 2 === 0 ? 'explicit' : 'by-name') : COLUMN_MAPPING === 'by-name' ? 'by-name' : 'explicit';
      await pool.query(`create table ${table} (id bigint not null, station text, time timestamptz, aqi integer, pm25 double precision, note text)`);
      const backendCpu = async () => {
        const { rows } = await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [database]);
        return rows.map((r) => r.pid);
      };
      // Backends come and go during the run (the task's second connection closes with it): sample
      // every 100 ms and count each one's last reading.
      const pgBefore = new Map((await backendCpu()).map((p) => [p, cpuSeconds(p)]));
      const pgLast = new Map(pgBefore);
      const sampling = setInterval(() => {
        void backendCpu().then((pids) => {
          for (const p of pids) {
            const seconds = cpuSeconds(p);
            if (seconds > 0) pgLast.set(p, seconds); // 0: it exited since it was listed
          }
        });
      }, 100);
      if (CHECKPOINT) await admin.query('checkpoint');
      const nodeBefore = process.cpuUsage();
      const threadsBefore = threadSeconds();
      const brokerBefore = broker ? cpuSeconds(broker) : 0;
      const began = performance.now();
      const options = benchTaskOptions({ kafka, brokers, pool, topic, table, groupId: `bench-prof-${table}-${suffix}`, batchSize: BATCH, logger });
      const output = await consumeToPostgres({ ...options, columns: mapping === 'by-name' ? undefined : options.columns, decodeOnWorker: DECODE_ON_WORKER, storeOffsets: STORE_OFFSETS });
      const seconds = (performance.now() - began) / 1000;
      best[mapping] = Math.min(best[mapping], seconds);
      const nodeCpu = process.cpuUsage(nodeBefore);
      const threadsAfter = threadSeconds();
      clearInterval(sampling);
      for (const p of await backendCpu()) pgLast.set(p, Math.max(pgLast.get(p) ?? 0, cpuSeconds(p)));
      let pgCpu = 0;
      for (const [p, last] of pgLast) pgCpu += Math.max(0, last - (pgBefore.get(p) ?? 0));
      const { rows } = await pool.query<{ n: string }>(`select count(*) as n from ${table}`);
      if (Number(rows[0]!.n) !== RECORDS || output.records !== RECORDS) throw new Error(`${table}: ${rows[0]!.n} rows, ${output.records} records`);
      const nodeSeconds = (nodeCpu.user + nodeCpu.system) / 1e6;
      const mainSeconds = threadsAfter.main - threadsBefore.main;
      const otherSeconds = threadsAfter.others - threadsBefore.others;
      const r2 = (n: number) => Math.round(n * 100) / 100;
      // Threads that ended with the run are in the process' figure only: the decoding worker.
      process.stdout.write(
        `${JSON.stringify({ run, columns: mapping, records: RECORDS, perSec: Math.round(RECORDS / seconds), seconds: r2(seconds), batches: output.batches, cpu: { node: r2(nodeSeconds), nodeMainThread: r2(mainSeconds), nodeOtherThreads: r2(otherSeconds), nodeEndedThreads: r2(Math.max(0, nodeSeconds - mainSeconds - otherSeconds)), postgres: Math.round(pgCpu * 100) / 100, broker: broker ? Math.round((cpuSeconds(broker) - brokerBefore) * 100) / 100 : null } })}\n`,
      );
    }
    if (COLUMN_MAPPING === 'alternate' && RUNS >= 2) {
      const perSec = (seconds: number) => Math.round(RECORDS / seconds);
      process.stdout.write(
        `${JSON.stringify({ bestPerSec: { explicit: perSec(best.explicit), byName: perSec(best['by-name']) }, ratioByNameVsExplicit: Math.round((best.explicit / best['by-name']) * 100) / 100, command: `npx tsx bench/kafka-to-postgres-profile.ts ${process.argv.slice(2).join(' ')}` })}\n`,
      );
    }
  } finally {
    await pool.end();
    const a = kafka.admin();
    await a.connect().catch(() => {});
    await a.deleteTopics({ topics: [topic] }).catch(() => {});
    await a.disconnect().catch(() => {});
    await kafkaAdmin.close();
    await admin.query(`drop database if exists ${database} with (force)`).catch(() => {});
    await admin.end();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
