/**
 * `dfm run --wait` and `dfm backfill` follow their runs through a PostgreSQL restart
 * (`pg_ctl stop -m immediate`, then start): they say on the terminal that they lost the database
 * and reconnect, then report the run's real outcome. A database that stays away past
 * DFM_RECONNECT_TIMEOUT_MS ends them with 1 and a message saying the outcome is unknown.
 * A throwaway server of this file's own, never the shared one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnDfm, writePipelines, type DfmProcess } from '../helpers/dfm-process.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../helpers/throwaway-postgres.js';

const pipelines = writePipelines({
  'slow.yaml': `id: slow
schedule: "0 0 1 1 *"
catchup: none
defaults: { retries: 3, retry_delay: 1s }
tasks:
  nap: { type: postgres.sql, sql: "select pg_sleep(4)" }
`,
});
let postgres: ThrowawayPostgres;
let service: DfmProcess;

beforeAll(async () => {
  postgres = await startThrowawayPostgres();
  service = spawnDfm(['serve'], { DATABASE_URL: postgres.url, DFM_PIPELINES_DIR: pipelines.dir });
  await service.waitForOutput(/dfm is serving on/, 60_000);
});

afterAll(async () => {
  service?.kill('SIGKILL');
  await service?.exited;
  await postgres?.remove();
  pipelines.remove();
});

function cli(args: string[], env: Record<string, string> = {}): DfmProcess {
  return spawnDfm(args, { DATABASE_URL: postgres.url, DFM_PIPELINES_DIR: pipelines.dir, LOG_LEVEL: 'error', ...env });
}

/** Restarts the database as soon as `follower` shows the task running. */
async function restartWhileRunning(follower: DfmProcess, downMs: number): Promise<void> {
  await follower.waitForOutput(/nap: running|\d+\/\d+ runs done/, 60_000);
  await new Promise((r) => setTimeout(r, 500));
  await postgres.stopImmediately();
  await new Promise((r) => setTimeout(r, downMs));
  await postgres.start();
}

describe('following runs through a PostgreSQL restart', () => {
  it('dfm run --wait reconnects and reports the run that succeeded', async () => {
    const follower = cli(['run', 'slow', '--wait']);
    await restartWhileRunning(follower, 2_000);
    const code = await follower.exited;
    const output = follower.output();
    expect(output).toMatch(/^lost the connection to PostgreSQL \(.+\); reconnecting for up to 120 s \(DFM_RECONNECT_TIMEOUT_MS\)…$/m);
    expect(output).toMatch(/^reconnected to PostgreSQL after \d+\.\d s; following run \d+ again$/m);
    expect(output).toMatch(/^run \d+ success$/m);
    expect(output).not.toMatch(/ECONNREFUSED.*\[|dfm: /);
    expect(code).toBe(0);
  });

  it('dfm backfill reconnects and waits for every run', async () => {
    const follower = cli(['backfill', 'slow', '--from', '2020-01-01', '--to', '2021-01-01']);
    await restartWhileRunning(follower, 2_000);
    const code = await follower.exited;
    const output = follower.output();
    expect(output).toMatch(/^created 2 run\(s\)$/m);
    expect(output).toMatch(/^reconnected to PostgreSQL after \d+\.\d s; following the 2 backfill run\(s\) again$/m);
    expect(output).toMatch(/2\/2 runs done$/m);
    expect(output).not.toMatch(/failed/);
    expect(code).toBe(0);
  });

  it('gives up with 1 when the database stays away past DFM_RECONNECT_TIMEOUT_MS', async () => {
    const follower = cli(['run', 'slow', '--wait'], { DFM_RECONNECT_TIMEOUT_MS: '3000' });
    await follower.waitForOutput(/nap: running/, 60_000);
    await postgres.stopImmediately();
    const began = Date.now();
    try {
      const code = await follower.exited;
      expect(code).toBe(1);
      expect(Date.now() - began).toBeLessThan(15_000);
      expect(follower.output()).toMatch(/^dfm: PostgreSQL stayed unreachable for more than 3 s \(.+\), so the outcome of run \d+ is unknown here; .*check with `dfm runs`.* \[DATABASE_UNREACHABLE\]$/m);
    } finally {
      await postgres.start();
    }
  });
});
