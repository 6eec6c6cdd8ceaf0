/**
 * A run's Slack message, reported in the transaction of the run's state change (DESIGN: reporting
 * outbox), beside its GitHub commit status (report-run-states.ts calls this). A pipeline with
 * `notify` gets one message per run: posted when the state is one `notify.on` asks for (`start`:
 * running; `failure`: failed; `success`; `recovery`: a success after the pipeline's previous
 * finished run failed), then, once a run has its `dfm.slack_message` row, every later state of that
 * run (a retry's running and its end, a cancel) updates the same message. A failure also puts its
 * details (failed task, attempt, error, log tail) in the message's thread, as a second report.
 *
 * The target `slack:<channel>|run:<id>` keeps one run's reports in order (the post before its
 * updates) while other runs go out in parallel; `slack:<channel>` is the rate-limit group, so a
 * 429's retry-after holds the whole channel (outbox/outbox-queue.ts). `default` stands for
 * DFM_SLACK_DEFAULT_CHANNEL, which the deliverer resolves (the lifecycle has no configuration).
 * The payload holds the facts at the change; slack/render-run-message.ts words them.
 */
import type { Queryable } from '../db/with-transaction.js';
import { OUTBOX_CHANNEL } from '../outbox/enqueue-report.js';

export const SLACK_RUN_MESSAGE_REPORT = 'slack.run-message';
export const SLACK_RUN_THREAD_REPORT = 'slack.run-thread';
/** Lines of the failed task's log put in the thread. */
const LOG_TAIL_LINES = 8;

/**
 * `progress`: the worker's after-the-fact update of running runs that already have a message (task
 * states as they change, announce-run-changes.ts), keyed `progress` so a pending one is superseded
 * by the next. It locks the run rows (FOR SHARE), so it either commits before a run's end commits
 * (its report comes first) or waits and then sees the run ended and writes nothing: a stale
 * "running" can never follow the final state.
 */
export async function reportRunMessages(client: Queryable, runIds: readonly number[], options: { progress?: boolean } = {}): Promise<number> {
  if (runIds.length === 0) return 0;
  const { rows } = await client.query<{ reported: number }>(
    `with runs as (
       select r.id, r.pipeline_id, r.state, r.trigger, r.requested_by, r.started_at, r.finished_at, v.source_ref,
              split_part(coalesce(v.commit_message, ''), E'\\n', 1) as commit_title, v.definition->'notify' as notify, m.channel as message_channel
         from dfm.run r
         join dfm.pipeline_version v on v.id = r.version_id
         left join dfm.slack_message m on m.run_id = r.id
        where r.id = any($1::bigint[]) and v.definition ? 'notify' and (not $6 or (m.run_id is not null and r.state = 'running'))
          for share of r),
     chosen as (
       select runs.*, coalesce(message_channel, notify->>'slack', '') as channel
         from runs
        where message_channel is not null
           or (state = 'running' and notify->'on' ? 'start')
           or (state = 'failed' and notify->'on' ? 'failure')
           or (state = 'success' and (notify->'on' ? 'success' or (notify->'on' ? 'recovery' and
                (select p.state from dfm.run p where p.pipeline_id = runs.pipeline_id and p.id < runs.id and p.state in ('success', 'failed')
                  order by p.id desc limit 1) = 'failed')))),
     reports as (
       select c.id, 'slack:' || coalesce(nullif(c.channel, ''), 'default') || '|run:' || c.id as target,
              jsonb_build_object(
                'runId', c.id, 'pipelineId', c.pipeline_id, 'channel', c.channel, 'state', c.state, 'trigger', c.trigger,
                'requestedBy', c.requested_by, 'sourceRef', c.source_ref, 'commitTitle', c.commit_title,
                'durationMs', case when c.started_at is null then null
                                   else (extract(epoch from coalesce(c.finished_at, now()) - c.started_at) * 1000)::bigint end,
                'tasks', (select coalesce(jsonb_agg(jsonb_build_object('id', t.task_id, 'state', t.state, 'attempt', t.attempt) order by t.id), '[]'::jsonb)
                            from dfm.task_run t where t.run_id = c.id),
                'failed', (select jsonb_build_object('task', t.task_id, 'attempt', t.attempt, 'error', coalesce(t.error->>'message', ''),
                                    'logTail', (select coalesce(string_agg(rl.message, E'\\n' order by rl.id), '')
                                                  from (select l.id, l.message from dfm.run_log l where l.run_id = c.id and l.task_id = t.task_id
                                                         order by l.id desc limit $5) rl))
                             from dfm.task_run t where t.run_id = c.id and t.state = 'failed'
                            order by t.finished_at nulls last, t.id limit 1)) as payload
         from chosen c),
     messages as (insert into dfm.slack_message (run_id, channel) select id, channel from chosen where not $6 on conflict (run_id) do nothing),
     added as (
       insert into dfm.outbox (target, kind, key, payload)
       select r.target, k.kind, case when $6 then 'progress' end, r.payload from reports r cross join (values ($2::text, 1), ($3::text, 2)) as k(kind, n)
        where k.n = 1 or (not $6 and r.payload->>'state' = 'failed')
        order by r.id, k.n
       returning target),
     targets as (insert into dfm.outbox_target (target) select distinct target from reports on conflict (target) do nothing),
     notified as (select pg_notify($4, '') where exists (select 1 from reports))
     select (select count(*) from added)::int as reported, (select count(*) from notified) as sent`,
    [runIds, SLACK_RUN_MESSAGE_REPORT, SLACK_RUN_THREAD_REPORT, OUTBOX_CHANNEL, LOG_TAIL_LINES, options.progress ?? false],
  );
  return rows[0]!.reported;
}
