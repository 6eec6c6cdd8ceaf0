/**
 * Webhook trigger bench (issue 19): signed `POST /api/hooks/<pipeline>` → run created (202), with
 * autocannon at 100 req/s and at saturation on loopback, beside the bare node:http server of
 * bench/sync/ack.ts (the same HMAC check on the raw bytes, one INSERT), in the same run.
 *
 *   npx tsx bench/hooks.ts            # 10 s autocannon runs
 *   npx tsx bench/hooks.ts --quick    # 5 s autocannon runs
 *
 * DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) is an admin connection: a
 * fresh database bench_hooks_<pid> is created and dropped at the end. KAFKA_BROKERS: used when
 * set; otherwise dfm's local broker is started (and stopped) for the run. dfm runs the roles
 * `scheduler` (it loads the pipeline folder) and `hooks`: no worker, so the runs stay queued and
 * the bench measures what the issue asks, the request until its run is committed.
 * Bars: dfm ≥ 0.5× the bare server's throughput at saturation; dfm p99 ≤ 50 ms at 100 req/s.
 */
import { createHmac } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config/load-config.js';
import { signHookBody } from '../src/hooks/verify-hook-request.js';
import { resolveKafkaBrokers } from '../src/kafka/resolve-kafka-brokers.js';
import { createLogger } from '../src/lib/logger.js';
import { startService } from '../src/service/start-service.js';
import { serviceRoles } from '../src/service/service-roles.js';
import { createTempDir, removeTempDir } from '../test/helpers/git-remote.js';
import { freePortPair } from '../test/helpers/free-port.js';
import { createDatabase, databaseUrl, dropDatabase, withAdmin } from './scheduler/common.js';
import { measureAck, startBareServer, warmUp, type AckResult, type AckTarget } from './sync/ack.js';
import { log, onStop, printTable, runBench } from './common/run-bench.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const seconds = quick ? 5 : 10;
const CONNECTIONS = 10;
const FIXED_RATE = 100;
const SECRET = 'a webhook secret for the bench';
const adminUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const logger = createLogger(process.env['BENCH_LOG_LEVEL'] ?? 'warn');
const database = `bench_hooks_${process.pid}`;
const command = `npx tsx bench/hooks.ts ${argv.join(' ')}`.trim();


