/**
 * A scheduler in its own process on simulated time, for the many-schedulers test. All processes
 * share the epoch (real ms) at which simulated time starts at T0, and the speed-up, so they tick
 * through the same minutes concurrently. Leader election is off: only the database keeps them from
 * creating a fire twice. Args: <databaseUrl> <T0 iso> <processes> <speedup> <end iso>
 *
 * Simulated time begins 1 s after the last of the processes is ready (each one enters its pid in
 * the table sched_ready, which the test creates): a fixed delay from spawning was too short when
 * tsx started slowly on a loaded machine, and a late process took part in a few ticks only.
 */
import { createPool } from '../../src/db/create-pool.js';
import { createLogger } from '../../src/lib/logger.js';
import { startScheduler } from '../../src/scheduler/start-scheduler.js';

const [databaseUrl, t0, processes, speedup, end] = process.argv.slice(2);
const logger = createLogger('warn');
const pool = createPool(databaseUrl!, logger, { max: 2 });
const start = Date.parse(t0!);
const stopAt = Date.parse(end!);
// Simulated time stops 30 s after the last fire: on a loaded machine a tick that began before the
// end may read the clock well after it, and no fire past the end may be created.
const cap = stopAt + 30_000;
await pool.query('insert into sched_ready (pid) values ($1)', [process.pid]);
let epoch: number;
for (;;) {
  const { rows } = await pool.query<{ n: number; last: number }>('select count(*)::int as n, extract(epoch from max(at)) * 1000 as last from sched_ready');
  if (rows[0]!.n >= Number(processes)) {
    epoch = Number(rows[0]!.last) + 1000;
    break;
  }
  await new Promise((r) => setTimeout(r, 20));
}
const now = () => new Date(Math.min(cap, start + Math.max(0, Date.now() - epoch) * Number(speedup)));
const scheduler = startScheduler({ pool, databaseUrl: databaseUrl!, logger, tickIntervalMs: 3, leaderElection: false, graceMs: 0, now });
let ticks = 0;
while (now().getTime() < cap) {
  await scheduler.tick().catch(() => {});
  ticks++;
  await new Promise((r) => setTimeout(r, 2));
}
await scheduler.stop();
await pool.end();
process.stdout.write(`${JSON.stringify({ ticks })}\n`);
