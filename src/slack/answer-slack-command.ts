/**
 * What `/dfm <text>` and the message buttons do, and the answer Slack shows. The command is parsed
 * by the one grammar (commands/parse-command.ts); state-changing commands (run, cancel, retry,
 * pause, unpause) are authorized by the caller's team and user ids against DFM_SLACK_ALLOW (never
 * by `user_name`, which anyone can change) and audited allowed or refused (`slack:<team>/<user>`);
 * read-only ones are open. Called after the ack, so it may take as long as the database does.
 *
 * Answers never hold param values (they are bound into SQL by the tasks: the issue forbids SQL
 * parameter values in Slack text) nor connection strings; user text is escaped for mrkdwn.
 */
import type pg from 'pg';
import { recordAudit } from '../audit/record-audit.js';
import type { Metrics } from '../metrics/create-metrics.js';
import { parseCommand, type ParsedCommand } from '../commands/parse-command.js';
import { renderHelp } from '../commands/render-help.js';
import { isDfmError, messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { cutText } from '../lib/cut-text.js';
import { describeSchedule } from '../pipeline/describe-schedule.js';
import { nextFireTimes } from '../pipeline/schedule.js';
import { didYouMean } from '../pipeline/suggest.js';
import { cancelRun } from '../runs/cancel-run.js';
import { getRunStatus } from '../runs/get-run-status.js';
import { listRuns } from '../runs/list-runs.js';
import { loadActivePipeline } from '../runs/load-active-pipeline.js';
import { retryRun } from '../runs/retry-run.js';
import { setPipelinePaused } from '../runs/set-pipeline-paused.js';
import { triggerRun } from '../runs/trigger-run.js';
import { isSlackActionAllowed, type SlackAction, type SlackAllowRule } from '../config/parse-slack-allow.js';
import { runUrl } from './render-run-message.js';
import { codeBlock, escapeMrkdwn, formatDuration, redactSecrets, SECTION_TEXT_LIMIT } from './slack-text.js';

export interface SlackCommandContext {
  readonly pool: pg.Pool;
  readonly allow: readonly SlackAllowRule[];
  /** DFM_SLACK_READ: `allowed` makes list, status and logs need a `read` rule. */
  readonly read: 'open' | 'allowed';
  readonly publicUrl: string;
  readonly logger: Logger;
  readonly now?: () => Date;
  /** dfm_slack_commands_total{command,outcome}: state changes count in changeState, the rest here. */
  readonly metrics?: Pick<Metrics, 'slackCommands'>;
}

/** Who asked, by Slack's ids. */
export interface SlackCaller {
  readonly team: string;
  readonly user: string;
}

export interface SlackAnswer {
  readonly response_type: 'ephemeral' | 'in_channel';
  readonly text: string;
  readonly blocks: readonly SectionBlock[];
}

type SectionBlock = { type: 'section'; text: { type: 'mrkdwn'; text: string } };

/** Slack's limit of blocks per message. */
const MAX_BLOCKS = 50;

export async function answerSlackCommand(context: SlackCommandContext, caller: SlackCaller, text: string): Promise<SlackAnswer> {
  const command = parseCommand(text, 'slack');
  const changesState = ['run', 'cancel', 'retry', 'pause', 'unpause'].includes(command.kind);
  if (!changesState) context.metrics?.slackCommands.inc({ command: command.kind, outcome: command.kind === 'unknown' || command.kind === 'invalid' ? 'invalid' : 'ok' });
  try {
    switch (command.kind) {
      case 'help':
        return answer(renderHelp('slack'));
      case 'unknown':
        return answer(`Unknown command \`${escapeMrkdwn(cutText(command.text, 60))}\`.${command.suggestion ? ` Did you mean \`${command.suggestion}\`?` : ''}\n\n${renderHelp('slack')}`);
      case 'invalid':
        return answer(escapeMrkdwn(command.message));
      case 'list':
        return await listPipelines(context, caller);
      case 'status':
        if ('run' in command.target) {
          const runId = command.target.run;
          return await ifReadable(context, caller, { run: runId }, () => showRun(context, runId));
        }
        return await ifReadable(context, caller, { pipeline: command.target.pipeline }, () => showPipeline(context, (command.target as { pipeline: string }).pipeline));
      case 'logs':
        return await ifReadable(context, caller, { run: command.run }, () => showLogs(context, command.run, command.task));
      case 'run':
        return await changeState(context, caller, 'run', command.pipeline, command.pipeline, async () => {
          const { runId } = await triggerRun(context.pool, { pipelineId: command.pipeline, params: command.params, paramsFromText: true, requestedBy: actorOf(caller) });
          const names = Object.keys(command.params);
          return { detail: { runId, params: names }, text: `Started <${runUrl(context.publicUrl, runId)}|run #${runId}> of *${command.pipeline}*${names.length > 0 ? ` with ${names.map((n) => `\`${n}\``).join(', ')}` : ''}.` };
        });
      case 'cancel':
      case 'retry':
        return await actOnRun(context, caller, command.kind, command.run);
      case 'pause':
      case 'unpause': {
        const paused = command.kind === 'pause';
        return await changeState(context, caller, command.kind, command.pipeline, command.pipeline, async () => {
          const change = await setPipelinePaused(context.pool, command.pipeline, paused, actorOf(caller));
          return { detail: { changed: change.changed }, text: `*${command.pipeline}* ${change.changed ? 'is now' : 'already was'} ${paused ? 'paused' : 'unpaused'}.` };
        });
      }
      default:
        return answer(renderHelp('slack'));
    }
  } catch (error) {
    if (isDfmError(error)) return answer(escapeMrkdwn(error.code === 'PIPELINE_UNKNOWN' ? await unknownPipeline(context, pipelineOf(command) ?? '') : error.message));
    context.logger.error({ err: { message: messageOf(error) }, command: command.kind }, 'Slack command failed');
    return answer('Something went wrong on dfm\'s side; the details are in its log. Try again in a moment.');
  }
}

