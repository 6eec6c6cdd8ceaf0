/**
 * Diagnostic (not part of the bench figures): where does C1's dispatch latency go, and which
 * statements does a dfm chain step send? Patches pg.Client/pg.Pool in this process to timestamp
 * NOTIFY deliveries, claim statements and commits, then runs C1 for both systems and a dfm chain.
 *   npx tsx bench/scheduler/trace.ts
 */
import pg from 'pg';
import { createLogger } from '../../src/lib/logger.js';
import { createDatabase, databaseUrl, dropDatabase, Events, median, parseOptions, percentile, withAdmin } from './common.js';
import { dfmSystem, setupDfm } from './dfm.js';
import { graphileSystem, setupGraphile } from './graphile.js';
import { chainInterleaved, latencyInterleaved } from './scenarios.js';

type Kind = 'commitSent' | 'commitAck' | 'notify' | 'claimSent' | 'claimDone' | 'handler';
let timeline: { t: number; kind: Kind }[] = [];
const stats = new Map<string, { n: number; ms: number }>();
let tracing = false;
const mark = (kind: Kind) => tracing && timeline.push({ t: performance.now(), kind });

const isClaim = (text: string) => text.includes('with picked as') || text.includes('with j as');
const appName = (c: unknown) => (c as { connectionParameters?: { application_name?: string } }).connectionParameters?.application_name ?? '';

const originalQuery = pg.Client.prototype.query;
(pg.Client.prototype as unknown as { query: unknown }).query = function (this: pg.Client, ...args: unknown[]) {
  const text = typeof args[0] === 'string' ? args[0] : ((args[0] as { text?: string })?.text ?? '?');
  const enqueueCommit = appName(this) === 'bench-enqueue' && text === 'commit';
  const claim = isClaim(text);
  if (enqueueCommit) mark('commitSent');
  if (claim) mark('claimSent');
  const t0 = performance.now();
  const key = `${appName(this)} | ${text.replace(/\s+/g, ' ').slice(0, 90)}`;
  const done = () => {
    if (enqueueCommit) mark('commitAck');
    if (claim) mark('claimDone');
    if (!tracing) return;
    const s = stats.get(key) ?? { n: 0, ms: 0 };
    s.n++;
    s.ms += performance.now() - t0;
    stats.set(key, s);
  };
  const cb = typeof args[args.length - 1] === 'function' ? (args[args.length - 1] as (...a: unknown[]) => void) : undefined;
  if (cb) {
    args[args.length - 1] = (...a: unknown[]) => {
      done();
      cb(...a);
    };
    return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
  }
  const result = (originalQuery as (...a: unknown[]) => unknown).apply(this, args) as Promise<unknown>;
  result?.then?.(done, () => {});
  return result;
};
const originalEmit = pg.Client.prototype.emit;
pg.Client.prototype.emit = function (this: pg.Client, event: string | symbol, ...args: unknown[]) {
  if (event === 'notification') mark('notify');
  return originalEmit.call(this, event, ...args);
};
const originalRecord = Events.prototype.record;
Events.prototype.record = function (this: Events, key: string, at?: number) {
  if (key.startsWith('start:')) mark('handler');
  return originalRecord.call(this, key, at);
};

/** Per sample (from one commitSent to the next): the first of each kind after commitSent. */
function phases(): Record<string, string> {
  const samples: Record<Kind, number>[] = [];
  let current: Partial<Record<Kind, number>> | undefined;
  for (const { t, kind } of timeline) {
    if (kind === 'commitSent') {
      if (current) samples.push(current as Record<Kind, number>);
      current = { commitSent: t };
    } else if (current && current[kind] === undefined) {
      // The claim that matters is the one after the notification.
      if ((kind === 'claimSent' || kind === 'claimDone') && current.notify === undefined) continue;
      if (kind === 'claimDone' && current.claimSent === undefined) continue;
      current[kind] = t;
    }
  }
  if (current) samples.push(current as Record<Kind, number>);
  const d = (a: Kind, b: Kind) => samples.filter((s) => s[a] !== undefined && s[b] !== undefined).map((s) => s[b] - s[a]);
  const show = (v: number[]) => `p50 ${median(v).toFixed(2)} p99 ${percentile(v, 99).toFixed(2)} (n=${v.length})`;
  return {
    'commit sent → commit ack': show(d('commitSent', 'commitAck')),
    'commit sent → NOTIFY received': show(d('commitSent', 'notify')),
    'NOTIFY → claim sent': show(d('notify', 'claimSent')),
    'claim sent → claim done': show(d('claimSent', 'claimDone')),
    'claim done → handler': show(d('claimDone', 'handler')),
    'commit sent → handler': show(d('commitSent', 'handler')),
  };
}

function topStatements(n: number): void {
  for (const [k, s] of [...stats.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, n)) {
    console.log(`${String(s.n).padStart(6)} × ${(s.ms / s.n).toFixed(3).padStart(8)} ms = ${s.ms.toFixed(0).padStart(6)} ms  ${k}`);
  }
}

const options = { ...parseOptions(['--quick'], process.env), c1Samples: 300, c2Reps: 5, probe: false };
const logger = createLogger('warn');
const gwDb = `bench_sched_trace_gw_${process.pid}`;
const dfmDb = `bench_sched_trace_dfm_${process.pid}`;
const gwUrl = databaseUrl(options.adminUrl, gwDb);
const dfmUrl = databaseUrl(options.adminUrl, dfmDb);
await withAdmin(options.adminUrl, async (admin) => {
  await createDatabase(admin, gwDb);
  await createDatabase(admin, dfmDb);
});
try {
  await setupGraphile(gwUrl);
  await setupDfm(dfmUrl, logger, options);
  const gw = graphileSystem(gwUrl);
  const dfm = dfmSystem(dfmUrl, logger);
  for (const [k, system] of [gw, dfm].entries()) {
    timeline = [];
    stats.clear();
    tracing = true;
    const { results } = await latencyInterleaved([system], options);
    tracing = false;
    console.log(`\n== ${system.name} C1: from commit ${JSON.stringify(results[0]!.fromCommit)}`);
    for (const [name, v] of Object.entries(phases())) console.log(`  ${name.padEnd(32)} ${v}`);
    void k;
  }
  for (const concurrency of [1, options.concurrency]) {
    stats.clear();
    tracing = true;
    const [chain] = await chainInterleaved([dfm], options, concurrency);
    tracing = false;
    console.log(`\n== dfm C2 chain, concurrency ${concurrency}: ${chain!.perStepMs.toFixed(2)} ms/step; statements (client round trip, mean):`);
    topStatements(14);
  }
} finally {
  await withAdmin(options.adminUrl, async (admin) => {
    await dropDatabase(admin, gwDb);
    await dropDatabase(admin, dfmDb);
  });
}
process.exit(0);
