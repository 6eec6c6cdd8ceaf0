/**
 * The steps of a shutdown, each named, run last-added first (the reverse of the start). While they
 * run, `pending()` says which one is stopping and which have not started: what the shutdown
 * deadline names when a step hangs. A failing step is logged and the next one still runs.
 */
import type { Logger } from './logger.js';

export interface StopSteps {
  add(name: string, stop: () => Promise<void>): void;
  /** Runs every step once; later calls resolve with the first. */
  stopAll(): Promise<void>;
  /** The step stopping now, then those not yet started, in the order they will run. */
  pending(): string[];
}

export function createStopSteps(logger: Logger): StopSteps {
  const steps: { name: string; stop: () => Promise<void> }[] = [];
  let current: string | undefined;
  let stopping: Promise<void> | undefined;
  const run = async () => {
    while (steps.length > 0) {
      const step = steps.pop()!;
      current = step.name;
      await step.stop().catch((error: unknown) => logger.error({ err: error, step: step.name }, `error while stopping ${step.name}`));
    }
    current = undefined;
  };
  return {
    add: (name, stop) => {
      steps.push({ name, stop });
    },
    stopAll: () => (stopping ??= run()),
    pending: () => [...(current === undefined ? [] : [current]), ...steps.map((s) => s.name).reverse()],
  };
}
