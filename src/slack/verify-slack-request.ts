/**
 * Slack's request signature, checked on the raw bytes before anything parses them: header
 * `X-Slack-Signature: v0=<hex HMAC SHA-256 of "v0:<X-Slack-Request-Timestamp>:<body>">` with the
 * signing secret, compared in constant time, and a timestamp within 5 minutes of now on **both**
 * sides. Pure (the clock is passed in).
 *
 * Why dfm checks this itself in front of Bolt (5.1.0): Bolt's ExpressReceiver refuses only the past
 * side of the window, and it takes the version from the header (`hmac("<version>:<ts>:<body>")`),
 * so a request signed `v1=` over `v1:…` passes it; Slack documents only v0.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack's replay window: 5 minutes. */
export const SLACK_TIMESTAMP_WINDOW_S = 300;

export type SlackVerdict = 'ok' | 'headers-missing' | 'stale' | 'future' | 'version-unknown' | 'mismatch';

export function verifySlackRequest(secret: string, body: Buffer, headers: { timestamp: string | undefined; signature: string | undefined }, nowMs: number): SlackVerdict {
  const { timestamp, signature } = headers;
  if (timestamp === undefined || signature === undefined || !/^\d{1,12}$/.test(timestamp)) return 'headers-missing';
  const skew = Number(timestamp) - Math.floor(nowMs / 1000);
  if (skew < -SLACK_TIMESTAMP_WINDOW_S) return 'stale';
  if (skew > SLACK_TIMESTAMP_WINDOW_S) return 'future';
  const match = /^v0=([0-9a-f]{64})$/.exec(signature.trim());
  if (!match) return /^v0=/.test(signature) ? 'mismatch' : 'version-unknown';
  const expected = createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body).digest();
  return timingSafeEqual(Buffer.from(match[1]!, 'hex'), expected) ? 'ok' : 'mismatch';
}
