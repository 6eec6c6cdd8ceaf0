import { sign } from '@octokit/webhooks-methods';
import { describe, expect, it } from 'vitest';
import { verifySignature } from './verify-signature.js';

const secret = 'a secret';
const body = '{"zen":"Keep it logically awesome.","hook_id":1}';

describe('verifySignature', () => {
  it("accepts GitHub's own signature (webhooks-methods sign) over the raw bytes", async () => {
    expect(verifySignature(secret, Buffer.from(body), await sign(secret, body), { prefix: 'required' })).toBe(true);
  });

  it('refuses another secret, another body, a missing, short, malformed or sha1 signature', async () => {
    const good = await sign(secret, body);
    expect(verifySignature('another', Buffer.from(body), good)).toBe(false);
    expect(verifySignature(secret, Buffer.from(`${body} `), good)).toBe(false);
    expect(verifySignature(secret, Buffer.from(body), undefined)).toBe(false);
    expect(verifySignature(secret, Buffer.from(body), good.slice(0, 20))).toBe(false);
    expect(verifySignature(secret, Buffer.from(body), 'sha256=not-hex-at-all')).toBe(false);
    expect(verifySignature(secret, Buffer.from(body), `sha1=${'0'.repeat(40)}`)).toBe(false);
  });

  it('takes the bare hex digest only when the prefix is optional', async () => {
    const hex = (await sign(secret, body)).slice('sha256='.length);
    expect(verifySignature(secret, Buffer.from(body), hex)).toBe(true);
    expect(verifySignature(secret, Buffer.from(body), hex, { prefix: 'required' })).toBe(false);
    expect(verifySignature(secret, Buffer.from(body), `SHA256=${hex.toUpperCase()}`, { prefix: 'required' })).toBe(true);
  });
});
