/**
 * Sync bench (issue 14): push → new version active through the generic webhook (POST /api/sync,
 * git daemon source) and through the GitHub App webhook (probot, smart-HTTP source behind
 * installation tokens from the GitHub API stand-in), on a repository of 100 pipelines; and webhook
 * acknowledgement latency/throughput with autocannon at 100 req/s and at saturation, beside a bare
 * node:http server that verifies the same HMAC and does one INSERT of the same request's body, in
 * the same run. The acknowledgement is measured twice: dfm as an ingress-only replica
 * (`dfm serve --role web`, its own process, while the bench's dfm handles the jobs it records) —
 * the figures the bars judge — and the one-process dfm (role all) beside it as info.
 *
 *   npx tsx bench/sync.ts             # 30 samples per path, 10 s autocannon runs
 *   npx tsx bench/sync.ts --quick     # 10 samples per path, 5 s autocannon runs
 *   npx tsx bench/sync.ts --samples=N
 *
 * DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) is an admin connection: two
 * fresh databases bench_sync_<pid>_git and bench_sync_<pid>_gh are created and dropped at the end.
 * KAFKA_BROKERS: used when set; otherwise dfm's local broker is started (and stopped) for the run.
 * See bench/README.md.
 */
import { sign } from '@octokit/webhooks-methods';
import examples from '@octokit/webhooks-examples/api.github.com/index.json' with { type: 'json' };
import { createHmac, randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config/load-config.js';
import { resolveKafkaBrokers } from '../src/kafka/resolve-kafka-brokers.js';
import { createLogger } from '../src/lib/logger.js';
import { startService, type RunningService } from '../src/service/start-service.js';
import { serviceRoles } from '../src/service/service-roles.js';
import { createBareRepository, createTempDir, createWorkTree, parseBasicAuth, removeTempDir, startGitDaemon, startGitHttpServer } from '../test/helpers/git-remote.js';
import { freePortPair } from '../test/helpers/free-port.js';
import { startGitHubStandIn } from '../test/helpers/github-api-stand-in.js';
import { createDatabase, databaseUrl, dropDatabase, withAdmin } from './scheduler/common.js';
import { measureAck, startBareServer, warmUp, type AckResult, type AckTarget } from './sync/ack.js';
import { startDfmProcess } from './sync/dfm-process.js';
import { measurePushToActive, percentile, seedRepository, waitForActiveSha, type LatencySamples } from './sync/latency.js';
import { log, onStop, printTable, runBench, stopUntil } from './common/run-bench.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const samplesFlag = argv.find((a) => a.startsWith('--samples='));
const samples = samplesFlag ? Number(samplesFlag.slice('--samples='.length)) : quick ? 10 : 30;
if (!Number.isInteger(samples) || samples <= 0) throw new Error('--samples needs a positive integer');
const ackSeconds = quick ? 5 : 10;
const SATURATION_CONNECTIONS = 10;
const FIXED_RATE = 100;

const adminUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const logger = createLogger(process.env['BENCH_LOG_LEVEL'] ?? 'warn');
const gitDb = `bench_sync_${process.pid}_git`;
const ghDb = `bench_sync_${process.pid}_gh`;
const SYNC_SECRET = 'a sync secret for the bench';
const WEBHOOK_SECRET = 'a webhook secret for the bench';
const INSTALLATION = 4242;
const command = `npx tsx bench/sync.ts ${argv.join(' ')}`.trim();


const hmac = (body: string) => `sha256=${createHmac('sha256', SYNC_SECRET).update(body).digest('hex')}`;

function dfmEnv(database: string, dataDir: string, kafkaBrokers: readonly string[], extra: Record<string, string>): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl(adminUrl, database),
    KAFKA_BROKERS: kafkaBrokers.join(','),
    PORT: '0',
    HOST: '127.0.0.1',
    DFM_SYNC_SECRET: SYNC_SECRET,
    // No polling: only the webhook (and the job queue's NOTIFY) can make a sync happen fast.
    DFM_SYNC_INTERVAL_MS: '0',
    DFM_POLL_INTERVAL_MS: '1000',
    DFM_DATA_DIR: dataDir,
    ...extra,
  };
}

async function startDfm(name: string, env: Record<string, string>): Promise<{ service: RunningService; base: string; pool: pg.Pool; env: Record<string, string> }> {
  const config = loadConfig(env);
  const service = await startService({ config, logger, role: 'all', roles: serviceRoles });
  onStop(`dfm (${name})`, () => service.stop());
  const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 2, application_name: 'bench-sync-probe' });
  onStop(`probe pool (${name})`, () => pool.end());
  return { service, base: `http://127.0.0.1:${service.port}`, pool, env };
}

