/**
 * Group commit for run requests: per pipeline, at most one transaction is in flight; requests that
 * arrive meanwhile wait and go together in the next one (runs/trigger-run.ts `triggerRuns`). At a
 * low rate every request has its own transaction at once (no timer, no added delay); under load a
 * transaction carries up to `maxBatch` of them. Runs of one pipeline are created one transaction at
 * a time anyway (the pipeline row is locked until commit), so this turns that queue into batches.
 * The waiting requests per pipeline are bounded: past `maxWaiting`, `submit` answers `busy`.
 */
import type pg from 'pg';
import type { DfmError } from '../lib/errors.js';
import { triggerRuns, type RunOutcome, type RunRequest } from '../runs/trigger-run.js';
import type { ConcurrencyLimit } from './limit-concurrency.js';

export interface RunBatcher {
  submit(pipelineId: string, request: RunRequest): Promise<RunOutcome | 'busy'>;
}

interface Waiting {
  readonly request: RunRequest;
  resolve(outcome: RunOutcome): void;
  reject(error: unknown): void;
}

export function batchRunRequests(options: { pool: pg.Pool; gate: ConcurrencyLimit; maxBatch?: number; maxWaiting?: number }): RunBatcher {
  const maxBatch = options.maxBatch ?? 100;
  const maxWaiting = options.maxWaiting ?? 1000;
  const queues = new Map<string, { waiting: Waiting[]; flushing: boolean }>();

  const flush = async (pipelineId: string, queue: { waiting: Waiting[]; flushing: boolean }): Promise<void> => {
    queue.flushing = true;
    try {
      while (queue.waiting.length > 0) {
        const batch = queue.waiting.splice(0, maxBatch);
        try {
          const result = await options.gate.run(() => triggerRuns(options.pool, pipelineId, batch.map((w) => w.request)));
          // The gate never refuses here: it is built with room for one waiting flush per pipeline.
          if (result === undefined) throw new Error('the database gate refused a flush');
          batch.forEach((w, i) => w.resolve(result.outcomes[i]!));
        } catch (error) {
          for (const w of batch) w.reject(error as DfmError);
        }
      }
    } finally {
      queue.flushing = false;
      queues.delete(pipelineId);
    }
  };

  return {
    submit(pipelineId, request) {
      let queue = queues.get(pipelineId);
      if (queue === undefined) {
        queue = { waiting: [], flushing: false };
        queues.set(pipelineId, queue);
      }
      if (queue.waiting.length >= maxWaiting) return Promise.resolve('busy');
      const outcome = new Promise<RunOutcome>((resolve, reject) => queue.waiting.push({ request, resolve, reject }));
      if (!queue.flushing) void flush(pipelineId, queue);
      return outcome;
    },
  };
}
