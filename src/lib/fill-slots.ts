/**
 * A fixed number of slots kept busy with claimed work: `fill()` claims as many items as slots are
 * free (one claim at a time; a fill asked for during a claim runs right after it) and runs each;
 * a finished item frees its slot and fills again. The job runner (jobs/) and the outbox sender
 * (outbox/) share it; a claim that fails is logged and left to the next fill (a poll, a NOTIFY).
 */
import { messageOf } from './errors.js';
import type { Logger } from './logger.js';

export interface SlotFiller {
  fill(): void;
  /** Claims no more; resolves when the claim in progress and every running item have ended. */
  stop(): Promise<void>;
}

export function fillSlots<T>(options: {
  readonly slots: number;
  readonly claim: (limit: number) => Promise<readonly T[]>;
  /** Runs one claimed item; its rejection is logged with `failedMessage`. */
  readonly run: (item: T) => Promise<unknown>;
  readonly logger: Logger;
  /** `could not claim <what>` in the log. */
  readonly what: string;
  readonly failedMessage: (item: T) => string;
}): SlotFiller {
  const running = new Set<Promise<unknown>>();
  let stopping = false;
  let claiming: Promise<void> | undefined;
  let again = false;

  const fill = (): void => {
    if (stopping) return;
    if (claiming !== undefined) {
      again = true;
      return;
    }
    claiming = (async () => {
      do {
        again = false;
        const free = options.slots - running.size;
        if (free <= 0) return;
        const items = await options.claim(free).catch((error: unknown) => {
          options.logger.warn({ err: { message: messageOf(error) } }, `could not claim ${options.what}; trying again at the next poll`);
          return [] as readonly T[];
        });
        for (const item of items) {
          const task: Promise<unknown> = options
            .run(item)
            .catch((error: unknown) => options.logger.warn({ err: { message: messageOf(error) } }, options.failedMessage(item)))
            .finally(() => {
              running.delete(task);
              fill();
            });
          running.add(task);
        }
        if (items.length === free) again = true;
      } while (again && !stopping);
    })().finally(() => (claiming = undefined));
  };

  return {
    fill,
    async stop() {
      stopping = true;
      await claiming;
      await Promise.allSettled([...running]);
    },
  };
}
