/**
 * Scheduler bench: graphile-worker 0.17.3 vs dfm's executor on the same PostgreSQL, same run.
 *
 *   npx tsx bench/scheduler.ts            # full: C1 1,000 samples, C2 5 reps, C3 50,000 tasks
 *   npx tsx bench/scheduler.ts --quick    # C1 200 samples, C2 3 reps, C3 5,000 tasks
 *
 * DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) is the admin connection: two
 * fresh databases are created next to it (one per system) and dropped at the end.
 * Other flags: --c1-samples=N --c2-reps=N --c3-tasks=N --c3-tasks-per-run=N --concurrency=N
 * --no-explain --no-probe. See bench/README.md.
 */
import { createLogger } from '../src/lib/logger.js';
import { createDatabase, databaseUrl, dropDatabase, parseOptions, round, withAdmin } from './scheduler/common.js';
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { dfmSystem, dfmThroughput, explainHotStatements, PROBE_PIPELINE, setupDfm } from './scheduler/dfm.js';
import { graphileSystem, graphileThroughput, setupGraphile, type ThroughputResult } from './scheduler/graphile.js';
import { chainInterleaved, latencyInterleaved, type ChainResult } from './scheduler/scenarios.js';

const options = parseOptions(process.argv.slice(2), process.env);
const logger = createLogger(process.env['BENCH_LOG_LEVEL'] ?? 'warn');
const suffix = `${process.pid}`;
const gwDb = `bench_sched_gw_${suffix}`;
const dfmDb = `bench_sched_dfm_${suffix}`;
const gwUrl = databaseUrl(options.adminUrl, gwDb);
const dfmUrl = databaseUrl(options.adminUrl, dfmDb);
const command = `npx tsx bench/scheduler.ts ${process.argv.slice(2).join(' ')}`.trim();
// A closed stdout (e.g. `| head`) must not skip the cleanup that drops the databases.
process.stdout.on('error', () => {});
const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

