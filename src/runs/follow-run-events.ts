/**
 * Follows run events for any role (reporters, the dashboard's live view, metrics): LISTEN on
 * dfm_run_events through the reconnecting listener, read the announced runs' rows, and hand each
 * change to `onEvent` as a typed RunEvent (run-event.ts), in order per run. Nobody polls: one
 * follower per process reads only runs that were announced.
 *
 * Nothing is lost across a reconnect. Notifications sent while the LISTEN connection was down are
 * gone, so after reconnecting the follower re-reads (1) every run it saw open, (2) every run newer
 * than the newest it has seen, and (3) runs created or finished since its last reading minus
 * RECONNECT_MARGIN_MS (ids are taken before commit, so a run may commit after a newer one), and
 * derives the events from the rows (diff-run-events.ts): what happened in the gap is reported, in
 * order, once. Runs it already reported finished are not reported again.
 */
import type pg from 'pg';
import { fromRow } from '../db/from-row.js';
import { listenToChannels, type ChannelListener } from '../db/listen-channels.js';
import { messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { diffRunEvents, isFinalRunState, type SeenRun } from './diff-run-events.js';
import { parsePayload, RUN_EVENTS_CHANNEL } from './run-channels.js';
import type { RunEvent, RunSnapshot, TaskSnapshot } from './run-event.js';

export interface RunEventFollowerOptions {
  readonly pool: pg.Pool;
  readonly databaseUrl: string;
  readonly logger: Logger;
  onEvent(event: RunEvent): void;
  /** Delay before reconnecting a lost LISTEN connection, ms (default 1000). */
  readonly retryDelayMs?: number;
}

export interface RunEventFollower {
  /** Resolves once LISTEN is in place: every change committed after this is reported. */
  readonly ready: Promise<void>;
  readonly isListening: () => boolean;
  stop(): Promise<void>;
}

/** How far back a reconnect looks for runs that committed out of id order, in ms. */
const RECONNECT_MARGIN_MS = 10_000;
/** Finished runs remembered so a re-read does not report them twice. */
const FINISHED_MEMORY = 10_000;

const RUN_COLUMNS = ['id', 'pipeline_id', 'version_id', 'source_ref', 'trigger', 'state', 'logical_time', 'created_at', 'started_at', 'finished_at', 'error', 'failed_tasks'];
const TASK_COLUMNS = ['task_id', 'task_type', 'state', 'attempt', 'started_at', 'finished_at', 'error'];

export function followRunEvents(options: RunEventFollowerOptions): RunEventFollower {
  const logger = options.logger.child({ component: 'run-events' });
  const open = new Map<number, SeenRun>();
  const finished = new Set<number>();
  let newest = 0;
  let lastReadAt: Date | undefined;
  const queued = new Set<number>();
  let catchUp = false;
  let catchUpLater = false;
  let draining: Promise<void> | undefined;
  let stopping = false;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const listener: ChannelListener = listenToChannels({
    databaseUrl: options.databaseUrl,
    channels: [RUN_EVENTS_CHANNEL],
    applicationName: 'dfm-run-events',
    logger,
    ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
    onNotification: (_channel, payload) => {
      for (const id of parsePayload(payload)) queued.add(id);
      if (catchUpLater) {
        catchUpLater = false;
        catchUp = true;
      }
      drain();
    },
    onListening: (reconnected) => {
      if (!reconnected) void startFrom();
      else catchUp = true;
      catchUpLater = false;
      drain();
    },
  });

  /** The first reading: open runs are the baseline (already happened, not reported). */
  async function startFrom(): Promise<void> {
    for (;;) {
      try {
        await readBaseline();
        break;
      } catch (error) {
        logger.warn({ err: { message: messageOf(error) } }, 'could not read the open runs; retrying');
        await new Promise((resolve) => setTimeout(resolve, options.retryDelayMs ?? 1000));
      }
      if (stopping) break;
    }
    markReady();
  }

  async function readBaseline(): Promise<void> {
    const { rows } = await options.pool.query<{ newest: string | null; at: Date }>('select (select max(id) from dfm.run) as newest, now() as at');
    newest = Number(rows[0]?.newest ?? 0);
    lastReadAt = rows[0]!.at;
    const ids = (await options.pool.query<{ id: string }>("select id from dfm.run where state in ('queued', 'running')")).rows.map((r) => Number(r.id));
    for (const { run, tasks } of await readRuns(ids)) open.set(run.runId, diffRunEvents(undefined, run, tasks).seen);
  }

  function drain(): void {
    if (draining || stopping) return;
    draining = (async () => {
      await ready;
      while (!stopping && (queued.size > 0 || catchUp)) {
        const ids = new Set(queued);
        queued.clear();
        if (catchUp) {
          catchUp = false;
          for (const id of await missedRuns()) ids.add(id);
        }
        await report([...ids]);
      }
    })()
      .catch((error: unknown) => {
        // Read again at the next announcement or reconnect, as after a gap.
        logger.warn({ err: { message: messageOf(error) } }, 'could not read announced runs; catching up at the next announcement');
        catchUpLater = true;
      })
      .finally(() => {
        draining = undefined;
        if (queued.size > 0 || catchUp) drain();
      });
  }

  async function missedRuns(): Promise<number[]> {
    const { rows } = await options.pool.query<{ id: string }>(
      `select id from dfm.run
        where id > $1 or id = any($2::bigint[])
           or created_at >= $3::timestamptz - make_interval(secs => $4::double precision / 1000)
           or finished_at >= $3::timestamptz - make_interval(secs => $4::double precision / 1000)`,
      [newest, [...open.keys()], lastReadAt ?? new Date(0), RECONNECT_MARGIN_MS],
    );
    return rows.map((r) => Number(r.id));
  }

  async function report(ids: readonly number[]): Promise<void> {
    const wanted = ids.filter((id) => !finished.has(id));
    if (wanted.length === 0) return;
    for (const { run, tasks } of await readRuns(wanted)) {
      const { events, seen } = diffRunEvents(open.get(run.runId), run, tasks);
      newest = Math.max(newest, run.runId);
      if (isFinalRunState(run.state)) {
        open.delete(run.runId);
        remember(run.runId);
      } else {
        open.set(run.runId, seen);
      }
      for (const event of events) {
        try {
          options.onEvent(event);
        } catch (error) {
          logger.error({ err: { message: messageOf(error) }, run: run.runId, event: event.type }, 'a run event handler failed');
        }
      }
    }
  }

  function remember(runId: number): void {
    finished.add(runId);
    if (finished.size > FINISHED_MEMORY) finished.delete(finished.values().next().value!);
  }

  async function readRuns(ids: readonly number[]): Promise<{ run: RunSnapshot; tasks: TaskSnapshot[] }[]> {
    if (ids.length === 0) return [];
    const { rows } = await options.pool.query<Record<string, unknown> & { tasks: Record<string, unknown>[]; at: Date }>(
      `select r.id, r.pipeline_id, r.version_id, v.source_ref, r.trigger, r.state, r.logical_time, r.created_at,
              r.started_at, r.finished_at, r.error, now() as at,
              coalesce((select array_agg(t.task_id order by t.id) from dfm.task_run t where t.run_id = r.id and t.state = 'failed'), '{}') as failed_tasks,
              coalesce((select json_agg(json_build_object('task_id', t.task_id, 'task_type', t.task_type, 'state', t.state, 'attempt', t.attempt,
                                                          'started_at', t.started_at, 'finished_at', t.finished_at, 'error', t.error) order by t.id)
                          from dfm.task_run t where t.run_id = r.id), '[]') as tasks
         from dfm.run r join dfm.pipeline_version v on v.id = r.version_id
        where r.id = any($1::bigint[])
        order by r.id`,
      [ids],
    );
    if (rows[0]) lastReadAt = rows[0].at;
    return rows.map((row) => ({
      run: fromRow<RunSnapshot>(row, RUN_COLUMNS, { ids: ['id', 'version_id'], rename: { id: 'runId' } }),
      tasks: row.tasks.map((t) => fromRow<TaskSnapshot>(t, TASK_COLUMNS, { times: ['started_at', 'finished_at'], rename: { task_type: 'type' } })),
    }));
  }

  return {
    ready,
    isListening: listener.isListening,
    async stop() {
      stopping = true;
      await listener.stop();
      await draining;
    },
  };
}
