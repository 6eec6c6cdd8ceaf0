import type { RunState, RunTrigger } from '../db/schema.js';

/** What every view of a run shows first (`dfm runs`, `dfm status`, Slack, the dashboard). */
export interface RunHeader {
  readonly id: number;
  readonly pipelineId: string;
  readonly state: RunState;
  readonly trigger: RunTrigger;
  readonly logicalTime: Date;
  readonly createdAt: Date;
  readonly finishedAt: Date | null;
}

/** The header from a raw dfm.run row (pg returns bigint ids as strings). */
export function toRunHeader(row: Record<string, unknown>): RunHeader {
  return {
    id: Number(row['id']),
    pipelineId: row['pipeline_id'] as string,
    state: row['state'] as RunState,
    trigger: row['trigger'] as RunTrigger,
    logicalTime: row['logical_time'] as Date,
    createdAt: row['created_at'] as Date,
    finishedAt: row['finished_at'] as Date | null,
  };
}
