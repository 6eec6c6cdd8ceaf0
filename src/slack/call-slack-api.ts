/**
 * One Slack Web API call (`chat.postMessage`, `chat.update`) with the bot token, as the outbox
 * sender needs it: no retries of its own (the outbox retries, in order per target), and every
 * failure classified (outbox/report-error.ts): HTTP 429 → `rate-limited` with Slack's
 * `Retry-After` (seconds), so the channel waits as asked; 5xx, a network failure or Slack's own
 * transient errors → `retryable`; any other `ok: false` (channel_not_found, not_in_channel,
 * invalid_blocks, msg_blocks_too_long …) → `rejected`, as sending it again cannot succeed.
 */
import { ReportError } from '../outbox/report-error.js';

export interface SlackApi {
  call(method: 'chat.postMessage' | 'chat.update', body: Record<string, unknown>): Promise<Record<string, unknown>>;
}

const TRANSIENT = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'ratelimited']);

export function createSlackApi(options: { apiUrl: string; botToken: string; timeoutMs?: number }): SlackApi {
  return {
    async call(method, body) {
      let response: Response;
      try {
        response = await fetch(`${options.apiUrl}${method}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${options.botToken}` },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        });
      } catch (error) {
        throw new ReportError('retryable', `Slack ${method} failed: ${(error as Error).message}`, { cause: error });
      }
      if (response.status === 429) {
        const seconds = Number(response.headers.get('retry-after'));
        await response.body?.cancel();
        return Promise.reject(new ReportError('rate-limited', `Slack ${method} rate limited (retry-after ${response.headers.get('retry-after') ?? 'none'})`, { retryAfterMs: Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 1000 }));
      }
      if (response.status >= 500) {
        await response.body?.cancel();
        throw new ReportError('retryable', `Slack ${method} answered ${response.status}`);
      }
      const answer = (await response.json().catch(() => ({ ok: false, error: `not JSON (HTTP ${response.status})` }))) as Record<string, unknown>;
      if (answer['ok'] === true) return answer;
      const error = String(answer['error'] ?? `HTTP ${response.status}`);
      throw new ReportError(TRANSIENT.has(error) ? 'retryable' : 'rejected', `Slack ${method}: ${error}`);
    },
  };
}
