import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifySlackRequest } from './verify-slack-request.js';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const NOW_MS = 1_531_420_618_000;
const body = Buffer.from('token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fdfm&text=list');
const signed = (timestamp: number, version = 'v0') => ({
  timestamp: String(timestamp),
  signature: `${version}=${createHmac('sha256', SECRET).update(`${version}:${timestamp}:${body.toString()}`).digest('hex')}`,
});

describe('verifySlackRequest', () => {
  it('accepts a v0 signature within the window on either side', () => {
    expect(verifySlackRequest(SECRET, body, signed(NOW_MS / 1000), NOW_MS)).toBe('ok');
    expect(verifySlackRequest(SECRET, body, signed(NOW_MS / 1000 - 299), NOW_MS)).toBe('ok');
    expect(verifySlackRequest(SECRET, body, signed(NOW_MS / 1000 + 299), NOW_MS)).toBe('ok');
  });
  it('refuses stale and future timestamps, other versions, other bodies and missing headers', () => {
    expect(verifySlackRequest(SECRET, body, signed(NOW_MS / 1000 - 360), NOW_MS)).toBe('stale');
    expect(verifySlackRequest(SECRET, body, signed(NOW_MS / 1000 + 360), NOW_MS)).toBe('future');
    expect(verifySlackRequest(SECRET, body, signed(NOW_MS / 1000, 'v1'), NOW_MS)).toBe('version-unknown');
    expect(verifySlackRequest(SECRET, Buffer.concat([body, Buffer.from('x')]), signed(NOW_MS / 1000), NOW_MS)).toBe('mismatch');
    expect(verifySlackRequest('another secret', body, signed(NOW_MS / 1000), NOW_MS)).toBe('mismatch');
    expect(verifySlackRequest(SECRET, body, { timestamp: undefined, signature: signed(NOW_MS / 1000).signature }, NOW_MS)).toBe('headers-missing');
    expect(verifySlackRequest(SECRET, body, { timestamp: '1e9', signature: signed(NOW_MS / 1000).signature }, NOW_MS)).toBe('headers-missing');
    expect(verifySlackRequest(SECRET, body, { timestamp: String(NOW_MS / 1000), signature: 'v0=zz' }, NOW_MS)).toBe('mismatch');
  });
});