async function post(url: string, headers: Record<string, string>, body: string): Promise<void> {
  const response = await fetch(url, { method: 'POST', headers, body });
  await response.arrayBuffer();
  if (response.status >= 300) throw new Error(`POST ${url} answered ${response.status}`);
}

/** A real push payload from @octokit/webhooks-examples, pointed at the installation's repository. */
function pushPayload(before: string, after: string): Record<string, unknown> {
  const found = (examples as { name: string; examples: Record<string, unknown>[] }[]).find((e) => e.name === 'push')!.examples[0]!;
  const payload = structuredClone(found);
  const repository = payload['repository'] as Record<string, unknown>;
  Object.assign(repository, { name: 'widgets', full_name: 'acme/widgets', default_branch: 'main', master_branch: 'main', clone_url: 'https://github.com/acme/widgets.git' });
  (repository['owner'] as Record<string, unknown>)['login'] = 'acme';
  return { ...payload, ref: 'refs/heads/main', before, after, deleted: false, installation: { id: INSTALLATION } };
}

async function githubHeaders(body: string): Promise<Record<string, string>> {
  return { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'user-agent': 'GitHub-Hookshot/bench', 'x-hub-signature-256': await sign(WEBHOOK_SECRET, body) };
}

/** One endpoint's acknowledgement figures: dfm as an ingress-only replica, dfm in one process, and the bare server. */
interface AckSet {
  readonly fixed: { bare: AckResult; web: AckResult; all: AckResult };
  readonly saturated: { bare: AckResult; web: AckResult; all: AckResult };
}

/**
 * The acknowledgement runs of one endpoint, interleaved so the three share the machine's load:
 * bare, the `--role web` replica and the one-process dfm at 100 req/s, then the same three at
 * saturation; each after a second of unmeasured warm-up and once the job queue is idle (the
 * bench's own dfm handles the jobs either dfm recorded).
 */
async function ackSet(what: string, targets: { bare: AckTarget; web: AckTarget; all: AckTarget }, pool: pg.Pool): Promise<AckSet> {
  const labels = { bare: `bare node:http + INSERT (${what} body)`, web: `dfm --role web ${what}`, all: `dfm --role all ${what}` };
  const one = async (which: 'bare' | 'web' | 'all', rate: number | undefined) => {
    await warmUp(targets[which], SATURATION_CONNECTIONS);
    await waitForIdleJobs(pool);
    log(`ack: ${labels[which]} ${rate === undefined ? 'at saturation' : `at ${rate} req/s`} for ${ackSeconds} s`);
    return measureAck(labels[which], targets[which], { seconds: ackSeconds, connections: SATURATION_CONNECTIONS, ...(rate === undefined ? {} : { rate }) });
  };
  const fixed = { bare: await one('bare', FIXED_RATE), web: await one('web', FIXED_RATE), all: await one('all', FIXED_RATE) };
  const saturated = { bare: await one('bare', undefined), web: await one('web', undefined), all: await one('all', undefined) };
  await waitForIdleJobs(pool);
  return { fixed, saturated };
}

