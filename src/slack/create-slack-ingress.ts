/**
 * `POST /api/slack/events`: the Slack app's request URL for the `/dfm` slash command and the
 * interactive buttons of run messages, served by Bolt's ExpressReceiver on a router of dfm's app.
 *
 * In front of Bolt, on the raw bytes: verify-slack-request.ts (both sides of the replay window, v0
 * only); a refusal is 401 with an empty body and nothing runs. The bytes are handed to Bolt as
 * `req.rawBody` (which it reads instead of the stream) and Bolt verifies again. Then: ack at once
 * (Slack wants it within 3 s), and answer through `response_url` (`respond()`) once the work is
 * done, however slow the database is.
 *
 * Bolt's client is built with `retries: 0` and dfm's `authorize` (the one bot token, no
 * `auth.test` call at start or per request) and is not used: answers go to `response_url`, run
 * messages through the outbox (deliver-slack-reports.ts).
 */
import { App, ExpressReceiver, LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import { Router, type Request } from 'express';
import type pg from 'pg';
import type { SlackConfig } from '../config/load-config.js';
import type { Logger } from '../lib/logger.js';
import { messageOf } from '../lib/errors.js';
import { readRawBody } from '../lib/read-raw-body.js';
import type { Metrics } from '../metrics/create-metrics.js';
import { answerRunButton, answerSlackCommand, type SlackCaller, type SlackCommandContext } from './answer-slack-command.js';
import { CANCEL_ACTION, OPEN_ACTION, RETRY_ACTION } from './render-run-message.js';
import { verifySlackRequest } from './verify-slack-request.js';

export const SLACK_EVENTS_PATH = '/api/slack/events';
export const SLACK_COMMAND = '/dfm';
/** Slack's payloads are small; Bolt's own default limit is 10 MB. */
const MAX_BODY_BYTES = 1024 * 1024;

export interface SlackIngress {
  readonly router: Router;
  stop(): Promise<void>;
}

export function createSlackIngress(options: { slack: SlackConfig; pool: pg.Pool; logger: Logger; publicUrl: string; now?: () => number; metrics?: Pick<Metrics, 'slackCommands'> }): SlackIngress {
  const { slack, pool, publicUrl } = options;
  const logger = options.logger.child({ surface: 'slack' });
  const now = options.now ?? Date.now;
  const router = Router();

  router.post(SLACK_EVENTS_PATH, async (req, res, next) => {
    const body = await readRawBody(req, MAX_BODY_BYTES);
    if (body === undefined) {
      res.status(413).end();
      return;
    }
    const header = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : undefined);
    const verdict = verifySlackRequest(slack.signingSecret, body, { timestamp: header('x-slack-request-timestamp'), signature: header('x-slack-signature') }, now());
    if (verdict !== 'ok') {
      logger.warn({ verdict }, 'Slack request refused: its signature or timestamp does not verify (check SLACK_SIGNING_SECRET and the clock)');
      res.status(401).end();
      return;
    }
    (req as Request & { rawBody?: Buffer }).rawBody = body;
    next();
  });

  const receiver = new ExpressReceiver({ signingSecret: slack.signingSecret, router, endpoints: SLACK_EVENTS_PATH, logger: boltLogger(logger) });
  const app = new App({
    receiver,
    authorize: async () => ({ botToken: slack.botToken }),
    logger: boltLogger(logger),
    clientOptions: { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } },
  });
  const context: SlackCommandContext = { pool, allow: slack.allow, read: slack.read, publicUrl, logger, ...(options.metrics ? { metrics: options.metrics } : {}) };

  app.command(SLACK_COMMAND, async ({ command, ack }) => {
    await ack();
    const caller: SlackCaller = { team: command.team_id, user: command.user_id };
    const answer = await answerSlackCommand(context, caller, command.text);
    await postToResponseUrl(command.response_url, { ...answer }, logger);
  });

  for (const [actionId, action] of [[RETRY_ACTION, 'retry'], [CANCEL_ACTION, 'cancel']] as const) {
    app.action(actionId, async ({ ack, body, action: pressed }) => {
      await ack();
      const value = 'value' in pressed ? Number(pressed.value) : Number.NaN;
      const team = body.team?.id ?? body.user.team_id;
      if (!Number.isInteger(value) || value <= 0 || team === undefined) return;
      const answer = await answerRunButton(context, { team, user: body.user.id }, action, value);
      // An ephemeral note to the presser; the run's message itself updates through the outbox.
      if ('response_url' in body && typeof body.response_url === 'string') await postToResponseUrl(body.response_url, { ...answer, response_type: 'ephemeral', replace_original: false }, logger);
    });
  }
  // A link button still sends an action; it needs its ack too.
  app.action(OPEN_ACTION, async ({ ack }) => ack());

  app.error(async (error) => {
    logger.error({ err: { message: messageOf(error) } }, 'Slack request failed');
  });

  return { router, stop: async () => undefined };
}

/**
 * What Bolt's `respond()` does (POST the JSON to the payload's response_url), with fetch: Bolt's
 * goes through axios, and at 50 commands/s (bench/slack.ts) the answers' work shares the process
 * with the acknowledgements. A failure is logged: the user sees no answer, nothing else is lost.
 */
async function postToResponseUrl(url: string, message: Record<string, unknown>, logger: Logger): Promise<void> {
  try {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(message), signal: AbortSignal.timeout(10_000) });
    await response.body?.cancel();
    if (!response.ok) logger.warn({ status: response.status }, 'Slack refused the answer posted to response_url');
  } catch (error) {
    logger.warn({ err: { message: messageOf(error) } }, 'could not post the answer to response_url');
  }
}

function boltLogger(logger: Logger): BoltLogger {
  const write = (level: 'debug' | 'info' | 'warn' | 'error') => (...messages: unknown[]) => logger[level](messages.map((m) => (typeof m === 'string' ? m : messageOf(m))).join(' '));
  return {
    debug: write('debug'),
    info: write('debug'),
    warn: write('warn'),
    error: write('error'),
    setLevel: () => undefined,
    getLevel: () => LogLevel.INFO,
    setName: () => undefined,
  };
}
