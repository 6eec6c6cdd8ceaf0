/**
 * One attempt this worker is executing, and the only place its phase changes. The phase decides
 * who may touch the row: while `running`, heartbeats refresh it and a lost claim aborts it; while
 * `settling`, its outcome is being written (the row may be locked by that write, so heartbeats skip
 * it); once `settled`, its success committed with the task's own writes (transactional tasks) and
 * there is nothing left to write. `released` is set on shutdown when the attempt was handed back.
 */
import type { ClaimedTaskRun } from './claim-task-runs.js';
import type { Claim } from './write-task-outcome.js';

export type AttemptPhase = 'running' | 'settling' | 'settled';

export interface TaskAttempt {
  readonly claim: ClaimedTaskRun & Claim;
  readonly controller: AbortController;
  /** Ids of the tasks that need this one (from the version), once loaded. */
  downstream: readonly string[] | undefined;
  readonly phase: AttemptPhase;
  readonly released: boolean;
  /** Settles when the attempt is over (outcome written, failed to write, or released). */
  done: Promise<void>;
  /** Its outcome is being written. */
  beginSettling(): void;
  /** The write did not commit: the attempt runs on and may still fail. */
  settlingFailed(): void;
  /** Its success committed inside the task's own transaction. */
  settledInline(): void;
  release(): void;
}

export function createTaskAttempt(claim: ClaimedTaskRun & Claim): TaskAttempt {
  let phase: AttemptPhase = 'running';
  let released = false;
  return {
    claim,
    controller: new AbortController(),
    downstream: undefined,
    done: Promise.resolve(),
    get phase() {
      return phase;
    },
    get released() {
      return released;
    },
    beginSettling: () => {
      phase = 'settling';
    },
    settlingFailed: () => {
      phase = 'running';
    },
    settledInline: () => {
      phase = 'settled';
    },
    release: () => {
      released = true;
    },
  };
}

/** Heartbeats refresh only attempts that run and are still ours. */
export function needsHeartbeat(attempt: TaskAttempt): boolean {
  return !attempt.released && attempt.phase === 'running';
}

/** A heartbeat that finds the claim gone aborts only an attempt that is still running. */
export function abortsOnLostClaim(attempt: TaskAttempt): boolean {
  return attempt.phase === 'running' && !attempt.controller.signal.aborted;
}
