/**
 * How `dfm run --wait` and `dfm backfill` keep following their runs while PostgreSQL is away (a
 * restart, a failover): each poll of the database goes through `read`, which retries the errors
 * classifyPostgresError calls connection failures, with backoff, for up to `boundMs` from the
 * first failure, telling the terminal once when the database went and once when it is back.
 * Before, a restart ended `dfm run --wait` with "connect ECONNREFUSED" and exit 1 while the
 * service retried the task and the run succeeded. The clock and sleep are injected for tests.
 */
import { classifyPostgresError } from '../db/classify-postgres-error.js';
import { DfmError, messageOf } from '../lib/errors.js';

export interface OutageOptions {
  /** How long one outage may last before the follower gives up, in ms. */
  readonly boundMs: number;
  /** What is being followed, for the messages ("run 12"). */
  readonly following: string;
  /** One line for the person at the terminal (stderr). */
  readonly notify: (line: string) => void;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** 0.25 s doubling to 5 s: a local restart is back within a second or two, a failover in 30–120 s. */
const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 5_000;

export type OutageTolerantRead = <T>(poll: () => Promise<T>) => Promise<T>;

export function readThroughOutages(options: OutageOptions): OutageTolerantRead {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  return async (poll) => {
    let lostAt: number | undefined;
    let delay = FIRST_DELAY_MS;
    for (;;) {
      try {
        const value = await poll();
        if (lostAt !== undefined) options.notify(`reconnected to PostgreSQL after ${((now() - lostAt) / 1000).toFixed(1)} s; following ${options.following} again`);
        return value;
      } catch (error) {
        if (!classifyPostgresError(error).retryable) throw error;
        if (lostAt === undefined) {
          lostAt = now();
          options.notify(`lost the connection to PostgreSQL (${messageOf(error)}); reconnecting for up to ${Math.round(options.boundMs / 1000)} s (DFM_RECONNECT_TIMEOUT_MS)…`);
        }
        const left = lostAt + options.boundMs - now();
        if (left <= 0) {
          throw new DfmError(
            'DATABASE_UNREACHABLE',
            `PostgreSQL stayed unreachable for more than ${Math.round(options.boundMs / 1000)} s (${messageOf(error)}), so the outcome of ${options.following} is unknown here; ` +
              'the service carries on with it once the database is back: check with `dfm runs`, or raise DFM_RECONNECT_TIMEOUT_MS.',
            { cause: error, retryable: true },
          );
        }
        await sleep(Math.min(delay, left));
        delay = Math.min(delay * 2, MAX_DELAY_MS);
      }
    }
  };
}
