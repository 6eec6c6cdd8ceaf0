/**
 * Slack bench (issue 16), side by side in one run:
 * 1. acknowledgement latency of `/dfm status <pipeline>` at a fixed 50 requests/s on loopback, each
 *    request freshly signed as Slack signs it, latency from its scheduled send time to the
 *    response — dfm (one process, all roles), `dfm serve --role slack` in its own process, and a
 *    bare node:http server that reads the body,
 *    verifies the same v0 signature and answers an empty 200 (bar: dfm p99 ≤ 100 ms; Slack's limit
 *    is 3 s);
 * 2. notification lag: from a run's end (`dfm.run.finished_at`) to the `chat.update` that shows it
 *    at the Slack stand-in (bar: p99 ≤ 1 s).
 *
 *   npx tsx bench/slack.ts            # 10 s at 50 req/s, 30 runs
 *   npx tsx bench/slack.ts --quick    # 5 s, 10 runs
 *
 * DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) is an admin connection: a
 * fresh database bench_slack_<pid> is created and dropped. KAFKA_BROKERS: used when set; otherwise
 * dfm's local broker is started for the run.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { timingSafeEqual } from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../src/config/load-config.js';
import { createLogger } from '../src/lib/logger.js';
import { serviceRoles } from '../src/service/service-roles.js';
import { startService } from '../src/service/start-service.js';
import { writePipelines } from '../test/helpers/dfm-process.js';
import { startSlackStandIn } from '../test/helpers/slack-api-stand-in.js';
import { createDatabase, databaseUrl, dropDatabase, withAdmin } from './scheduler/common.js';
import { startDfmProcess } from './sync/dfm-process.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const seconds = quick ? 5 : 10;
const runs = quick ? 10 : 30;
const RATE = 50;
const SECRET = 'a signing secret for the bench';
const adminUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const database = `bench_slack_${process.pid}`;
const logger = createLogger(process.env['BENCH_LOG_LEVEL'] ?? 'warn');
const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

function signedCommand(text: string, responseUrl: string): { body: string; headers: Record<string, string> } {
  const body = new URLSearchParams({ team_id: 'T0BENCH', user_id: 'U0BENCH', user_name: 'bench', command: '/dfm', text, response_url: responseUrl, channel_id: 'C0BENCH', api_app_id: 'A0BENCH', trigger_id: '1.2.3' }).toString();
  const ts = Math.floor(Date.now() / 1000);
  const signature = createHmac('sha256', SECRET).update(`v0:${ts}:${body}`).digest('hex');
  return { body, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': `v0=${signature}` } };
}

/** Requests evenly spaced at `rate`/s for `seconds`; latency from each one's scheduled time. */
async function measureAck(url: string, responseUrl: () => string, forSeconds = seconds): Promise<{ p50: number; p99: number; max: number; errors: number; sent: number }> {
  const latencies: number[] = [];
  let errors = 0;
  const began = performance.now();
  const total = RATE * forSeconds;
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = began + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const { body, headers } = signedCommand('status benchy', responseUrl());
    inFlight.push(
      fetch(url, { method: 'POST', headers, body })
        .then(async (response) => {
          await response.arrayBuffer();
          if (response.status !== 200) errors++;
          latencies.push(performance.now() - due);
        })
        .catch(() => {
          errors++;
        }),
    );
  }
  await Promise.all(inFlight);
  latencies.sort((a, b) => a - b);
  return { p50: pct(latencies, 0.5), p99: pct(latencies, 0.99), max: latencies.at(-1) ?? Number.NaN, errors, sent: total };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;