async function main(): Promise<void> {
  const began = performance.now();
  const load: Record<string, number[]> = { start: loadavg().map((l) => round(l, 2)) };
  await withAdmin(adminUrl, async (admin) => {
    await createDatabase(admin, gitDb);
    await createDatabase(admin, ghDb);
  });
  onStop('the databases', () => withAdmin(adminUrl, async (admin) => {
    await dropDatabase(admin, gitDb);
    await dropDatabase(admin, ghDb);
  }));
  const temp = await createTempDir('dfm-bench-sync-');
  onStop('the temp dir', () => removeTempDir(temp));

  // One broker for both dfm configurations: the given one, or dfm's local broker on a free port.
  const kafka = process.env['KAFKA_BROKERS']
    ? { brokers: process.env['KAFKA_BROKERS'].split(','), stop: async () => {} }
    : await resolveKafkaBrokers(loadConfig({ DFM_DATA_DIR: join(temp, 'kafka'), DFM_KAFKA_PORT: String(await freePortPair()) }), logger);
  onStop('the Kafka broker', kafka.stop);
  log(`Kafka at ${kafka.brokers.join(',')}; databases ${gitDb}, ${ghDb}; ${samples} samples per path`);

  // ---- generic webhook: a git daemon source
  const gitRoot = join(temp, 'git');
  const repo = await createBareRepository(gitRoot, 'bench.git');
  const daemon = await startGitDaemon({ root: gitRoot });
  onStop('git daemon', () => daemon.close());
  const tree = await createWorkTree(repo.fileUrl);
  const seeded = await seedRepository(tree);
  const generic = await startDfm('generic', dfmEnv(gitDb, join(temp, 'data-git'), kafka.brokers, { DFM_GIT_URL: `${daemon.url}bench.git` }));
  const { rows } = await generic.pool.query<{ id: string }>("select id from dfm.sync_source where kind = 'git'");
  const gitSource = rows[0]!.id;
  await waitForActiveSha(generic.pool, gitSource, seeded, 60_000);
  log(`generic: first sync active (${gitSource}); measuring push → active`);
  const genericLatency = await measurePushToActive({
    label: 'generic webhook (POST /api/sync)',
    tree,
    pool: generic.pool,
    sourceId: gitSource,
    samples,
    initialSha: seeded,
    trigger: (_before, after) => {
      const body = JSON.stringify({ source: gitSource, sha: after });
      return post(`${generic.base}/api/sync`, { 'content-type': 'application/json', 'x-dfm-signature-256': hmac(body) }, body);
    },
  });
  load['afterGenericLatency'] = loadavg().map((l) => round(l, 2));

  // Acknowledgement: the same signed body every time (the active sha: dfm dedupes by the pending
  // job's key, so the queue stays small and the sync jobs find nothing to do).
  const active = (await generic.pool.query<{ active_sha: string }>('select active_sha from dfm.sync_source where id = $1', [gitSource])).rows[0]!.active_sha;
  const ackBody = JSON.stringify({ source: gitSource, sha: active });
  const signed = { headers: { 'content-type': 'application/json', 'x-dfm-signature-256': hmac(ackBody) }, body: ackBody };
  const bare = await startBareServer(databaseUrl(adminUrl, gitDb), SYNC_SECRET);
  onStop('bare server', () => bare.close());
  // The ingress-only replica (`dfm serve --role web`, its own process) beside the bench's dfm,
  // whose scheduler and workers handle what the replica records.
  const genericWeb = await startDfmProcess(generic.env, 'web');
  onStop('dfm --role web (generic)', () => genericWeb.stop());
  const genericAck = await ackSet('POST /api/sync', { bare: { url: bare.url, ...signed }, web: { url: `${genericWeb.base}/api/sync`, ...signed }, all: { url: `${generic.base}/api/sync`, ...signed } }, generic.pool);
  load['afterGenericAck'] = loadavg().map((l) => round(l, 2));
  await stopUntil('bare server');
  await stopUntil('dfm (generic)');

  // ---- GitHub webhook: the App, a smart-HTTP source behind installation tokens
  let githubLatency: LatencySamples | undefined;
  let githubAck: AckSet | undefined;
  let githubError: string | undefined;
  try {
    ({ githubLatency, githubAck } = await githubPath(temp, kafka.brokers));
    load['afterGitHub'] = loadavg().map((l) => round(l, 2));
  } catch (error) {
    githubError = error instanceof Error ? error.message : String(error);
    log(`GitHub path failed: ${githubError}`);
  }

  // ---- report
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
  const rows2: string[][] = [['figure', 'p50', 'p90', 'p99', 'max', 'bar', 'result']];
  const latencyRows = (l: LatencySamples) => {
    const p = (q: number) => percentile(l.observedMs, q);
    const a = (q: number) => percentile(l.activatedAtMs, q);
    rows2.push([`${l.label}: push → active, observed (ms, n=${l.observedMs.length})`, f(p(50)), f(p(90)), f(p(99)), f(Math.max(...l.observedMs)), 'p50 ≤ 1000, p99 ≤ 2000', verdict(p(50) <= 1000 && p(99) <= 2000)]);
    rows2.push([`${l.label}: t0 → activated_at (ms, info)`, f(a(50)), f(a(90)), f(a(99)), f(Math.max(...l.activatedAtMs)), '—', 'info']);
  };
  latencyRows(genericLatency);
  if (githubLatency) latencyRows(githubLatency);
  printTable(rows2);

  const ackRows: string[][] = [['acknowledgement', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'requests', 'non-2xx', 'errors', 'ratio req/s vs bare', 'bar', 'result']];
  const ackRow = (r: AckResult, mode: string, baseline: AckResult | undefined, bar: string, ok: boolean | undefined, infoOnly = false) =>
    ackRows.push([`${r.label} ${mode}`, f(r.requestsPerSecond, 1), f(r.p50, 0), f(r.p99, 0), f(r.max, 0), String(r.requests), String(r.non2xx), String(r.errors + r.timeouts), baseline ? f(r.requestsPerSecond / baseline.requestsPerSecond, 2) : '—', bar, ok === undefined ? 'info' : infoOnly ? `info (${verdict(ok)})` : verdict(ok)]);
  const fixedMode = `@${FIXED_RATE} req/s`;
  const satMode = `saturated (${SATURATION_CONNECTIONS} conn)`;
  const healthy = (r: AckResult) => r.non2xx === 0 && r.errors === 0 && r.timeouts === 0;
  const fastEnough = (r: AckResult) => healthy(r) && r.p99 <= 50;
  const throughEnough = (r: AckResult, bare: AckResult) => healthy(r) && r.requestsPerSecond >= 0.5 * bare.requestsPerSecond;
  // The bars hold for the ingress replica (`--role web`), the deployment the README gives for
  // webhook traffic; the one-process dfm (its scheduler and workers on the same event loop, handling
  // every recorded job as it arrives) is shown beside it, judged against the same bar as info.
  for (const set of [genericAck, ...(githubAck ? [githubAck] : [])]) {
    ackRow(set.fixed.bare, fixedMode, undefined, '—', undefined);
    ackRow(set.fixed.web, fixedMode, set.fixed.bare, 'p99 ≤ 50 ms', fastEnough(set.fixed.web));
    ackRow(set.fixed.all, fixedMode, set.fixed.bare, 'p99 ≤ 50 ms', fastEnough(set.fixed.all), true);
    ackRow(set.saturated.bare, satMode, undefined, '—', undefined);
    ackRow(set.saturated.web, satMode, set.saturated.bare, '≥ 0.5× bare', throughEnough(set.saturated.web, set.saturated.bare));
    ackRow(set.saturated.all, satMode, set.saturated.bare, '≥ 0.5× bare', throughEnough(set.saturated.all, set.saturated.bare), true);
  }
  process.stdout.write('\n');
  printTable(ackRows);

  process.stdout.write(
    `\npush → active: t0 just before the webhook's HTTP request (after the push, which is not timed); "observed" = a poll every 5 ms of dfm.sync_source.active_sha sees the new sha (the activation committed), both on this process's monotonic clock; "activated_at" = the activation transaction's now() (DB clock, same machine) − the wall clock at t0, so it is the start of that transaction. Each sample changes one of the ${100} pipelines' SQL.\n` +
      `acknowledgement: autocannon 9 in a child process, ${ackSeconds} s per run after 1 s of unmeasured warm-up per server and once dfm's job queue is idle, ${SATURATION_CONNECTIONS} connections, fixed rate = overallRate ${FIXED_RATE}; bare = node:http, HMAC SHA-256 + timingSafeEqual, one INSERT of the body through a pg.Pool of 10, same PostgreSQL, in the bench's process, sent the same request as dfm; dfm --role web = \`dfm serve --role web\` in its own process (the ingress-only replica; the bench's dfm, role all, handles the jobs it records meanwhile); dfm --role all = the bench's dfm, one process with the scheduler and workers; run order bare, web, all at ${FIXED_RATE} req/s, then the same at saturation${githubAck ? ', first POST /api/sync, then (after the generic dfm stopped) /api/github/webhooks, each delivery a fresh X-GitHub-Delivery (a webhook_delivery row and a github-event job each)' : ''}.\n`,
  );
  if (githubError) process.stdout.write(`GitHub path: NOT MEASURED: ${githubError}\n`);
  process.stdout.write(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}; loadavg (1/5/15 min) ${Object.entries(load).map(([k, v]) => `${k} ${v.join('/')}`).join('; ')}\n`);
  process.stdout.write(`dfm ${git(['rev-parse', '--short', 'HEAD'])}${git(['status', '--porcelain', '--', 'src']) ? ' (src has uncommitted changes)' : ''}; elapsed ${f((performance.now() - began) / 1000, 1)} s\n`);
  process.stdout.write(`reproduce: ${command}\n`);
  const summary = (l: LatencySamples | undefined) => l && { observedMs: { p50: round(percentile(l.observedMs, 50)), p90: round(percentile(l.observedMs, 90)), p99: round(percentile(l.observedMs, 99)) }, samplesMs: l.observedMs.map((v) => round(v, 1)) };
  process.stdout.write(`${JSON.stringify({ bench: 'sync', command, samples, ackSeconds, load, latency: { generic: summary(genericLatency), github: summary(githubLatency) }, ack: { generic: genericAck, github: githubAck }, githubError })}\n`);
}

async function githubPath(temp: string, kafkaBrokers: readonly string[]): Promise<{ githubLatency: LatencySamples; githubAck: AckSet }> {
  const standIn = await startGitHubStandIn();
  onStop('GitHub stand-in', () => standIn.close());
  const gitRoot = join(temp, 'gh-git');
  const http = await startGitHttpServer({
    root: gitRoot,
    // github.com takes `x-access-token:<installation token>`; the stand-in knows which it issued.
    checkAuth: (header) => {
      const credentials = parseBasicAuth(header);
      return credentials?.username === 'x-access-token' && standIn.isValidToken(credentials.password, INSTALLATION);
    },
  });
  onStop('git http server', () => http.close());
  const repo = await createBareRepository(gitRoot, 'acme/widgets.git');
  const tree = await createWorkTree(repo.fileUrl);
  const seeded = await seedRepository(tree);
  standIn.addInstallation({ id: INSTALLATION, account: 'acme', repositories: [{ name: 'widgets', owner: 'acme', cloneUrl: `${http.url}/acme/widgets.git` }] });
  const gh = await startDfm('GitHub', dfmEnv(ghDb, join(temp, 'data-gh'), kafkaBrokers, { APP_ID: String(standIn.appId), PRIVATE_KEY: standIn.privateKey, WEBHOOK_SECRET, GITHUB_API_URL: standIn.url }));
  const source = 'github:acme/widgets';
  await waitForActiveSha(gh.pool, source, seeded, 60_000);
  log('GitHub: first sync active; measuring push → active');
  const githubLatency = await measurePushToActive({
    label: 'GitHub webhook (push)',
    tree,
    pool: gh.pool,
    sourceId: source,
    samples,
    initialSha: seeded,
    trigger: async (before, after) => {
      const body = JSON.stringify(pushPayload(before, after));
      await post(`${gh.base}/api/github/webhooks`, await githubHeaders(body), body);
    },
  });
  // Acknowledgement: a push of the active sha, each with its own delivery id (signed once: the
  // body does not change, the delivery id is a header).
  const active = (await gh.pool.query<{ active_sha: string }>('select active_sha from dfm.sync_source where id = $1', [source])).rows[0]!.active_sha;
  const body = JSON.stringify(pushPayload(active, active));
  const signature = await sign(WEBHOOK_SECRET, body);
  const delivery = (url: string): AckTarget => ({
    url,
    headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'user-agent': 'GitHub-Hookshot/bench', 'x-hub-signature-256': signature },
    body,
    freshDelivery: true,
  });
  // The baseline gets the same request: the 7 kB push signed with the webhook secret (the generic
  // webhook's body is ~100 bytes; against that bare server the GitHub rows read 0.03–0.1 lower).
  const bare = await startBareServer(databaseUrl(adminUrl, ghDb), WEBHOOK_SECRET);
  onStop('bare server (GitHub body)', () => bare.close());
  const web = await startDfmProcess(gh.env, 'web');
  onStop('dfm --role web (GitHub)', () => web.stop());
  const githubAck = await ackSet('/api/github/webhooks', { bare: delivery(bare.url), web: delivery(`${web.base}/api/github/webhooks`), all: delivery(`${gh.base}/api/github/webhooks`) }, gh.pool);
  return { githubLatency, githubAck };
}

/**
 * Waits until dfm's job queue has nothing pending or running: the jobs a run left (sync and
 * github-event jobs work in this process) must not load the next measured run.
 */
async function waitForIdleJobs(pool: pg.Pool): Promise<void> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const { rows } = await pool.query<{ n: number }>("select count(*)::int as n from dfm.job where state in ('pending', 'running')");
    if (rows[0]!.n === 0) return;
    if (performance.now() > deadline) throw new Error(`dfm's job queue still has ${rows[0]!.n} pending or running jobs after 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function round(n: number, digits = 3): number {
  return Number(n.toFixed(digits));
}

function f(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : String(n);
}

runBench(main);
