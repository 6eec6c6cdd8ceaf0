/**
 * The outbox's Slack deliverers. `slack.run-message`: the run's one message — chat.postMessage the
 * first time (its ts and channel id are stored in dfm.slack_message), chat.update of that ts after.
 * `slack.run-thread`: the failure's details as a reply in the message's thread. Order within a run
 * is the outbox's (the target is one run's lane), so the post always precedes its updates and the
 * thread reply.
 *
 * With Slack off (no SLACK_BOT_TOKEN) or no channel to post to, a report is `rejected`: recorded
 * failed at once with the reason, never retried for hours.
 */
import type pg from 'pg';
import { ReportError } from '../outbox/report-error.js';
import type { Deliverers } from '../outbox/start-outbox-sender.js';
import type { PendingReport } from '../outbox/outbox-queue.js';
import { SLACK_RUN_MESSAGE_REPORT, SLACK_RUN_THREAD_REPORT } from '../runs/report-run-messages.js';
import type { SlackApi } from './call-slack-api.js';
import { renderRunMessage, renderRunThread } from './render-run-message.js';
import { runMessagePayloadSchema } from './run-message-payload.js';

export interface SlackDeliveryContext {
  readonly pool: pg.Pool;
  /** Undefined: Slack is off. */
  readonly api: SlackApi | undefined;
  readonly defaultChannel: string | undefined;
  readonly publicUrl: string;
}

export function slackDeliverers(context: SlackDeliveryContext): Deliverers {
  const prepare = async (report: PendingReport) => {
    const payload = runMessagePayloadSchema.parse(report.payload);
    if (context.api === undefined) throw new ReportError('rejected', 'Slack is off: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to send run messages.');
    const channel = payload.channel !== '' ? payload.channel : context.defaultChannel;
    if (channel === undefined) throw new ReportError('rejected', `Pipeline ${payload.pipelineId} names no Slack channel (notify.slack) and DFM_SLACK_DEFAULT_CHANNEL is unset.`);
    const { rows } = await context.pool.query<{ channel_id: string | null; ts: string | null }>('select channel_id, ts from dfm.slack_message where run_id = $1', [payload.runId]);
    return { payload, channel, api: context.api, posted: rows[0]?.ts ? { channelId: rows[0].channel_id!, ts: rows[0].ts } : undefined };
  };

  return {
    [SLACK_RUN_MESSAGE_REPORT]: async (report) => {
      const { payload, channel, api, posted } = await prepare(report);
      const message = renderRunMessage(payload, context.publicUrl);
      if (posted !== undefined) {
        await api.call('chat.update', { channel: posted.channelId, ts: posted.ts, ...message });
        return { ts: posted.ts, op: 'update', state: payload.state };
      }
      const answer = await api.call('chat.postMessage', { channel, unfurl_links: false, ...message });
      const channelId = String(answer['channel']);
      const ts = String(answer['ts']);
      await context.pool.query(
        `insert into dfm.slack_message (run_id, channel, channel_id, ts) values ($1, $2, $3, $4)
         on conflict (run_id) do update set channel_id = excluded.channel_id, ts = excluded.ts`,
        [payload.runId, payload.channel, channelId, ts],
      );
      return { ts, op: 'post', state: payload.state };
    },
    [SLACK_RUN_THREAD_REPORT]: async (report) => {
      const { payload, api, posted } = await prepare(report);
      // The message report of the same run went first; without its ts it was rejected.
      if (posted === undefined) throw new ReportError('rejected', `Run ${payload.runId} has no Slack message to reply to.`);
      const answer = await api.call('chat.postMessage', { channel: posted.channelId, thread_ts: posted.ts, unfurl_links: false, ...renderRunThread(payload) });
      return { ts: answer['ts'], op: 'thread' };
    },
  };
}
