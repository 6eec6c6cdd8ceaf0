/**
 * Pure checks of a webhook request's credentials, on the raw bytes and in constant time.
 * Signature: `X-Dfm-Signature-256: sha256=<hex HMAC SHA-256(secret, "<timestamp>.<raw body>")>`
 * with `X-Dfm-Timestamp: <unix seconds>` within 5 minutes either way of now; the timestamp is
 * signed, so a replayed delivery cannot be moved into the window (Slack's scheme, with the future
 * side checked too: bolt accepts any future timestamp, SURFACES-FACTS.md).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** How far a signed timestamp may be from now, either way, in seconds. */
export const SIGNATURE_WINDOW_S = 300;

export function signHookBody(secret: string, timestamp: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

export function verifyHookSignature(
  secret: string,
  body: Buffer,
  headers: { timestamp: string | undefined; signature: string | undefined },
  nowMs: number,
): boolean {
  const { timestamp, signature } = headers;
  if (timestamp === undefined || signature === undefined || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > SIGNATURE_WINDOW_S) return false;
  const given = /^sha256=([0-9a-f]{64})$/i.exec(signature.trim())?.[1];
  if (given === undefined) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
  return timingSafeEqual(Buffer.from(given, 'hex'), expected);
}

/** `Authorization: Bearer <token>` against the expected token; digests first, so lengths never leak. */
export function verifyBearer(expected: string, authorization: string | undefined): boolean {
  const token = /^Bearer +(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  if (token === undefined) return false;
  return timingSafeEqual(digest(token), digest(expected));
}

export function bearerToken(authorization: string | undefined): string | undefined {
  return /^Bearer +(\S+)\s*$/i.exec(authorization ?? '')?.[1];
}

export const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