/** A button on a run's message (Retry, Cancel): the same authorization and audit as the command. */
export function answerRunButton(context: SlackCommandContext, caller: SlackCaller, action: 'cancel' | 'retry', runId: number): Promise<SlackAnswer> {
  return actOnRun(context, caller, action, runId).catch((error: unknown) => {
    if (isDfmError(error)) return answer(escapeMrkdwn(error.message));
    context.logger.error({ err: { message: messageOf(error) }, run: runId, action }, 'Slack button failed');
    return answer('Something went wrong on dfm\'s side; the details are in its log.');
  });
}

export const actorOf = (caller: SlackCaller) => `slack:${caller.team}/${caller.user}`;

function answer(text: string, responseType: SlackAnswer['response_type'] = 'ephemeral'): SlackAnswer {
  return { response_type: responseType, text: cutText(text, 300), blocks: sections(text) };
}

/** Text as sections of at most 3,000 characters, split at line ends, at most 50 blocks. */
function sections(text: string): SectionBlock[] {
  const chunks: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    const piece = cutText(line, SECTION_TEXT_LIMIT);
    if (current !== '' && current.length + 1 + piece.length > SECTION_TEXT_LIMIT) {
      chunks.push(current);
      current = piece;
    } else current = current === '' ? piece : `${current}\n${piece}`;
  }
  if (current !== '' || chunks.length === 0) chunks.push(current || ' ');
  // A code fence split across sections would show its marks: each chunk stands on its own anyway.
  return chunks.slice(0, MAX_BLOCKS).map((chunk): SectionBlock => ({ type: 'section', text: { type: 'mrkdwn', text: chunk } }));
}

async function actOnRun(context: SlackCommandContext, caller: SlackCaller, action: 'cancel' | 'retry', runId: number): Promise<SlackAnswer> {
  const { rows } = await context.pool.query<{ pipeline_id: string }>('select pipeline_id from dfm.run where id = $1', [runId]);
  const pipelineId = rows[0]?.pipeline_id;
  if (pipelineId === undefined) return answer(`There is no run #${runId}.`);
  return changeState(context, caller, action, pipelineId, `run:${runId}`, async () => {
    if (action === 'cancel') {
      const { cancelledTasks } = await cancelRun(context.pool, runId, actorOf(caller));
      return { detail: { cancelledTasks }, text: `Cancelled <${runUrl(context.publicUrl, runId)}|run #${runId}> of *${pipelineId}*.` };
    }
    const retried = await retryRun(context.pool, runId);
    return {
      detail: { tasks: retried.tasks },
      text: `Retrying ${retried.tasks.map((t) => `\`${t}\``).join(', ')} of <${runUrl(context.publicUrl, runId)}|run #${runId}> (*${pipelineId}*)${retried.started ? '' : '; queued behind the running ones or a pause'}.`,
    };
  });
}

