/**
 * The HMAC SHA-256 webhook signature every ingress checks (`X-Hub-Signature-256`,
 * `X-Dfm-Signature-256`): `sha256=<hex of HMAC SHA-256 of the raw body with the secret>`, over the
 * bytes as received (before any parsing), compared in constant time. Pure.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const HEX_DIGEST = /^[0-9a-f]{64}$/i;

/** `prefix: 'required'` (GitHub always sends `sha256=`); `'optional'` also accepts the bare hex digest. */
export function verifySignature(secret: string, body: Buffer, header: string | undefined, options: { prefix: 'required' | 'optional' } = { prefix: 'optional' }): boolean {
  if (header === undefined) return false;
  const trimmed = header.trim();
  const hasPrefix = /^sha256=/i.test(trimmed);
  if (!hasPrefix && options.prefix === 'required') return false;
  const given = hasPrefix ? trimmed.slice('sha256='.length) : trimmed;
  if (!HEX_DIGEST.test(given)) return false;
  return timingSafeEqual(Buffer.from(given, 'hex'), createHmac('sha256', secret).update(body).digest());
}
