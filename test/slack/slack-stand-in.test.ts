/** The Slack stand-in refuses what Slack refuses, so a test that sends it fails (its own tests). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSlackStandIn, type SlackStandIn } from '../helpers/slack-api-stand-in.js';

let slack: SlackStandIn;
beforeEach(async () => {
  slack = await startSlackStandIn({ token: 'xoxb-t' });
});
afterEach(async () => slack.close());

const call = async (method: string, body: unknown, token = 'xoxb-t') => {
  const response = await fetch(`${slack.apiUrl}${method}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};
const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });

describe('Slack API stand-in', () => {
  it('posts, updates and threads a valid message', async () => {
    const posted = await call('chat.postMessage', { channel: '#a', text: 'hi', blocks: [section('hi')] });
    expect(posted.body).toMatchObject({ ok: true, channel: expect.stringMatching(/^C/), ts: expect.any(String) });
    expect((await call('chat.update', { channel: posted.body['channel'], ts: posted.body['ts'], text: 'edited' })).body['ok']).toBe(true);
    expect((await call('chat.postMessage', { channel: posted.body['channel'], thread_ts: posted.body['ts'], text: 'reply' })).body['ok']).toBe(true);
    expect(slack.messages.get(String(posted.body['ts']))!.versions).toHaveLength(2);
    slack.assertNoViolations();
  });

  it.each([
    ['an unknown method', 'chat.postMesage', { channel: '#a', text: 'x' }, /unknown method chat.postMesage/],
    ['a missing channel', 'chat.postMessage', { text: 'x' }, /channel is required/],
    ['a missing text', 'chat.postMessage', { channel: '#a', blocks: [section('x')] }, /text is required/],
    ['51 blocks', 'chat.postMessage', { channel: '#a', text: 'x', blocks: Array.from({ length: 51 }, () => section('x')) }, /51 blocks/],
    ['a section of 3,001 characters', 'chat.postMessage', { channel: '#a', text: 'x', blocks: [section('x'.repeat(3001))] }, /3001 characters/],
    ['a button text of 76 characters', 'chat.postMessage', { channel: '#a', text: 'x', blocks: [{ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'b'.repeat(76) }, action_id: 'a' }] }] }, /button text/],
    ['an update of an unknown ts', 'chat.update', { channel: 'C00000001', ts: '1.2', text: 'x' }, /no message 1.2/],
  ])('records %s as a violation', async (_, method, body, violation) => {
    await call(method, body);
    expect(() => slack.assertNoViolations()).toThrow(violation);
    slack.violations.length = 0;
  });

  it('refuses a wrong token, answers failNext with 429 and Retry-After', async () => {
    expect((await call('chat.postMessage', { channel: '#a', text: 'x' }, 'xoxb-wrong')).body['error']).toBe('invalid_auth');
    slack.violations.length = 0;
    slack.failNext('chat.postMessage', { status: 429, retryAfterS: 3 });
    const response = await fetch(`${slack.apiUrl}chat.postMessage`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer xoxb-t' }, body: JSON.stringify({ channel: '#a', text: 'x' }) });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('3');
    await response.arrayBuffer();
  });
});