/** Authorize, act, audit: allowed and done, refused, or failed (the DfmError's message). */
async function changeState(
  context: SlackCommandContext,
  caller: SlackCaller,
  action: SlackAction,
  pipelineId: string,
  target: string,
  act: () => Promise<{ detail: Record<string, unknown>; text: string }>,
): Promise<SlackAnswer> {
  const actor = actorOf(caller);
  const count = (outcome: 'ok' | 'refused' | 'failed') => context.metrics?.slackCommands.inc({ command: action, outcome });
  if (!isSlackActionAllowed(context.allow, caller, action, pipelineId)) {
    count('refused');
    await recordAudit(context.pool, { actor, via: 'slack', action, target, outcome: 'refused', detail: { reason: 'not allowed by DFM_SLACK_ALLOW' } });
    return answer(`You may not ${action} *${escapeMrkdwn(pipelineId)}* from Slack. An admin can allow it in DFM_SLACK_ALLOW: \`${caller.team}/${caller.user}=${action}@${escapeMrkdwn(pipelineId)}\`.`);
  }
  try {
    const done = await act();
    count('ok');
    await recordAudit(context.pool, { actor, via: 'slack', action, target, outcome: 'ok', detail: done.detail });
    return answer(done.text, 'in_channel');
  } catch (error) {
    count('failed');
    await recordAudit(context.pool, { actor, via: 'slack', action, target, outcome: 'failed', detail: { code: isDfmError(error) ? error.code : 'INTERNAL_ERROR' } });
    throw error;
  }
}

/** With DFM_SLACK_READ=allowed, a read needs a `read` rule for the pipeline (a run's pipeline). */
async function ifReadable(context: SlackCommandContext, caller: SlackCaller, what: { pipeline: string } | { run: number }, show: () => Promise<SlackAnswer>): Promise<SlackAnswer> {
  if (context.read === 'open') return show();
  let pipelineId: string | undefined;
  if ('pipeline' in what) pipelineId = what.pipeline;
  else pipelineId = (await context.pool.query<{ pipeline_id: string }>('select pipeline_id from dfm.run where id = $1', [what.run])).rows[0]?.pipeline_id;
  // An unknown run is reported as unknown only to those who may read something.
  if (pipelineId === undefined ? !context.allow.some((r) => r.team === caller.team && (r.user === '*' || r.user === caller.user) && r.actions.includes('read')) : !isSlackActionAllowed(context.allow, caller, 'read', pipelineId)) {
    return answer(`You may not read ${pipelineId === undefined ? 'runs' : `*${escapeMrkdwn(pipelineId)}*`} from Slack here (DFM_SLACK_READ=allowed). An admin can allow it in DFM_SLACK_ALLOW: \`${caller.team}/${caller.user}=read${pipelineId === undefined ? '' : `@${escapeMrkdwn(pipelineId)}`}\`.`);
  }
  return show();
}

/** An unknown pipeline gets the closest active id. */
async function unknownPipeline(context: SlackCommandContext, pipelineId: string): Promise<string> {
  const { rows } = await context.pool.query<{ id: string }>('select id from dfm.pipeline where not paused order by id');
  return `No pipeline "${pipelineId}". ${didYouMean(pipelineId, rows.map((r) => r.id), 'Active pipelines')}`;
}

/** The pipeline a command names, if it names one. */
function pipelineOf(command: ParsedCommand): string | undefined {
  if ('pipeline' in command && typeof command.pipeline === 'string') return command.pipeline;
  if (command.kind === 'status' && 'pipeline' in command.target) return command.target.pipeline;
  return undefined;
}

