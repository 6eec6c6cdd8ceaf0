/**
 * PR check and outbox bench (issue 15):
 * (a) a signed `pull_request` webhook (a real @octokit/webhooks-examples payload, signed with
 *     @octokit/webhooks-methods) → dfm's check run completed at the strict GitHub API stand-in, for
 *     a pull request that changes 10 of a repository's 100 pipelines; p50/p99 over N samples.
 * (b) outbox throughput: commit-status reports enqueued at once over a few repositories, the
 *     stand-in answering at once, DFM_GITHUB_THROTTLE=false: reports/s delivered; then a short
 *     bounded sample with throttling on, to show GitHub's pacing (about one write a second).
 *
 *   npx tsx bench/pr-check.ts            # 30 PR samples, 2,000 reports over 4 repositories, 10 throttled
 *   npx tsx bench/pr-check.ts --quick    # 10 PR samples, 1,000 reports, 5 throttled
 *   npx tsx bench/pr-check.ts --samples=N --reports=N --repos=N --throttled=N
 *
 * DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) is an admin connection: a
 * fresh database bench_pr_<pid> is created and dropped at the end. KAFKA_BROKERS: used when set;
 * otherwise dfm's local broker is started (and stopped). dfm runs in this process (startService,
 * every role) beside the stand-in and a Git smart-HTTP server, as bench/sync.ts does.
 */
import { sign } from '@octokit/webhooks-methods';
import examples from '@octokit/webhooks-examples/api.github.com/index.json' with { type: 'json' };
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config/load-config.js';
import { resolveKafkaBrokers } from '../src/kafka/resolve-kafka-brokers.js';
import { createLogger } from '../src/lib/logger.js';
import { enqueueReports, type NewReport } from '../src/outbox/enqueue-report.js';
import { COMMIT_STATUS_REPORT } from '../src/runs/report-run-states.js';
import { startService, type RunningService } from '../src/service/start-service.js';
import { serviceRoles } from '../src/service/service-roles.js';
import { freePortPair } from '../test/helpers/free-port.js';
import { createBareRepository, createTempDir, createWorkTree, parseBasicAuth, removeTempDir, startGitHttpServer, type WorkTree } from '../test/helpers/git-remote.js';
import { startGitHubStandIn, type GitHubStandIn } from '../test/helpers/github-api-stand-in.js';
import { trackGitHubState, type GitHubState } from '../test/helpers/github-state.js';
import { createDatabase, databaseUrl, dropDatabase, percentile, round, withAdmin } from './scheduler/common.js';
import { PIPELINES, pipelineId, seedRepository, waitForActiveSha } from './sync/latency.js';
import { log, onStop, printTable, runBench, stopOne } from './common/run-bench.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const flag = (name: string, fallback: number): number => {
  const hit = argv.find((a) => a.startsWith(`--${name}=`));
  if (hit === undefined) return fallback;
  const n = Number(hit.slice(name.length + 3));
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} needs a positive integer`);
  return n;
};
const samples = flag('samples', quick ? 10 : 30);
const reportCount = flag('reports', quick ? 1000 : 2000);
const repositoryCount = flag('repos', 4);
const throttledCount = flag('throttled', quick ? 5 : 10);
const CHANGED = 10;

const adminUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const logger = createLogger(process.env['BENCH_LOG_LEVEL'] ?? 'warn');
const database = `bench_pr_${process.pid}`;
const WEBHOOK_SECRET = 'a webhook secret for the PR bench';
const INSTALLATION = 7171;
const REPO = 'acme/widgets';
const command = `npx tsx bench/pr-check.ts ${argv.join(' ')}`.trim();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function dfmConfig(kafkaBrokers: readonly string[], dataDir: string, standIn: Pick<GitHubStandIn, 'appId' | 'privateKey' | 'url'>, throttle: boolean) {
  return loadConfig({
    DATABASE_URL: databaseUrl(adminUrl, database),
    KAFKA_BROKERS: kafkaBrokers.join(','),
    PORT: '0',
    HOST: '127.0.0.1',
    APP_ID: String(standIn.appId),
    PRIVATE_KEY: standIn.privateKey,
    WEBHOOK_SECRET,
    GITHUB_API_URL: standIn.url,
    DFM_GITHUB_THROTTLE: String(throttle),
    DFM_PUBLIC_URL: 'https://dfm.example.com',
    DFM_SYNC_INTERVAL_MS: '0',
    DFM_POLL_INTERVAL_MS: '1000',
    DFM_DATA_DIR: dataDir,
    // DFM_OUTBOX_CONCURRENCY from the environment, to compare lane counts (default 32).
    ...(process.env['DFM_OUTBOX_CONCURRENCY'] ? { DFM_OUTBOX_CONCURRENCY: process.env['DFM_OUTBOX_CONCURRENCY'] } : {}),
  });
}

/** A real `pull_request` payload (opened) pointed at the installation's repository and the PR's commits. */
function pullRequestPayload(number: number, head: string, base: string): Record<string, unknown> {
  const found = (examples as { name: string; examples: Record<string, unknown>[] }[]).find((e) => e.name === 'pull_request')!.examples.find((p) => p['action'] === 'opened')!;
  const payload = structuredClone(found);
  const repository = { name: 'widgets', full_name: REPO, default_branch: 'main', clone_url: `https://github.com/${REPO}.git`, owner: { login: 'acme' } };
  const pull = payload['pull_request'] as Record<string, Record<string, unknown>>;
  Object.assign(pull, { number });
  Object.assign(pull['head']!, { sha: head, ref: `feature-${number}`, repo: { ...(pull['head']!['repo'] as object), full_name: REPO } });
  Object.assign(pull['base']!, { sha: base, ref: 'main', repo: { ...(pull['base']!['repo'] as object), ...repository } });
  Object.assign(payload['repository'] as object, repository);
  return { ...payload, action: 'opened', number, installation: { id: INSTALLATION } };
}

