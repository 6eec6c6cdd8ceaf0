import { fromRow } from '../db/from-row.js';
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

const HEADER_COLUMNS = ['id', 'pipeline_id', 'state', 'trigger', 'logical_time', 'created_at', 'finished_at'];

/** The header from a raw dfm.run row (pg returns bigint ids as strings). */
export function toRunHeader(row: Record<string, unknown>): RunHeader {
  return fromRow<RunHeader>(row, HEADER_COLUMNS, { ids: ['id'] });
}