async function listPipelines(context: SlackCommandContext, caller: SlackCaller): Promise<SlackAnswer> {
  const { rows } = await context.pool.query<{ id: string; paused: boolean; schedule: string | null; timezone: string | null; last_id: string | null; last_state: string | null }>(
    `select p.id, p.paused, v.definition->>'schedule' as schedule, v.definition->>'timezone' as timezone, l.id as last_id, l.state as last_state
       from dfm.pipeline p
       join dfm.pipeline_version v on v.id = p.active_version_id
       left join lateral (select r.id, r.state from dfm.run r where r.pipeline_id = p.id order by r.id desc limit 1) l on true
      order by p.paused, p.id`,
  );
  const readable = context.read === 'open' ? rows : rows.filter((r) => isSlackActionAllowed(context.allow, caller, 'read', r.id));
  if (readable.length === 0) return answer(rows.length === 0 ? 'No pipelines yet.' : 'No pipeline you may read from Slack (DFM_SLACK_READ=allowed; an admin can add a `read` rule to DFM_SLACK_ALLOW).');
  const now = context.now?.() ?? new Date();
  const lines = readable.map((r) => {
    const timezone = r.timezone ?? 'UTC';
    let next = '';
    if (r.schedule && !r.paused) {
      try {
        const fire = nextFireTimes(r.schedule, timezone, now, 1)[0];
        if (fire) next = ` · next ${fire.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
      } catch {
        next = '';
      }
    }
    const schedule = r.schedule ? `${escapeMrkdwn(describeSchedule(r.schedule))}${timezone === 'UTC' ? '' : ` ${escapeMrkdwn(timezone)}`}` : 'manual';
    const last = r.last_id ? ` · last <${runUrl(context.publicUrl, Number(r.last_id))}|#${r.last_id}> ${r.last_state}` : '';
    return `${r.paused ? ':double_vertical_bar: ' : ''}*${r.id}* ${schedule}${next}${last}${r.paused ? ' · paused' : ''}`;
  });
  return answer(`*${readable.length} pipeline${readable.length === 1 ? '' : 's'}*\n${lines.join('\n')}`);
}

async function showPipeline(context: SlackCommandContext, pipelineId: string): Promise<SlackAnswer> {
  const active = await loadActivePipeline(context.pool, pipelineId);
  const runs = await listRuns(context.pool, { pipelineId, limit: 10 });
  const lines = runs.map((r) => `<${runUrl(context.publicUrl, r.id)}|#${r.id}> ${r.state} · ${r.trigger} · ${r.tasksSucceeded}/${r.tasks} tasks · ${r.createdAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`);
  return answer(`*${pipelineId}*${active.paused ? ' (paused)' : ''} · ${active.pipeline.tasks.length} tasks\n${lines.length > 0 ? lines.join('\n') : 'No runs yet.'}`);
}

async function showRun(context: SlackCommandContext, runId: number): Promise<SlackAnswer> {
  const run = await getRunStatus(context.pool, runId);
  if (!run) return answer(`There is no run #${runId}.`);
  const duration = run.startedAt ? ` · ${formatDuration((run.finishedAt ?? new Date()).getTime() - run.startedAt.getTime())}` : '';
  const tasks = run.tasks.map((t) => `• *${t.taskId}* ${t.state}${t.attempt > 1 ? ` (attempt ${t.attempt})` : ''}${t.error ? ` — ${escapeMrkdwn(redactSecrets(cutText(t.error.message.split('\n')[0] ?? '', 200)))}` : ''}`);
  return answer(`*<${runUrl(context.publicUrl, runId)}|${run.pipelineId} #${runId}>* ${run.state} · ${run.trigger}${duration}\n${tasks.join('\n')}`);
}

async function showLogs(context: SlackCommandContext, runId: number, taskId: string | undefined): Promise<SlackAnswer> {
  const { rows } = await context.pool.query<{ task_id: string | null; level: string; message: string }>(
    `select task_id, level, message from (
       select id, task_id, level, message from dfm.run_log where run_id = $1 and ($2::text is null or task_id = $2) order by id desc limit 40) l
      order by id`,
    [runId, taskId ?? null],
  );
  const link = `<${runUrl(context.publicUrl, runId)}|full log in the dashboard>`;
  if (rows.length === 0) return answer(`No log lines for run #${runId}${taskId ? ` task ${taskId}` : ''}. ${link}`);
  const text = rows.map((r) => `${r.task_id ?? '-'} ${r.level}: ${r.message}`).join('\n');
  // The end of a log explains what happened last; keep the tail within one section.
  const tail = text.length > 2600 ? `…${text.slice(text.length - 2600)}` : text;
  return answer(`*Run #${runId}${taskId ? ` ${taskId}` : ''}*, last ${rows.length} lines (${link}):\n${codeBlock(tail, 2800)}`);
}
