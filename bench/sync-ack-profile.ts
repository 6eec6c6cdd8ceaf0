/**
 * Diagnostic for the acknowledgement part of bench/sync.ts: one dfm (the roles of `--role`,
 * default all) with either the generic webhook (`--endpoint=sync`, a git daemon source as in the
 * bench) or the GitHub App (`--endpoint=github`, the API stand-in, one installation with the
 * bench's repository), or the bench's bare server alone (`--endpoint=bare`, the generic webhook's
 * body; `--endpoint=bare-github`, the GitHub push), then autocannon at saturation against that endpoint for `--seconds`
 * (default 10), with the same bodies and headers as the bench. Prints req/s and the CPU seconds of
 * this process and of PostgreSQL during the run. Meant to be run under the profiler:
 *
 *   node --import tsx --cpu-prof --cpu-prof-dir=/tmp/ack-prof bench/sync-ack-profile.ts --endpoint=github --role=all
 *
 * Same environment as the bench (DATABASE_URL admin connection, KAFKA_BROKERS).
 */
import { sign } from '@octokit/webhooks-methods';
import examples from '@octokit/webhooks-examples/api.github.com/index.json' with { type: 'json' };
import { createHmac, randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config/load-config.js';
import { createLogger } from '../src/lib/logger.js';
import { startService } from '../src/service/start-service.js';
import { serviceRoles } from '../src/service/service-roles.js';
import { registerConfiguredSources } from '../src/sync/sync-source.js';
import { createBareRepository, createTempDir, createWorkTree, parseBasicAuth, removeTempDir, startGitDaemon, startGitHttpServer } from '../test/helpers/git-remote.js';
import { startGitHubStandIn } from '../test/helpers/github-api-stand-in.js';
import { createDatabase, databaseUrl, dropDatabase, withAdmin } from './scheduler/common.js';
import { measureAck, startBareServer, warmUp, type AckTarget } from './sync/ack.js';
import { seedRepository, waitForActiveSha } from './sync/latency.js';
import { startDfmProcess } from './sync/dfm-process.js';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const endpoint = args['endpoint'] ?? 'github';
const role = args['role'] ?? 'all';
const seconds = Number(args['seconds'] ?? 10);
const adminUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const kafkaBrokers = process.env['KAFKA_BROKERS'] ?? '127.0.0.1:29092';
const logger = createLogger(process.env['BENCH_LOG_LEVEL'] ?? 'warn');
const db = `bench_ack_${process.pid}`;
const SECRET = 'a secret for the profile';
const INSTALLATION = 4242;
const stops: (() => Promise<unknown>)[] = [];

async function main(): Promise<void> {
  await withAdmin(adminUrl, (admin) => createDatabase(admin, db));
  stops.push(() => withAdmin(adminUrl, (admin) => dropDatabase(admin, db)));
  const temp = await createTempDir('dfm-ack-profile-');
  stops.push(() => removeTempDir(temp));
  const base = { DATABASE_URL: databaseUrl(adminUrl, db), KAFKA_BROKERS: kafkaBrokers, PORT: '0', HOST: '127.0.0.1', DFM_SYNC_SECRET: SECRET, DFM_SYNC_INTERVAL_MS: '0', DFM_POLL_INTERVAL_MS: '1000', DFM_DATA_DIR: join(temp, 'data') };
  let target: AckTarget;
  const probe = new pg.Pool({ connectionString: databaseUrl(adminUrl, db), max: 1 });
  stops.push(() => probe.end());
  if (endpoint === 'bare' || endpoint === 'bare-github') {
    // The bench's baseline alone, with the generic webhook's body (bare) or the GitHub push (bare-github).
    const bare = await startBareServer(databaseUrl(adminUrl, db), SECRET);
    stops.push(() => bare.close());
    const body = endpoint === 'bare' ? JSON.stringify({ source: 'git:git://127.0.0.1:9418/bench.git', sha: 'a'.repeat(40) }) : JSON.stringify(pushExample());
    target = { url: bare.url, headers: { 'content-type': 'application/json', 'x-dfm-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}` }, body };
  } else if (endpoint === 'sync') {
    const gitRoot = join(temp, 'git');
    const repo = await createBareRepository(gitRoot, 'bench.git');
    const daemon = await startGitDaemon({ root: gitRoot });
    stops.push(() => daemon.close());
    const sha = await seedRepository(await createWorkTree(repo.fileUrl));
    const config = loadConfig({ ...base, DFM_GIT_URL: `${daemon.url}bench.git` });
    const service = await startService({ config, logger, role, roles: serviceRoles });
    stops.push(() => service.stop());
    const source = `git:${daemon.url}bench.git`;
    // Without the scheduler role nothing registers the source; the web roles need it to answer 202.
    if (role.includes('all')) await waitForActiveSha(probe, source, sha, 60_000);
    else await registerConfiguredSources(probe, config);
    const body = JSON.stringify({ source, sha });
    target = { url: `http://127.0.0.1:${service.port}/api/sync`, headers: { 'content-type': 'application/json', 'x-dfm-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}` }, body };
  } else {
    const standIn = await startGitHubStandIn();
    stops.push(() => standIn.close());
    const gitRoot = join(temp, 'gh-git');
    const http = await startGitHttpServer({ root: gitRoot, checkAuth: (header) => parseBasicAuth(header)?.username === 'x-access-token' });
    stops.push(() => http.close());
    const repo = await createBareRepository(gitRoot, 'acme/widgets.git');
    const sha = await seedRepository(await createWorkTree(repo.fileUrl));
    standIn.addInstallation({ id: INSTALLATION, account: 'acme', repositories: [{ name: 'widgets', owner: 'acme', cloneUrl: `${http.url}/acme/widgets.git` }] });
    const env = { ...base, APP_ID: String(standIn.appId), PRIVATE_KEY: standIn.privateKey, WEBHOOK_SECRET: SECRET, GITHUB_API_URL: standIn.url };
    const service = await startService({ config: loadConfig(env), logger, role, roles: serviceRoles });
    stops.push(() => service.stop());
    let url = `http://127.0.0.1:${service.port}/api/github/webhooks`;
    if (args['process'] !== undefined) {
      // --process=<roles>: measure a `dfm serve --role <roles>` child process instead (the bench's web replica).
      const child = await startDfmProcess(env, args['process']);
      stops.push(() => child.stop());
      url = `${child.base}/api/github/webhooks`;
    }
    if (role.includes('all')) await waitForActiveSha(probe, 'github:acme/widgets', sha, 60_000);
    const push = pushExample();
    const repository = { ...(push['repository'] as Record<string, unknown>), name: 'widgets', full_name: 'acme/widgets', default_branch: 'main', clone_url: 'https://github.com/acme/widgets.git' };
    const body = JSON.stringify({ ...push, repository, ref: 'refs/heads/main', before: sha, after: sha, deleted: false, installation: { id: INSTALLATION } });
    target = {
      url,
      headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'user-agent': 'GitHub-Hookshot/bench', 'x-hub-signature-256': await sign(SECRET, body) },
      body,
      freshDelivery: true,
    };
  }
  await warmUp(target, 10);
  const cpuBefore = process.cpuUsage();
  const pgBefore = postgresCpuSeconds();
  const result = await measureAck(`${endpoint} (--role ${role})`, target, { seconds, connections: 10 });
  const cpu = process.cpuUsage(cpuBefore);
  const pgSeconds = postgresCpuSeconds() - pgBefore;
  process.stdout.write(`${JSON.stringify({ ...result, processCpuS: (cpu.user + cpu.system) / 1e6, postgresCpuS: pgSeconds, seconds })}\n`);
}

function pushExample(): Record<string, unknown> {
  return (examples as { name: string; examples: Record<string, unknown>[] }[]).find((e) => e.name === 'push')!.examples[0]!;
}

/** CPU seconds of every postgres process so far (utime + stime from /proc; the server is local). */
function postgresCpuSeconds(): number {
  try {
    const out = execFileSync('sh', ['-c', 'for p in $(pgrep -x postgres); do cat /proc/$p/stat 2>/dev/null; done'], { encoding: 'utf8' });
    return out.split('\n').filter(Boolean).reduce((sum, line) => {
      const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
      return sum + (Number(fields[11]) + Number(fields[12])) / 100;
    }, 0);
  } catch {
    return Number.NaN;
  }
}

main()
  .then(() => 0, (error: unknown) => {
    process.stderr.write(`profile failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  })
  .then(async (code) => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    process.exit(code);
  });
