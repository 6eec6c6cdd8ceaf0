import type pg from 'pg';

/** Longest log line kept; a run's log is for people, not a data channel. */
const MAX_MESSAGE_CHARS = 4000;
/** Lines kept per attempt; past it one marker line says the rest was dropped. */
export const MAX_LINES_PER_ATTEMPT = 1000;

/** Appends a line to a run's log, bounded per attempt. Logging never fails a task. */
export async function appendRunLog(
  pool: pg.Pool,
  line: { runId: number; taskId?: string; attempt?: number; level: string; message: string },
): Promise<void> {
  const message = line.message.length > MAX_MESSAGE_CHARS ? `${line.message.slice(0, MAX_MESSAGE_CHARS)}… (truncated)` : line.message;
  await pool
    .query(
      `insert into dfm.run_log (run_id, task_id, attempt, level, message)
       select $1, $2, $3, $4, case when n = $6 then '(log limit reached: further lines of this attempt are dropped)' else $5 end
         from (select count(*) as n from dfm.run_log where run_id = $1 and task_id is not distinct from $2 and attempt is not distinct from $3) c
        where n <= $6`,
      [line.runId, line.taskId ?? null, line.attempt ?? null, line.level, message, MAX_LINES_PER_ATTEMPT],
    )
    .catch(() => {});
}