async function main(): Promise<void> {
  const began = performance.now();
  const context: Record<string, unknown> = { dfmCommit: git(['rev-parse', '--short', 'HEAD']), dfmDirty: git(['status', '--porcelain', '--', 'src/executor', 'src/scheduler', 'src/runs', 'src/db']).split('\n').filter(Boolean) };
  await withAdmin(options.adminUrl, async (admin) => {
    const { rows } = await admin.query<{ version: string; sc: string }>("select version() as version, current_setting('synchronous_commit') as sc");
    context['postgres'] = rows[0]!.version.split(' on ')[0];
    context['synchronousCommit'] = rows[0]!.sc;
    log(`${context['postgres']}, synchronous_commit=${rows[0]!.sc}; dfm ${context['dfmCommit']}; databases ${gwDb}, ${dfmDb}`);
    await createDatabase(admin, gwDb);
    await createDatabase(admin, dfmDb);
  });
  let cleanupDone = false;
  const cleanup = async () => {
    if (cleanupDone) return;
    cleanupDone = true;
    await withAdmin(options.adminUrl, async (admin) => {
      await dropDatabase(admin, gwDb);
      await dropDatabase(admin, dfmDb);
    });
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  try {
    await setupGraphile(gwUrl);
    await setupDfm(dfmUrl, logger, options);

    const gw = graphileSystem(gwUrl);
    const dfm = dfmSystem(dfmUrl, logger);
    log(`C1 dispatch latency: ${options.c1Samples} sequential samples each, concurrency 1, alternating`);
    const c1 = await latencyInterleaved([gw, dfm], options);
    context['loadavg1mC1'] = c1.loadavg.map((l) => round(l, 2));
    const [c1gw, c1dfm] = c1.results as [typeof c1.results[0], typeof c1.results[0]];

    log(`C2 ${options.c2Steps}-step chain: ${options.c2Reps} reps each, concurrency ${options.concurrency} and 1, alternating`);
    const [c2gw, c2dfm] = (await chainInterleaved([gw, dfm], options, options.concurrency)) as [ChainResult, ChainResult];
    const [c2gw1, c2dfm1] = (await chainInterleaved([gw, dfm], options, 1)) as [ChainResult, ChainResult];
    const chainRunsOk = await dfm.runsSucceeded();

    log(`C3 ${options.c3Tasks} independent no-op tasks, concurrency ${options.concurrency}`);
    const { c3gw, c3dfm, probe, plans } = await withAdmin(options.adminUrl, async (admin) => {
      // Two halves per system in ABBA order (graphile, dfm, dfm, graphile): background load on this
      // shared machine drifts over minutes, and ABBA gives both systems the same average load.
      const half = options.c3Tasks / 2;
      const shape = { pipelineId: 'bench-c3', tasks: half, tasksPerRun: options.c3TasksPerRun };
      const load = [loadavg()[0]!];
      const gwA = await graphileThroughput(gwUrl, gwDb, admin, options, half);
      log(`  graphile-worker (1/2): ${round(gwA.tasksPerSecond, 0)} tasks/s`);
      const dfmA = await dfmThroughput(dfmUrl, dfmDb, admin, logger, options, shape);
      log(`  dfm (1/2): ${round(dfmA.tasksPerSecond, 0)} tasks/s`);
      load.push(loadavg()[0]!);
      const dfmB = await dfmThroughput(dfmUrl, dfmDb, admin, logger, options, shape);
      log(`  dfm (2/2): ${round(dfmB.tasksPerSecond, 0)} tasks/s`);
      const gwB = await graphileThroughput(gwUrl, gwDb, admin, options, half);
      log(`  graphile-worker (2/2): ${round(gwB.tasksPerSecond, 0)} tasks/s`);
      load.push(loadavg()[0]!);
      context['loadavg1mC3'] = load.map((l) => round(l, 2));
      const c3gw = combine(gwA, gwB);
      const c3dfm = { ...combine(dfmA, dfmB), verified: sumFields(dfmA.verified, dfmB.verified) };
      let probe: { oneRun: DfmThroughput; fiveRuns: DfmThroughput } | undefined;
      if (options.probe) {
        const size = 5 * options.c3TasksPerRun;
        log(`  probe: dfm, ${size} tasks as 1 run of ${size} vs 5 runs of ${options.c3TasksPerRun}`);
        const oneRun = await dfmThroughput(dfmUrl, dfmDb, admin, logger, options, { pipelineId: PROBE_PIPELINE, tasks: size, tasksPerRun: size });
        const fiveRuns = await dfmThroughput(dfmUrl, dfmDb, admin, logger, options, { pipelineId: 'bench-c3', tasks: size, tasksPerRun: options.c3TasksPerRun });
        probe = { oneRun, fiveRuns };
        log(`  probe: ${round(oneRun.tasksPerSecond, 0)} vs ${round(fiveRuns.tasksPerSecond, 0)} tasks/s`);
      }
      const plans = options.explain ? await explainHotStatements(dfmUrl, logger, options.probe ? PROBE_PIPELINE : 'bench-c3') : undefined;
      return { c3gw, c3dfm, probe, plans };
    });

    // ---- verdicts
    const valid = {
      c1: c1gw.ranTwice === 0 && c1dfm.ranTwice === 0 && c1gw.samples === options.c1Samples && c1dfm.samples === options.c1Samples,
      c2: c2gw.ranTwice === 0 && c2dfm.ranTwice === 0 && chainRunsOk === 2 * (options.c2Reps + 1),
      c3:
        c3gw.ranTwice === 0 && c3gw.ranNever === 0 && c3gw.leftInQueue === 0 &&
        c3dfm.ranTwice === 0 && c3dfm.ranNever === 0 && c3dfm.leftInQueue === 0 &&
        c3dfm.verified.succeededFirstAttempt === c3dfm.tasks && c3dfm.verified.attempts === c3dfm.tasks && c3dfm.verified.runsSucceeded === c3dfm.verified.runs,
    };
    const ratio = {
      c1p50: c1dfm.fromCommit.p50 / c1gw.fromCommit.p50,
      c1p99: c1dfm.fromCommit.p99 / c1gw.fromCommit.p99,
      c2: c2dfm.perStepMs / c2gw.perStepMs,
      c2c1: c2dfm1.perStepMs / c2gw1.perStepMs,
      c3: c3dfm.tasksPerSecond / c3gw.tasksPerSecond,
      commits: c3dfm.commitsPerTask / c3gw.commitsPerTask,
    };
    const pass = {
      c1: valid.c1 && ratio.c1p99 <= 3,
      c2: valid.c2 && ratio.c2 <= 2 && c2dfm.perStepMs <= 50,
      c3: valid.c3 && ratio.c3 >= 0.5,
    };
    const verdict = (ok: boolean, isValid: boolean) => (!isValid ? 'INVALID' : ok ? 'pass' : 'FAIL');

    const rows: string[][] = [
      ['scenario', 'graphile-worker', 'dfm', 'ratio dfm/gw', 'bar', 'result'],
      ['C1 dispatch p50 (ms)', f(c1gw.fromCommit.p50), f(c1dfm.fromCommit.p50), f(ratio.c1p50, 2), '—', 'info'],
      ['C1 dispatch p99 (ms)', f(c1gw.fromCommit.p99), f(c1dfm.fromCommit.p99), f(ratio.c1p99, 2), '≤ 3×', verdict(pass.c1, valid.c1)],
      [`C2 ${options.c2Steps}-step chain, per step (ms), c=${options.concurrency}`, f(c2gw.perStepMs), f(c2dfm.perStepMs), f(ratio.c2, 2), '≤ 2× and ≤ 50 ms', verdict(pass.c2, valid.c2)],
      [`C2 per step (ms), c=1 (info)`, f(c2gw1.perStepMs), f(c2dfm1.perStepMs), f(ratio.c2c1, 2), '—', 'info'],
      [`C3 ${options.c3Tasks} no-op tasks (tasks/s), c=${options.concurrency}`, f(c3gw.tasksPerSecond, 0), f(c3dfm.tasksPerSecond, 0), f(ratio.c3, 2), '≥ 0.5×', verdict(pass.c3, valid.c3)],
      ['C3 commits per task (xact_commit)', f(c3gw.commitsPerTask, 2), f(c3dfm.commitsPerTask, 2), f(ratio.commits, 2), '—', 'info'],
      ['C3 commits per task incl. enqueue', f(c3gw.commitsPerTaskWithEnqueue, 2), f(c3dfm.commitsPerTaskWithEnqueue, 2), f(c3dfm.commitsPerTaskWithEnqueue / c3gw.commitsPerTaskWithEnqueue, 2), '—', 'info'],
    ];
    if (probe) {
      rows.push([`probe: dfm 5 runs × ${options.c3TasksPerRun} tasks (tasks/s)`, '—', f(probe.fiveRuns.tasksPerSecond, 0), '—', '—', 'info']);
      rows.push([`probe: dfm 1 run × ${probe.oneRun.tasks} tasks (tasks/s)`, '—', f(probe.oneRun.tasksPerSecond, 0), '—', '—', 'info']);
    }
    printTable(rows);

    process.stdout.write(`\nC1 from the start of the enqueueing transaction (graphile perfTest method): graphile p50 ${f(c1gw.fromEnqueue.p50)} / p99 ${f(c1gw.fromEnqueue.p99)} ms, dfm p50 ${f(c1dfm.fromEnqueue.p50)} / p99 ${f(c1dfm.fromEnqueue.p99)} ms\n`);
    process.stdout.write(`C2 totals (ms), c=${options.concurrency}: graphile [${c2gw.totalsMs.map((t) => f(t, 1)).join(', ')}], dfm [${c2dfm.totalsMs.map((t) => f(t, 1)).join(', ')}]\n`);
    process.stdout.write(`C3 graphile: ${c3gw.setup}; ${f(c3gw.seconds, 2)} s, node CPU ${f(c3gw.nodeCpuSeconds, 1)} s\n`);
    process.stdout.write(`C3 dfm: ${c3dfm.setup}; ${f(c3dfm.seconds, 2)} s, node CPU ${f(c3dfm.nodeCpuSeconds, 1)} s; verified ${JSON.stringify(c3dfm.verified)}\n`);
    const waitLine = (name: string, w: typeof c3gw.waits) =>
      `${name} backends per sample (${w.samples} samples): ${w.states.map((s) => `${s.what}=${s.perSample}`).join(', ')}\n  busiest: ${w.busiest.map((s) => `${s.perSample} × ${s.what}`).join('\n           ')}\n`;
    process.stdout.write(waitLine('C3 graphile', c3gw.waits));
    process.stdout.write(waitLine('C3 dfm', c3dfm.waits));
    if (probe) process.stdout.write(waitLine(`probe dfm 1 run × ${probe.oneRun.tasks}`, probe.oneRun.waits));
    if (plans) for (const [name, plan] of Object.entries(plans)) process.stdout.write(`\nEXPLAIN ANALYZE ${name}:\n${plan}\n`);

    const json = {
      bench: 'scheduler',
      command,
      quick: options.quick,
      context,
      concurrency: options.concurrency,
      elapsedSeconds: round((performance.now() - began) / 1000, 1),
      c1: { samples: options.c1Samples, graphile: c1gw, dfm: c1dfm, ratioP50: round(ratio.c1p50), ratioP99: round(ratio.c1p99), bar: 'dfm p99 <= 3x', pass: pass.c1 },
      c2: {
        steps: options.c2Steps,
        reps: options.c2Reps,
        graphile: { perStepMs: round(c2gw.perStepMs), totalsMs: c2gw.totalsMs.map((t) => round(t, 2)) },
        dfm: { perStepMs: round(c2dfm.perStepMs), totalsMs: c2dfm.totalsMs.map((t) => round(t, 2)) },
        ratio: round(ratio.c2),
        concurrency1: { graphilePerStepMs: round(c2gw1.perStepMs), dfmPerStepMs: round(c2dfm1.perStepMs), ratio: round(ratio.c2c1) },
        bar: 'dfm <= 2x and <= 50 ms/step',
        pass: pass.c2,
      },
      c3: {
        tasks: options.c3Tasks,
        graphile: strip(c3gw),
        dfm: strip(c3dfm),
        ratio: round(ratio.c3),
        commitsPerTaskRatio: round(ratio.commits),
        bar: 'dfm >= 0.5x',
        pass: pass.c3,
        ...(probe ? { probe: { oneRun: strip(probe.oneRun), fiveRuns: strip(probe.fiveRuns) } } : {}),
      },
      valid,
      pass,
    };
    process.stdout.write(`\nreproduce: ${command}\n`);
    process.stdout.write(`${JSON.stringify(json)}\n`);
  } finally {
    await cleanup();
  }
}

type DfmThroughput = Awaited<ReturnType<typeof dfmThroughput>>;

/** Two measured halves as one: totals add up, rates are recomputed from the totals. */
function combine<T extends ThroughputResult>(a: T, b: T): ThroughputResult & { halves: { tasks: number; seconds: number; tasksPerSecond: number }[] } {
  const tasks = a.tasks + b.tasks;
  const seconds = a.seconds + b.seconds;
  const weighted = (key: 'commitsPerTask' | 'commitsPerTaskWithEnqueue') => (a[key] * a.tasks + b[key] * b.tasks) / tasks;
  return {
    tasks,
    seconds,
    tasksPerSecond: tasks / seconds,
    commitsPerTask: weighted('commitsPerTask'),
    commitsPerTaskWithEnqueue: weighted('commitsPerTaskWithEnqueue'),
    enqueueSeconds: a.enqueueSeconds + b.enqueueSeconds,
    ranTwice: a.ranTwice + b.ranTwice,
    ranNever: a.ranNever + b.ranNever,
    leftInQueue: a.leftInQueue + b.leftInQueue,
    nodeCpuSeconds: a.nodeCpuSeconds + b.nodeCpuSeconds,
    waits: a.waits,
    setup: `${a.setup}; twice (${tasks} tasks in all, ABBA order with the other system)`,
    halves: [a, b].map((h) => ({ tasks: h.tasks, seconds: round(h.seconds, 3), tasksPerSecond: round(h.tasksPerSecond, 1) })),
  };
}

function sumFields<T extends Record<string, number>>(a: T, b: T): T {
  return Object.fromEntries(Object.keys(a).map((k) => [k, a[k]! + b[k]!])) as T;
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function strip<T extends { waits: unknown; tasksPerSecond: number; seconds: number }>(r: T) {
  const { waits, ...rest } = r;
  return { ...rest, tasksPerSecond: round(r.tasksPerSecond, 1), seconds: round(r.seconds, 3), waits };
}

function f(n: number, digits = 3): string {
  return Number.isFinite(n) ? n.toFixed(digits) : String(n);
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  process.stdout.write(`${line(rows[0]!)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${rows.slice(1).map(line).join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
