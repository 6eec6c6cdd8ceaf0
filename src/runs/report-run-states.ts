/**
 * A run's start and end, reported where the commit that defined it lives: for a pipeline synced
 * from a GitHub App installation's repository, one `github.commit-status` report per run state
 * change (`dfm/<pipeline>` on the version's commit SHA), written into the outbox in the same
 * transaction as the state change (DESIGN: reporting outbox), so a rolled-back change is never
 * reported and a committed one always is. Pipelines from a local folder or a plain Git remote have
 * no App to post with: nothing is written. One statement whatever the number of runs; its payload
 * holds the facts (state, duration, first failed task and its error) and the deliverer words them
 * (github/describe-run-status.ts).
 *
 * No supersede key: every transition reaches GitHub in order (pending, then success), as users
 * read a commit's status history. The target `github:<repo>|status:<sha>:<pipeline>` is one
 * status context on one commit (github/deliver-github-reports.ts): the outbox's order within it
 * keeps a late pending from overwriting a success, and other contexts and commits go out beside it.
 */
import type { Queryable } from '../db/with-transaction.js';
import { OUTBOX_CHANNEL } from '../outbox/enqueue-report.js';
import { reportRunMessages } from './report-run-messages.js';

export const COMMIT_STATUS_REPORT = 'github.commit-status';

export async function reportRunStates(client: Queryable, runIds: readonly number[]): Promise<number> {
  if (runIds.length === 0) return 0;
  // The run's Slack message (pipelines with `notify`), in the same transaction.
  await reportRunMessages(client, runIds);
  const { rows } = await client.query<{ reported: number }>(
    `with reports as (
       select 'github:' || substr(s.id, 8) || '|status:' || v.source_ref || ':' || r.pipeline_id as target,
              jsonb_build_object(
                'installationId', s.installation_id, 'repository', substr(s.id, 8), 'sha', v.source_ref,
                'pipelineId', r.pipeline_id, 'runId', r.id, 'state', r.state,
                'durationMs', case when r.started_at is null then null
                                   else (extract(epoch from coalesce(r.finished_at, now()) - r.started_at) * 1000)::bigint end,
                'failedTask', (select jsonb_build_object('id', t.task_id, 'error', coalesce(t.error->>'message', ''))
                                 from dfm.task_run t where t.run_id = r.id and t.state = 'failed'
                                order by t.finished_at nulls last, t.id limit 1)) as payload,
              r.id
         from dfm.run r
         join dfm.pipeline_version v on v.id = r.version_id
         join dfm.pipeline p on p.id = r.pipeline_id
         join dfm.sync_source s on s.id = p.source_id
        where r.id = any($1::bigint[]) and s.kind = 'github' and s.installation_id is not null
          and v.source_ref ~ '^[0-9a-f]{40}$'),
     added as (
       insert into dfm.outbox (target, kind, payload) select target, $2, payload from reports order by id returning target),
     targets as (
       insert into dfm.outbox_target (target) select distinct target from reports on conflict (target) do nothing),
     notified as (select pg_notify($3, '') where exists (select 1 from reports))
     select (select count(*) from added)::int as reported, (select count(*) from notified) as sent`,
    [runIds, COMMIT_STATUS_REPORT, OUTBOX_CHANNEL],
  );
  return rows[0]!.reported;
}