async function startBareServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const ts = String(req.headers['x-slack-request-timestamp'] ?? '');
      const given = /^v0=([0-9a-f]{64})$/.exec(String(req.headers['x-slack-signature'] ?? ''));
      const fresh = Math.abs(Number(ts) - Date.now() / 1000) <= 300;
      const ok = given !== null && fresh && timingSafeEqual(Buffer.from(given[1]!, 'hex'), createHmac('sha256', SECRET).update(`v0:${ts}:`).update(body).digest());
      res.writeHead(ok ? 200 : 401).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/slack/events`, close: () => new Promise((r) => server.close(() => r())) };
}

async function main(): Promise<void> {
  const slack = await startSlackStandIn({ token: 'xoxb-bench' });
  const pipelines = writePipelines({
    'benchy.yaml': 'id: benchy\nnotify: { slack: "#bench", on: [start, success] }\ntasks:\n  only: { type: postgres.sql, sql: "select 1" }\n',
  });
  await withAdmin(adminUrl, (admin) => createDatabase(admin, database));
  const url = databaseUrl(adminUrl, database);
  const bare = await startBareServer();
  const config = loadConfig({
    DATABASE_URL: url,
    ...(process.env['KAFKA_BROKERS'] ? { KAFKA_BROKERS: process.env['KAFKA_BROKERS'] } : {}),
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    SLACK_BOT_TOKEN: slack.token,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: slack.apiUrl,
    DFM_SLACK_ALLOW: 'T0BENCH/U0BENCH=*',
    DFM_PIPELINES_DIR: pipelines.dir,
    DFM_PIPELINES_WATCH: 'false',
    DFM_SYNC_INTERVAL_MS: '0',
  });
  const service = await startService({ config, logger, role: 'all', roles: serviceRoles });
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    const dfmUrl = `http://127.0.0.1:${service.port}/api/slack/events`;
    // The slack role alone in its own process (`dfm serve --role slack`, as a replica runs it): its
    // event loop is not shared with the bench client, the stand-in and the other roles.
    const replica = await startDfmProcess({ DATABASE_URL: url, ...(process.env['KAFKA_BROKERS'] ? { KAFKA_BROKERS: process.env['KAFKA_BROKERS'] } : {}), SLACK_BOT_TOKEN: slack.token, SLACK_SIGNING_SECRET: SECRET, SLACK_API_URL: slack.apiUrl, DFM_SLACK_ALLOW: 'T0BENCH/U0BENCH=*', DFM_RUN_MIGRATIONS: 'false' }, 'slack');
    const replicaUrl = `${replica.base}/api/slack/events`;
    log('warming up (2 s at the same rate, each server, discarded)');
    await measureAck(dfmUrl, () => slack.responseUrl().url, 2);
    await measureAck(replicaUrl, () => slack.responseUrl().url, 2);
    await measureAck(bare.url, () => slack.responseUrl().url, 2);
    log(`acknowledgement: ${RATE} req/s for ${seconds} s, dfm, the slack replica, then the bare server`);
    const dfmAck = await measureAck(dfmUrl, () => slack.responseUrl().url);
    const replicaAck = await measureAck(replicaUrl, () => slack.responseUrl().url);
    const bareAck = await measureAck(bare.url, () => slack.responseUrl().url);
    await replica.stop();

    log(`notification lag over ${runs} runs`);
    const lags: number[] = [];
    for (let i = 0; i < runs; i++) {
      const { body, headers } = signedCommand('run benchy', slack.responseUrl().url);
      await fetch(dfmUrl, { method: 'POST', headers, body }).then((r) => r.arrayBuffer());
      const runId = await waitFor(async () => {
        const { rows } = await pool.query<{ id: string }>("select id from dfm.run where pipeline_id = 'benchy' and id > $1 order by id limit 1", [lags.length === 0 ? 0 : lastRun]);
        return rows[0] ? Number(rows[0].id) : undefined;
      });
      lastRun = runId;
      const finishedAt = await waitFor(async () => {
        const { rows } = await pool.query<{ finished_at: Date | null }>('select finished_at from dfm.run where id = $1', [runId]);
        return rows[0]?.finished_at ?? undefined;
      });
      const update = await waitFor(async () => slack.calls.find((c) => c.method === 'chat.update' && c.status === 200 && JSON.stringify(c.body).includes(`/runs/${runId}|`) && JSON.stringify(c.body).includes('#2eb67d')));
      lags.push(update.at - finishedAt.getTime());
    }
    lags.sort((a, b) => a - b);

    const f = (n: number) => `${n.toFixed(1)} ms`;
    console.log(`\nSlack bench — ${new Date().toISOString()} — ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    console.log(`command: npx tsx bench/slack.ts ${argv.join(' ')}`.trimEnd());
    console.log(`\n/dfm status at ${RATE} req/s for ${seconds} s (latency from the scheduled send)`);
    console.log(`  ${'server'.padEnd(38)}${'p50'.padEnd(12)}${'p99'.padEnd(12)}${'max'.padEnd(12)}errors`);
    console.log(`  ${'dfm (all roles, Bolt)'.padEnd(38)}${f(dfmAck.p50).padEnd(12)}${f(dfmAck.p99).padEnd(12)}${f(dfmAck.max).padEnd(12)}${dfmAck.errors}/${dfmAck.sent}`);
    console.log(`  ${'dfm serve --role slack (own process)'.padEnd(38)}${f(replicaAck.p50).padEnd(12)}${f(replicaAck.p99).padEnd(12)}${f(replicaAck.max).padEnd(12)}${replicaAck.errors}/${replicaAck.sent}`);
    console.log(`  ${'bare node:http, same signature'.padEnd(38)}${f(bareAck.p50).padEnd(12)}${f(bareAck.p99).padEnd(12)}${f(bareAck.max).padEnd(12)}${bareAck.errors}/${bareAck.sent}`);
    console.log(`  dfm/bare: p50 ${(dfmAck.p50 / bareAck.p50).toFixed(1)}×, p99 ${(dfmAck.p99 / bareAck.p99).toFixed(1)}×; replica/bare: p50 ${(replicaAck.p50 / bareAck.p50).toFixed(1)}×, p99 ${(replicaAck.p99 / bareAck.p99).toFixed(1)}×`);
    console.log(`  bar p99 ≤ 100 ms: dfm ${dfmAck.p99 <= 100 ? 'met' : 'MISSED'}, replica ${replicaAck.p99 <= 100 ? 'met' : 'MISSED'}`);
    console.log(`\nnotification lag, run end → chat.update at the stand-in (${runs} runs)`);
    console.log(`  p50 ${f(pct(lags, 0.5))}  p99 ${f(pct(lags, 0.99))}  max ${f(lags.at(-1)!)}; bar p99 ≤ 1 s: ${pct(lags, 0.99) <= 1000 ? 'met' : 'MISSED'}`);
    slack.assertNoViolations();
  } finally {
    await pool.end();
    await service.stop();
    await bare.close();
    await slack.close();
    pipelines.remove();
    await withAdmin(adminUrl, (admin) => dropDatabase(admin, database));
  }
}

let lastRun = 0;

async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
