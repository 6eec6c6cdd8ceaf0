import type { Pipeline } from './pipeline-schema.js';

export type RetryBackoff = 'fixed' | 'exponential';

/** How a task is retried and timed out. */
export interface TaskSettings {
  /** Retries after the first attempt fails (0 = one attempt only). Built-in default 0. */
  retries: number;
  /** Wait before the first retry, in ms. Built-in default 30000 (30s). */
  retryDelayMs: number;
  /** `exponential` doubles the wait after each failed attempt; `fixed` keeps it. Built-in default exponential. */
  retryBackoff: RetryBackoff;
  /** Cap of the wait between attempts, in ms. Built-in default 600000 (10m). */
  maxRetryDelayMs: number;
  /** Longest one attempt may run before it is cancelled and counted as failed, in ms. Built-in default 3600000 (1h). */
  timeoutMs: number;
}

export const BUILTIN_TASK_SETTINGS: Readonly<TaskSettings> = Object.freeze({
  retries: 0,
  retryDelayMs: 30_000,
  retryBackoff: 'exponential',
  maxRetryDelayMs: 600_000,
  timeoutMs: 3_600_000,
});

/** Task overrides, over the pipeline's `defaults`, over BUILTIN_TASK_SETTINGS. */
export function effectiveTaskSettings(pipeline: Pipeline, taskId: string): TaskSettings {
  const task = pipeline.tasks.find((t) => t.id === taskId);
  if (task === undefined) throw new RangeError(`Pipeline "${pipeline.id}" has no task "${taskId}"`);
  const pick = <K extends keyof TaskSettings>(key: K): TaskSettings[K] =>
    (task[key] as TaskSettings[K] | undefined) ?? (pipeline.defaults[key] as TaskSettings[K] | undefined) ?? BUILTIN_TASK_SETTINGS[key];
  return {
    retries: pick('retries'),
    retryDelayMs: pick('retryDelayMs'),
    retryBackoff: pick('retryBackoff'),
    maxRetryDelayMs: pick('maxRetryDelayMs'),
    timeoutMs: pick('timeoutMs'),
  };
}

/** Wait before retry number `retry` (1-based), in ms, per the backoff and its cap. */
export function retryDelayMs(settings: TaskSettings, retry: number): number {
  const base = settings.retryBackoff === 'fixed' ? settings.retryDelayMs : settings.retryDelayMs * 2 ** Math.max(0, retry - 1);
  return Math.min(base, settings.maxRetryDelayMs);
}