async function deliverWebhook(base: string, event: string, payload: unknown): Promise<void> {
  const body = JSON.stringify(payload);
  const response = await fetch(`${base}/api/github/webhooks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': randomUUID(), 'user-agent': 'GitHub-Hookshot/bench', 'x-hub-signature-256': await sign(WEBHOOK_SECRET, body) },
    body,
  });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`the webhook answered ${response.status}`);
}

/** A PR from main changing 10 of the 100 pipelines, pushed where GitHub keeps it (refs/pull/<n>/head). Not timed. */
async function pushPullRequest(tree: WorkTree, number: number, mainSha: string): Promise<string> {
  await tree.git('checkout', '--quiet', '-B', `feature-${number}`, mainSha);
  for (let k = 0; k < CHANGED; k++) {
    const id = pipelineId((number * CHANGED + k) % PIPELINES);
    await tree.write(`pipelines/${id}.yaml`, `id: ${id}\ntasks:\n  only: { type: postgres.sql, sql: "select ${1000 + number}" }\n`);
  }
  const head = await tree.commit(`PR ${number}: ${CHANGED} pipelines`);
  await tree.git('push', '--quiet', '--force', 'origin', `HEAD:refs/pull/${number}/head`);
  return head;
}

/** Webhook → every check run of the head completed at the stand-in (polled every 2 ms in this process). */
async function measurePrCheck(base: string, github: GitHubState, tree: WorkTree, number: number, mainSha: string): Promise<{ ms: number; conclusion: string }> {
  const head = await pushPullRequest(tree, number, mainSha);
  const t0 = performance.now();
  await deliverWebhook(base, 'pull_request', pullRequestPayload(number, head, mainSha));
  const deadline = t0 + 30_000;
  for (;;) {
    const runs = github.checkRunsFor(head);
    if (runs.length > 0 && runs.every((r) => r.status === 'completed')) return { ms: performance.now() - t0, conclusion: runs.map((r) => r.conclusion).join(',') };
    if (performance.now() > deadline) throw new Error(`PR ${number}: no completed check run within 30 s (${runs.map((r) => r.status).join(',') || 'none created'})`);
    await sleep(2);
  }
}

/** Commit statuses enqueued in one transaction, round-robin over the repositories (as concurrent runs write them), in the lanes runs/report-run-states.ts writes them to: one per commit and status context. */
function statusReports(count: number, repositories: readonly string[], sha: string, firstRun: number): NewReport[] {
  return Array.from({ length: count }, (_, i) => {
    const repository = repositories[i % repositories.length]!;
    return { target: `github:${repository}|status:${sha}:${pipelineId(i % PIPELINES)}`, kind: COMMIT_STATUS_REPORT, payload: { installationId: INSTALLATION, repository, sha, pipelineId: pipelineId(i % PIPELINES), runId: firstRun + i, state: 'success', durationMs: 1000, failedTask: null } };
  });
}

/** Enqueues, waits until none is pending; reports/s from the enqueue's now() to the last finished_at (both DB clock). */
async function measureOutbox(pool: pg.Pool, reports: NewReport[], timeoutMs: number): Promise<{ seconds: number; perSecond: number; delivered: number; failed: number }> {
  const ids = await enqueueReports(pool, reports);
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query<{ pending: number; delivered: number; failed: number; seconds: number }>(
      `select count(*) filter (where state = 'pending')::int as pending, count(*) filter (where state = 'delivered')::int as delivered,
              count(*) filter (where state = 'failed')::int as failed,
              extract(epoch from max(finished_at) - min(created_at))::float8 as seconds
         from dfm.outbox where id = any($1::bigint[])`,
      [ids],
    );
    const row = rows[0]!;
    if (row.pending === 0) return { seconds: row.seconds, perSecond: reports.length / row.seconds, delivered: row.delivered, failed: row.failed };
    if (performance.now() > deadline) throw new Error(`${row.pending} of ${reports.length} reports still pending after ${timeoutMs} ms`);
    await sleep(20);
  }
}

/**
 * The least GitHub can be for the outbox: installation tokens and commit statuses answered at once,
 * no validation. With it the throughput is dfm's own; the strict stand-in routes each request
 * through openapi-backend (about 11 ms of CPU a request in a profile, in this process).
 */
async function startBareGitHub(): Promise<{ url: string; statuses: () => number; close: () => Promise<void> }> {
  let statuses = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST' && /\/app\/installations\/\d+\/access_tokens$/.test(req.url ?? '')) {
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `ghs_${randomUUID().replace(/-/g, '')}`, expires_at: new Date(Date.now() + 3_600_000).toISOString(), permissions: { statuses: 'write' }, repository_selection: 'all' }));
      } else if (req.method === 'POST' && /^\/repos\/[^/]+\/[^/]+\/statuses\/[0-9a-f]{40}$/.test(req.url ?? '')) {
        statuses += 1;
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: statuses, state: 'success' }));
      } else {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, statuses: () => statuses, close: () => new Promise((resolve) => server.close(() => resolve(undefined))) };
}

async function main(): Promise<void> {
  const began = performance.now();
  const load: Record<string, number[]> = { start: loadavg().map((l) => round(l, 2)) };
  await withAdmin(adminUrl, (admin) => createDatabase(admin, database));
  onStop('the database', () => withAdmin(adminUrl, (admin) => dropDatabase(admin, database)));
  const temp = await createTempDir('dfm-bench-pr-');
  onStop('the temp dir', () => removeTempDir(temp));
  const kafka = process.env['KAFKA_BROKERS']
    ? { brokers: process.env['KAFKA_BROKERS'].split(','), stop: async () => {} }
    : await resolveKafkaBrokers(loadConfig({ DFM_DATA_DIR: join(temp, 'kafka'), DFM_KAFKA_PORT: String(await freePortPair()) }), logger);
  onStop('the Kafka broker', kafka.stop);

  const standIn = await startGitHubStandIn();
  onStop('GitHub stand-in', () => standIn.close());
  const github = trackGitHubState(standIn);
  const gitRoot = join(temp, 'git');
  const http = await startGitHttpServer({
    root: gitRoot,
    checkAuth: (header) => {
      const credentials = parseBasicAuth(header);
      return credentials?.username === 'x-access-token' && standIn.isValidToken(credentials.password, INSTALLATION);
    },
  });
  onStop('git http server', () => http.close());
  // widgets: 100 pipelines, the PRs' repository; r1 … : one pipeline each, more outbox targets.
  const names = ['widgets', ...Array.from({ length: repositoryCount - 1 }, (_, i) => `r${i + 1}`)];
  const trees: WorkTree[] = [];
  const heads = new Map<string, string>();
  for (const name of names) {
    const tree = await createWorkTree((await createBareRepository(gitRoot, `acme/${name}.git`)).fileUrl);
    onStop(`work tree ${name}`, () => tree.close());
    trees.push(tree);
    if (name === 'widgets') heads.set(name, await seedRepository(tree));
    else {
      await tree.write(`pipelines/${name}.yaml`, `id: ${name}\ntasks:\n  only: { type: postgres.sql, sql: "select 1" }\n`);
      heads.set(name, await tree.commit(`Add ${name}`));
      await tree.push();
    }
  }
  standIn.addInstallation({ id: INSTALLATION, account: 'acme', repositories: names.map((name) => ({ name, owner: 'acme', cloneUrl: `${http.url}/acme/${name}.git` })) });

  let service: RunningService = await startService({ config: dfmConfig(kafka.brokers, join(temp, 'data'), standIn, false), logger, role: 'all', roles: serviceRoles });
  onStop('dfm', () => service.stop());
  const pool = new pg.Pool({ connectionString: databaseUrl(adminUrl, database), max: 2, application_name: 'bench-pr-probe' });
  onStop('probe pool', () => pool.end());
  for (const name of names) await waitForActiveSha(pool, `github:acme/${name}`, heads.get(name)!, 60_000);
  const base = `http://127.0.0.1:${service.port}`;
  const mainSha = heads.get('widgets')!;
  log(`Kafka at ${kafka.brokers.join(',')}; database ${database}; ${names.length} repositories synced`);

  // ---- (a) PR webhook → check run completed
  const tree = trees[0]!;
  await measurePrCheck(base, github, tree, 1, mainSha); // warm-up: validators compiled, token issued
  const prMs: number[] = [];
  const conclusions = new Set<string>();
  for (let i = 0; i < samples; i++) {
    const sample = await measurePrCheck(base, github, tree, i + 2, mainSha);
    prMs.push(sample.ms);
    conclusions.add(sample.conclusion);
  }
  log(`PR check: ${samples} samples, conclusions ${[...conclusions].join(' ')}`);
  load['afterPr'] = loadavg().map((l) => round(l, 2));
  // The PR comments and other reports still going out must not share the throughput measurement.
  await waitForEmptyOutbox(pool);

  // ---- (b) outbox throughput, throttling off
  const repositories = names.map((n) => `acme/${n}`);
  const statusesBefore = github.statuses.length;
  const fast = await measureOutbox(pool, statusReports(reportCount, repositories, mainSha, 1_000_000), 120_000);
  const accepted = github.statuses.length - statusesBefore;
  log(`outbox: ${reportCount} reports in ${fast.seconds.toFixed(2)} s`);
  load['afterOutbox'] = loadavg().map((l) => round(l, 2));

  // ---- (b) again against a bare responder: dfm's own throughput (a reporter-only dfm)
  await stopOne('dfm');
  const bare = await startBareGitHub();
  onStop('bare GitHub', () => bare.close());
  service = await startService({ config: dfmConfig(kafka.brokers, join(temp, 'data'), { appId: standIn.appId, privateKey: standIn.privateKey, url: bare.url }, false), logger, role: 'reporter', roles: serviceRoles });
  onStop('dfm', () => service.stop());
  const bareRun = await measureOutbox(pool, statusReports(reportCount, repositories, mainSha, 3_000_000), 120_000);
  const bareAccepted = bare.statuses();
  log(`outbox, bare responder: ${reportCount} reports in ${bareRun.seconds.toFixed(2)} s`);

  // ---- (b') the same with GitHub's pacing on: a short bounded sample
  await stopOne('dfm');
  service = await startService({ config: dfmConfig(kafka.brokers, join(temp, 'data'), standIn, true), logger, role: 'reporter', roles: serviceRoles });
  onStop('dfm', () => service.stop());
  const pacedFrom = github.statuses.length;
  const paced = await measureOutbox(pool, statusReports(throttledCount, repositories.slice(0, 2), mainSha, 2_000_000), 30_000 + throttledCount * 3000);
  const arrivals = github.statuses.slice(pacedFrom).map((s) => s.at);
  const gaps = arrivals.slice(1).map((at, i) => at - arrivals[i]!);

  // ---- report
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
  const p = (q: number) => percentile(prMs, q);
  const table: string[][] = [['figure', 'value', 'bar', 'result']];
  table.push([`PR webhook → check run completed, p50 (ms, n=${samples}, ${CHANGED} of ${PIPELINES} pipelines changed)`, p(50).toFixed(0), '≤ 1000', verdict(p(50) <= 1000)]);
  table.push(['PR webhook → check run completed, p90 (ms)', p(90).toFixed(0), '—', 'info']);
  table.push(['PR webhook → check run completed, p99 (ms)', p(99).toFixed(0), '≤ 2000', verdict(p(99) <= 2000)]);
  table.push(['PR webhook → check run completed, max (ms)', Math.max(...prMs).toFixed(0), '—', 'info']);
  table.push([`outbox, throttle off: ${reportCount} statuses over ${repositories.length} repositories (reports/s)`, fast.perSecond.toFixed(0), '≥ 200', verdict(fast.perSecond >= 200 && fast.delivered === reportCount && accepted === reportCount)]);
  table.push([`outbox, throttle off, bare responder instead of the strict stand-in (reports/s)`, bareRun.perSecond.toFixed(0), '≥ 200', verdict(bareRun.perSecond >= 200 && bareRun.delivered === reportCount && bareAccepted === reportCount)]);
  table.push([`outbox, throttle on: ${throttledCount} statuses over 2 repositories (reports/s)`, paced.perSecond.toFixed(2), '≈ 1 (GitHub pacing)', 'info']);
  table.push(['outbox, throttle on: median gap between writes (ms)', gaps.length > 0 ? percentile(gaps, 50).toFixed(0) : '—', '≈ 1000', 'info']);
  printTable(table);
  process.stdout.write(
    `\nPR check: t0 just before the signed webhook's HTTP request (the push to refs/pull/<n>/head is not timed); the end when every check run of the head is completed at the stand-in (polled every 2 ms); one warm-up sample first; conclusions: ${[...conclusions].join(', ')}.\n` +
      `outbox: enqueued in one transaction (round-robin over the repositories), reports/s = reports ÷ (last finished_at − created_at), DB clock; delivered ${fast.delivered}, failed ${fast.failed}, 2xx at the stand-in ${accepted}; DFM_OUTBOX_CONCURRENCY default (32); the stand-in validates each request against GitHub's OpenAPI in this process; the bare responder (same process) answers tokens and statuses without validation: delivered ${bareRun.delivered}, failed ${bareRun.failed}, 2xx ${bareAccepted}.\n` +
      `throttled: a reporter-only dfm with DFM_GITHUB_THROTTLE=true; delivered ${paced.delivered} in ${paced.seconds.toFixed(1)} s; gaps ${gaps.map((g) => g.toFixed(0)).join(', ')} ms.\n`,
  );
  process.stdout.write(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}; loadavg (1/5/15 min) ${Object.entries(load).map(([k, v]) => `${k} ${v.join('/')}`).join('; ')}\n`);
  process.stdout.write(`dfm ${git(['rev-parse', '--short', 'HEAD'])}${git(['status', '--porcelain', '--', 'src']) ? ' (src has uncommitted changes)' : ''}; elapsed ${((performance.now() - began) / 1000).toFixed(1)} s\n`);
  process.stdout.write(`reproduce: ${command}\n`);
  process.stdout.write(`${JSON.stringify({ bench: 'pr-check', command, samples, load, prCheckMs: { p50: round(p(50)), p90: round(p(90)), p99: round(p(99)), samples: prMs.map((v) => round(v, 1)) }, outbox: { reports: reportCount, repositories: repositories.length, ...fast, accepted }, outboxBare: { ...bareRun, accepted: bareAccepted }, throttled: { reports: throttledCount, ...paced, gapsMs: gaps } })}\n`);
  standIn.assertNoViolations();
}

async function waitForEmptyOutbox(pool: pg.Pool): Promise<void> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const { rows } = await pool.query<{ n: number }>("select count(*)::int as n from dfm.outbox where state = 'pending'");
    if (rows[0]!.n === 0) return;
    if (performance.now() > deadline) throw new Error(`${rows[0]!.n} reports still pending after 60 s`);
    await sleep(50);
  }
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

runBench(main);
