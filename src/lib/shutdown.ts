/**
 * Graceful shutdown on SIGTERM/SIGINT: the first signal runs `stop` (stop claiming, let in-flight
 * work finish or release it, close servers and pools); a second signal exits at once with 130.
 * With a deadline, a stop that has not finished by then is abandoned: one error line names what
 * did not stop, and the process exits with 1, so a process manager never waits on a hung stop.
 */
import type { Logger } from './logger.js';

export interface ShutdownDeadline {
  readonly ms: number;
  /** What is still stopping when the deadline passes (named in the log line). */
  readonly pending: () => readonly string[];
}

export function handleShutdownSignals(stop: (signal: string) => Promise<void>, logger: Logger, deadline?: ShutdownDeadline): () => void {
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down gracefully (send the signal again to force)');
    if (deadline) {
      // unref: a stop that finishes lets the process end without waiting for this timer.
      timer = setTimeout(() => {
        const pending = deadline.pending();
        logger.error(
          { deadlineMs: deadline.ms, pending },
          `shutdown did not finish within ${deadline.ms} ms (DFM_SHUTDOWN_TIMEOUT_MS): ${pending.length > 0 ? pending.join(', ') : 'something'} did not stop; exiting with 1`,
        );
        process.exit(1);
      }, deadline.ms).unref();
    }
    stop(signal).then(
      () => {
        process.exitCode = 0;
      },
      (error: unknown) => {
        logger.error({ err: error }, 'graceful shutdown failed');
        process.exitCode = 1;
      },
    ).finally(() => clearTimeout(timer));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}
