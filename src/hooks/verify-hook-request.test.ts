import { describe, expect, it } from 'vitest';
import { signHookBody, verifyBearer, verifyHookSignature } from './verify-hook-request.js';

const secret = 'a webhook secret for tests';
const body = Buffer.from('{"amount":3}');
const now = 1_800_000_000_000;
const ts = String(now / 1000);

describe('verifyHookSignature', () => {
  it('accepts the signature of "<timestamp>.<raw body>" within five minutes either way', () => {
    expect(verifyHookSignature(secret, body, { timestamp: ts, signature: signHookBody(secret, ts, body) }, now)).toBe(true);
    for (const offset of [-300, 300]) {
      const t = String(now / 1000 + offset);
      expect(verifyHookSignature(secret, body, { timestamp: t, signature: signHookBody(secret, t, body) }, now)).toBe(true);
    }
  });

  it('refuses stale and future timestamps even when signed', () => {
    for (const offset of [-301, 301, -86_400]) {
      const t = String(now / 1000 + offset);
      expect(verifyHookSignature(secret, body, { timestamp: t, signature: signHookBody(secret, t, body) }, now)).toBe(false);
    }
  });

  it('refuses a moved timestamp, another body, another secret, and malformed or missing headers', () => {
    const signature = signHookBody(secret, ts, body);
    expect(verifyHookSignature(secret, body, { timestamp: String(now / 1000 + 1), signature }, now)).toBe(false);
    expect(verifyHookSignature(secret, Buffer.from('{"amount":4}'), { timestamp: ts, signature }, now)).toBe(false);
    expect(verifyHookSignature('another secret', body, { timestamp: ts, signature }, now)).toBe(false);
    expect(verifyHookSignature(secret, body, { timestamp: ts, signature: signature.slice(0, -2) }, now)).toBe(false);
    expect(verifyHookSignature(secret, body, { timestamp: ts, signature: signature.replace('sha256=', 'sha1=') }, now)).toBe(false);
    expect(verifyHookSignature(secret, body, { timestamp: undefined, signature }, now)).toBe(false);
    expect(verifyHookSignature(secret, body, { timestamp: ts, signature: undefined }, now)).toBe(false);
    expect(verifyHookSignature(secret, body, { timestamp: `${ts}.5`, signature }, now)).toBe(false);
  });
});

describe('verifyBearer', () => {
  it('accepts only the exact token', () => {
    expect(verifyBearer('token-0123456789abcdef', 'Bearer token-0123456789abcdef')).toBe(true);
    expect(verifyBearer('token-0123456789abcdef', 'Bearer token-0123456789abcdeF')).toBe(false);
    expect(verifyBearer('token-0123456789abcdef', 'Bearer token-0123456789abcde')).toBe(false);
    expect(verifyBearer('token-0123456789abcdef', 'token-0123456789abcdef')).toBe(false);
    expect(verifyBearer('token-0123456789abcdef', undefined)).toBe(false);
  });
});