async function main(): Promise<void> {
  const temp = await createTempDir('dfm-bench-hooks-');
  onStop('temp dir', () => removeTempDir(temp));
  await withAdmin(adminUrl, (admin) => createDatabase(admin, database));
  onStop('database', () => withAdmin(adminUrl, (admin) => dropDatabase(admin, database)));
  const url = databaseUrl(adminUrl, database);
  const kafka = await resolveKafkaBrokers(
    loadConfig({ KAFKA_BROKERS: process.env['KAFKA_BROKERS'], DFM_DATA_DIR: join(temp, 'data'), ...(process.env['KAFKA_BROKERS'] ? {} : { DFM_KAFKA_PORT: String(await freePortPair()) }) }),
    logger,
  );
  onStop('kafka', () => kafka.stop());

  const pipelines = join(temp, 'pipelines');
  execFileSync('mkdir', ['-p', pipelines]);
  await writeFile(join(pipelines, 'bench-hook.yaml'), 'id: bench-hook\nparams:\n  amount: { type: number, default: 0 }\n  note: { type: string, default: "" }\ntriggers:\n  - webhook: { secret: bench }\ntasks:\n  land: { type: postgres.sql, sql: "select :amount::numeric, :note, :trigger_body::jsonb" }\n');
  const config = loadConfig({
    DATABASE_URL: url,
    KAFKA_BROKERS: kafka.brokers.join(','),
    PORT: '0',
    HOST: '127.0.0.1',
    DFM_DATA_DIR: join(temp, 'data'),
    DFM_PIPELINES_DIR: pipelines,
    DFM_PIPELINES_WATCH: 'false',
    DFM_SYNC_INTERVAL_MS: '0',
    DFM_WEBHOOK_SECRET_BENCH: SECRET,
    // Limits out of the way: the bench measures creating runs, not refusing them.
    DFM_HOOKS_PIPELINE_RATE: '1000000',
    DFM_MAX_QUEUED_RUNS: '100000000',
  });
  const service = await startService({ config, logger, role: 'scheduler,hooks', roles: serviceRoles });
  onStop('dfm', () => service.stop());
  const probe = new pg.Pool({ connectionString: url, max: 1 });
  onStop('probe pool', () => probe.end());
  for (let i = 0; (await probe.query("select 1 from dfm.pipeline where id = 'bench-hook' and active_version_id is not null")).rowCount === 0; i++) {
    if (i > 400) throw new Error('the bench pipeline was not activated');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const bare = await startBareServer(url, SECRET);
  onStop('bare server', () => bare.close());

  // One signed body for the whole run: its timestamp stays inside the 5-minute window.
  const body = JSON.stringify({ amount: 12.5, note: 'order A-1: 3 lines, paid by card' });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const dfm: AckTarget = { url: `http://127.0.0.1:${service.port}/api/hooks/bench-hook`, headers: { 'content-type': 'application/json', 'x-dfm-timestamp': timestamp, 'x-dfm-signature-256': signHookBody(SECRET, timestamp, body) }, body };
  const baseline: AckTarget = { url: bare.url, headers: { 'content-type': 'application/json', 'x-dfm-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}` }, body };

  // A bench of refusals would be fast and wrong: the first request must create a run.
  const first = await fetch(dfm.url, { method: 'POST', headers: dfm.headers, body });
  if (first.status !== 202) throw new Error(`dfm answered ${first.status} ${await first.text()}`);
  await first.arrayBuffer();
  log(`warm-up, then dfm and bare at ${FIXED_RATE} req/s, then both at saturation (${CONNECTIONS} connections), ${seconds} s each`);
  await warmUp(dfm, CONNECTIONS);
  await warmUp(baseline, CONNECTIONS);
  const results: AckResult[] = [];
  results.push(await measureAck(`dfm @${FIXED_RATE}/s`, dfm, { seconds, connections: CONNECTIONS, rate: FIXED_RATE }));
  results.push(await measureAck(`bare @${FIXED_RATE}/s`, baseline, { seconds, connections: CONNECTIONS, rate: FIXED_RATE }));
  results.push(await measureAck('dfm saturated', dfm, { seconds, connections: CONNECTIONS }));
  results.push(await measureAck('bare saturated', baseline, { seconds, connections: CONNECTIONS }));
  const runs = (await probe.query<{ n: number }>("select count(*)::int as n from dfm.run where pipeline_id = 'bench-hook'")).rows[0]!.n;

  const [dfmFixed, , dfmSat, bareSat] = results as [AckResult, AckResult, AckResult, AckResult];
  const ratio = dfmSat.requestsPerSecond / bareSat.requestsPerSecond;
  const rows = [['', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'requests', 'non-2xx', 'errors'], ...results.map((r) => [r.label, f(r.requestsPerSecond), f(r.p50), f(r.p99), f(r.max), String(r.requests), String(r.non2xx), String(r.errors + r.timeouts)])];
  printTable(rows);
  const bars = [
    `dfm/bare throughput at saturation: ${ratio.toFixed(2)}× (bar ≥ 0.5×) ${ratio >= 0.5 ? 'PASS' : 'FAIL'}`,
    `dfm p99 at ${FIXED_RATE} req/s: ${f(dfmFixed.p99)} ms (bar ≤ 50 ms) ${dfmFixed.p99 <= 50 ? 'PASS' : 'FAIL'}`,
    `runs created by dfm: ${runs} (every 202 is a committed run)`,
  ];
  process.stdout.write(`${bars.join('\n')}\n`);
  process.stdout.write(`machine: ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}; commit ${git(['rev-parse', '--short', 'HEAD'])}; node ${process.version}\n`);
  process.stdout.write(`reproduce: ${command}\n`);
  process.stdout.write(`${JSON.stringify({ bench: 'hooks', seconds, connections: CONNECTIONS, results, ratio: Number(ratio.toFixed(3)), runs })}\n`);
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function f(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : String(n);
}

runBench(main);
