/**
 * A run's one Slack message and its failure thread, from the report's payload. Pure. Readable on a
 * phone: one line of what and how it ended, one compact line of task states, one line of context
 * (trigger, duration, commit), the buttons. The colour bar of the attachment is the state at a
 * glance (green success, red failed, grey cancelled, blue running): a retried run's message turns
 * from red to green in place.
 */
import { cutText } from '../lib/cut-text.js';
import type { RunMessagePayload } from './run-message-payload.js';
import { codeBlock, escapeMrkdwn, formatDuration, redactSecrets, SECTION_TEXT_LIMIT } from './slack-text.js';

export const RETRY_ACTION = 'dfm_retry';
export const CANCEL_ACTION = 'dfm_cancel';
export const OPEN_ACTION = 'dfm_open';

export interface SlackMessage {
  readonly text: string;
  readonly blocks?: readonly Record<string, unknown>[];
  readonly attachments?: readonly { color: string; blocks: readonly Record<string, unknown>[] }[];
}

const STATE_LOOK: Record<RunMessagePayload['state'], { emoji: string; word: string; color: string }> = {
  queued: { emoji: ':double_vertical_bar:', word: 'queued', color: '#9ea0a5' },
  running: { emoji: ':arrows_counterclockwise:', word: 'running', color: '#1d9bd1' },
  success: { emoji: ':white_check_mark:', word: 'succeeded', color: '#2eb67d' },
  failed: { emoji: ':x:', word: 'failed', color: '#e01e5a' },
  cancelled: { emoji: ':no_entry_sign:', word: 'cancelled', color: '#9ea0a5' },
};

const TASK_MARK: Record<string, string> = { success: '✓', failed: '✗', running: '▶', ready: '○', pending: '○', upstream_failed: '⊘', cancelled: '■', skipped: '–' };

export const runUrl = (publicUrl: string, runId: number) => `${publicUrl}/runs/${runId}`;

export function renderRunMessage(p: RunMessagePayload, publicUrl: string): SlackMessage {
  const look = STATE_LOOK[p.state];
  const url = runUrl(publicUrl, p.runId);
  const headline = `${look.emoji} *<${url}|${escapeMrkdwn(p.pipelineId)} #${p.runId}>* ${look.word}`;
  const tasks = p.tasks.map((t) => `${TASK_MARK[t.state] ?? '?'} ${escapeMrkdwn(t.id)}${t.attempt > 1 ? ` (try ${t.attempt})` : ''}`).join('  ');
  const commit = /^[0-9a-f]{40}$/.test(p.sourceRef) ? `commit \`${p.sourceRef.slice(0, 7)}\`${p.commitTitle ? ` ${escapeMrkdwn(cutText(p.commitTitle, 72))}` : ''}` : 'local files';
  const trigger = `${escapeMrkdwn(p.trigger)}${p.requestedBy ? ` by ${escapeMrkdwn(cutText(p.requestedBy, 80))}` : ''}`;
  const context = [trigger, p.durationMs === null ? undefined : formatDuration(p.durationMs), commit].filter(Boolean).join(' · ');
  const buttons: Record<string, unknown>[] = [];
  if (p.state === 'failed' || p.state === 'cancelled') buttons.push(button('Retry', RETRY_ACTION, String(p.runId), 'primary'));
  if (p.state === 'queued' || p.state === 'running') buttons.push({ ...button('Cancel', CANCEL_ACTION, String(p.runId), 'danger'), confirm: confirmCancel(p) });
  buttons.push({ ...button('Open', OPEN_ACTION, String(p.runId)), url });
  const blocks = [
    { type: 'section', text: { type: 'mrkdwn', text: cutText(`${headline}\n${tasks}`, SECTION_TEXT_LIMIT) } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: cutText(context, SECTION_TEXT_LIMIT) }] },
    { type: 'actions', block_id: `run:${p.runId}`, elements: buttons },
  ];
  return { text: `${p.pipelineId} #${p.runId} ${look.word}`, attachments: [{ color: look.color, blocks }] };
}

/** The failure's details, posted in the message's thread. */
export function renderRunThread(p: RunMessagePayload): SlackMessage {
  if (p.failed === null) return { text: `Run #${p.runId} ${p.state}.` };
  const f = p.failed;
  const title = `Task *${escapeMrkdwn(f.task)}* failed (attempt ${f.attempt})`;
  const blocks: Record<string, unknown>[] = [{ type: 'section', text: { type: 'mrkdwn', text: `${title}\n${codeBlock(f.error || 'no error message', SECTION_TEXT_LIMIT - title.length - 1)}` } }];
  if (f.logTail.trim() !== '') blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `Log tail\n${codeBlock(lastChars(f.logTail, 2000), SECTION_TEXT_LIMIT - 9)}` } });
  return { text: cutText(`${f.task} failed: ${redactSecrets(f.error.slice(0, 600))}`, 300), blocks };
}

function button(text: string, actionId: string, value: string, style?: 'primary' | 'danger'): Record<string, unknown> {
  return { type: 'button', text: { type: 'plain_text', text }, action_id: actionId, value, ...(style ? { style } : {}) };
}

function confirmCancel(p: RunMessagePayload): Record<string, unknown> {
  return {
    title: { type: 'plain_text', text: 'Cancel this run?' },
    text: { type: 'plain_text', text: cutText(`Run #${p.runId} of ${p.pipelineId}: running tasks are stopped.`, 300) },
    confirm: { type: 'plain_text', text: 'Cancel run' },
    deny: { type: 'plain_text', text: 'Keep it' },
  };
}

/** The end of a log: what happened last is what explains a failure. */
function lastChars(text: string, max: number): string {
  return text.length <= max ? text : `…${text.slice(text.length - max + 1)}`;
}
