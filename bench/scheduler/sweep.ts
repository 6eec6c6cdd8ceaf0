/**
 * Diagnostic (not part of the bench figures): C3 throughput of both systems across worker
 * concurrency, and of dfm with synchronous_commit off. If dfm's throughput does not grow with
 * concurrency while graphile-worker's does, completions are serialized; if synchronous_commit=off
 * lifts it, what is serialized is a WAL flush (a lock held across COMMIT).
 *   npx tsx bench/scheduler/sweep.ts [--tasks=4000] [--levels=1,4,10,20]
 */
import { createLogger } from '../../src/lib/logger.js';
import { createDatabase, databaseUrl, dropDatabase, parseOptions, round, withAdmin } from './common.js';
import { dfmThroughput, setupDfm } from './dfm.js';
import { graphileThroughput, setupGraphile } from './graphile.js';

const arg = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const tasks = Number(arg('tasks', '4000'));
const levels = arg('levels', '1,4,10,20').split(',').map(Number);
const base = { ...parseOptions(['--quick'], process.env), probe: false };
const logger = createLogger('error');
const gwDb = `bench_sched_sweep_gw_${process.pid}`;
const dfmDb = `bench_sched_sweep_dfm_${process.pid}`;
const gwUrl = databaseUrl(base.adminUrl, gwDb);
const dfmUrl = databaseUrl(base.adminUrl, dfmDb);
await withAdmin(base.adminUrl, async (admin) => {
  await createDatabase(admin, gwDb);
  await createDatabase(admin, dfmDb);
});
try {
  await setupGraphile(gwUrl);
  await setupDfm(dfmUrl, logger, base);
  await withAdmin(base.adminUrl, async (admin) => {
    const shape = { pipelineId: 'bench-c3', tasks, tasksPerRun: base.c3TasksPerRun };
    for (const concurrency of levels) {
      const options = { ...base, concurrency };
      const gw = await graphileThroughput(gwUrl, gwDb, admin, options, tasks);
      const dfm = await dfmThroughput(dfmUrl, dfmDb, admin, logger, options, shape);
      console.log(JSON.stringify({ concurrency, graphileTps: round(gw.tasksPerSecond, 0), dfmTps: round(dfm.tasksPerSecond, 0), dfmOk: dfm.ranNever === 0 && dfm.ranTwice === 0 }));
    }
    const options = { ...base, concurrency: 10 };
    for (const mode of ['off', 'on']) {
      await admin.query(`alter database ${dfmDb} set synchronous_commit = ${mode}`);
      await admin.query(`alter database ${gwDb} set synchronous_commit = ${mode}`);
      const gw = await graphileThroughput(gwUrl, gwDb, admin, options, tasks);
      const dfm = await dfmThroughput(dfmUrl, dfmDb, admin, logger, options, shape);
      console.log(JSON.stringify({ concurrency: 10, synchronousCommit: mode, graphileTps: round(gw.tasksPerSecond, 0), dfmTps: round(dfm.tasksPerSecond, 0) }));
    }
  });
} finally {
  await withAdmin(base.adminUrl, async (admin) => {
    await dropDatabase(admin, gwDb);
    await dropDatabase(admin, dfmDb);
  });
}
process.exit(0);
