/**
 * Slack end to end on loopback (issue 16): dfm in-process with the slack and reporter roles, the
 * strict Slack stand-in (test/helpers/slack-api-stand-in.ts) as SLACK_API_URL and response_url,
 * and requests signed exactly as Slack signs them (`v0:<timestamp>:<raw body>`, HMAC SHA-256).
 */
import { createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { parseSlackAllow, type SlackAllowRule } from '../../src/config/parse-slack-allow.js';
import { answerSlackCommand } from '../../src/slack/answer-slack-command.js';
import { serviceRoles } from '../../src/service/service-roles.js';
import { startService, type RunningService } from '../../src/service/start-service.js';
import { eventually, writePipelines } from '../helpers/dfm-process.js';
import { testLogger, useOrchestration, waitForRun } from '../helpers/orchestration.js';
import { startSlackStandIn, type SlackMessageState, type SlackStandIn } from '../helpers/slack-api-stand-in.js';

const SIGNING_SECRET = 'a signing secret for the Slack tests';
const TEAM = 'T0DFM1';
const ALICE = { id: 'U0ALICE', name: 'alice' };
const { o, database } = useOrchestration();
let slack: SlackStandIn;
let service: RunningService;
let base: string;
let pipelines: { dir: string; remove(): void };

const PIPELINES = {
  'orders.yaml': 'id: orders\nparams:\n  note: { type: string, default: "" }\n  cmd: { type: string, default: "" }\ntasks:\n  only: { type: postgres.sql, sql: "select 1" }\n',
  // Fails while public.flaky_gate is empty: division by zero.
  'flaky.yaml': 'id: flaky\nnotify: { slack: "#data-alerts", on: [start, failure, recovery] }\ndefaults: { retries: 0 }\ntasks:\n  first: { type: postgres.sql, sql: "select 1" }\n  divide: { type: postgres.sql, needs: [first], sql: "select 1 / (select count(*)::int from public.flaky_gate)" }\n',
  'stepwise.yaml': 'id: stepwise\nnotify: { on: [start] }\ntasks:\n  first: { type: postgres.sql, sql: "select 1" }\n  slow: { type: postgres.sql, needs: [first], sql: "select pg_sleep(1.5)" }\n',
  'sleepy.yaml': 'id: sleepy\nnotify: { slack: "#data-alerts", on: [start] }\ntasks:\n  nap: { type: postgres.sql, sql: "select pg_sleep(30)" }\n',
  'nightly.yaml': 'id: nightly\nschedule: "30 2 * * *"\ntimezone: Europe/Paris\ncatchup: none\ntasks:\n  only: { type: postgres.sql, sql: "select 1" }\n',
  'announced.yaml': 'id: announced\nnotify: { on: [start, success] }\ntasks:\n  only: { type: postgres.sql, sql: "select 1" }\n',
};

function sign(body: string, timestampS = Math.floor(Date.now() / 1000), version = 'v0'): Record<string, string> {
  const signature = createHmac('sha256', SIGNING_SECRET).update(`${version}:${timestampS}:${body}`).digest('hex');
  return { 'x-slack-request-timestamp': String(timestampS), 'x-slack-signature': `${version}=${signature}` };
}

function commandBody(text: string, who: { team?: string; id: string; name: string }, responseUrl: string): string {
  return new URLSearchParams({
    token: 'deprecated-verification-token', team_id: who.team ?? TEAM, team_domain: 'acme', channel_id: 'C0GENERAL', channel_name: 'general',
    user_id: who.id, user_name: who.name, command: '/dfm', text, api_app_id: 'A0DFM', is_enterprise_install: 'false',
    response_url: responseUrl, trigger_id: '1.2.3',
  }).toString();
}

async function post(body: string, headers: Record<string, string>): Promise<{ status: number; text: string; ms: number }> {
  const began = performance.now();
  const response = await fetch(`${base}/api/slack/events`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
  const text = await response.text();
  return { status: response.status, text, ms: performance.now() - began };
}

/** `/dfm <text>` as `who`; resolves with the acknowledgement and the response_url id. */
async function command(text: string, who: { team?: string; id: string; name: string } = ALICE) {
  const response = slack.responseUrl();
  const body = commandBody(text, who, response.url);
  const ack = await post(body, sign(body));
  return { ack, responseId: response.id };
}

const answerOf = async (responseId: string, timeoutMs = 15_000) => eventually(async () => slack.responses(responseId)[0], timeoutMs, `the answer on response_url ${responseId}`);
const textOf = (answer: Record<string, unknown>) => ((answer['blocks'] as { text: { text: string } }[] | undefined) ?? []).map((b) => b.text.text).join('\n');
/** Presses a button of a run's message as `who`, signed as Slack signs interactive payloads. */
async function pressButton(actionId: string, runId: number, message: SlackMessageState, who: { team?: string; id: string; name: string } = ALICE) {
  const response = slack.responseUrl();
  const team = who.team ?? TEAM;
  const payload = {
    type: 'block_actions', team: { id: team, domain: 'acme' }, user: { id: who.id, username: who.name, name: who.name, team_id: team },
    api_app_id: 'A0DFM', token: 'deprecated-verification-token', trigger_id: '4.5.6', response_url: response.url,
    container: { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: false },
    channel: { id: message.channel, name: 'data-alerts' }, message: { ts: message.ts, text: 'run', type: 'message' },
    actions: [{ action_id: actionId, block_id: `run:${runId}`, text: { type: 'plain_text', text: actionId }, value: String(runId), type: 'button', action_ts: '1700000000.1' }],
  };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const ack = await post(body, sign(body));
  return { ack, responseId: response.id };
}

const runCount = async () => Number((await o.pool.query('select count(*) from dfm.run')).rows[0].count);
const topLevelMessages = () => [...slack.messages.values()].filter((m) => m.threadTs === undefined);
const messageOfRun = (runId: number): SlackMessageState | undefined => topLevelMessages().find((m) => JSON.stringify(m.current).includes(`/runs/${runId}|`));
/** Runs of the same value as one: ['a', 'a', 'b'] → ['a', 'b']. */
const collapse = (values: string[]) => values.filter((v, i) => i === 0 || v !== values[i - 1]);
const colorOf = (body: Record<string, unknown>) => (body['attachments'] as { color: string }[])[0]!.color;

beforeAll(async () => {
  slack = await startSlackStandIn({ token: 'xoxb-test-token' });
  pipelines = writePipelines(PIPELINES);
  await o.pool.query('create table public.flaky_gate (x int)');
  const config = loadConfig({
    DATABASE_URL: database.url,
    KAFKA_BROKERS: inject('kafkaBrokers').join(','),
    PORT: '0',
    HOST: '127.0.0.1',
    SLACK_BOT_TOKEN: slack.token,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    DFM_SLACK_DEFAULT_CHANNEL: '#dfm-runs',
    DFM_SLACK_ALLOW: `${TEAM}/${ALICE.id}=*`,
    DFM_PUBLIC_URL: 'https://dfm.example.com',
    DFM_PIPELINES_DIR: pipelines.dir,
    DFM_PIPELINES_WATCH: 'false',
    DFM_SYNC_INTERVAL_MS: '0',
    DFM_POLL_INTERVAL_MS: '300',
    DFM_OUTBOX_RETRY_BASE_MS: '200',
  });
  service = await startService({ config, logger: testLogger, role: 'all', roles: serviceRoles });
  base = `http://127.0.0.1:${service.port}`;
});
afterAll(async () => {
  await service?.stop();
  await slack?.close();
  pipelines?.remove();
});
afterEach(() => slack.assertNoViolations());

describe('Slack request signatures', () => {
  const now = () => Math.floor(Date.now() / 1000);
  it.each([
    ['a bad signature', (body: string) => ({ ...sign(body), 'x-slack-signature': `v0=${'ab'.repeat(32)}` })],
    ['an unknown version (v1=, signed over v1:…)', (body: string) => sign(body, now(), 'v1')],
    ['a timestamp 6 minutes old', (body: string) => sign(body, now() - 360)],
    ['a timestamp 6 minutes in the future', (body: string) => sign(body, now() + 360)],
    ['no signature', (body: string) => ({ 'x-slack-request-timestamp': String(now()) })],
  ])('refuses %s with 401, an empty body, and runs nothing', async (_, headersFor) => {
    const runs = await runCount();
    const response = slack.responseUrl();
    const body = commandBody('run orders', ALICE, response.url);
    const result = await post(body, headersFor(body));
    expect(result.status).toBe(401);
    expect(result.text).toBe('');
    await new Promise((r) => setTimeout(r, 300));
    expect(slack.responses(response.id)).toEqual([]);
    expect(await runCount()).toBe(runs);
    expect((await o.pool.query("select count(*)::int as n from dfm.audit where via = 'slack'")).rows[0].n).toBe(0);
  });

  it('answers a signed /dfm help through response_url', async () => {
    const { ack, responseId } = await command('help');
    expect(ack.status).toBe(200);
    expect(textOf(await answerOf(responseId))).toContain('/dfm run &lt;pipeline&gt;');
  });
});

describe('/dfm authorization', () => {
  it.each<[string, { team?: string; id: string; name: string }]>([
    ['the same user_name as an allowed user', { id: 'U0MALLORY', name: ALICE.name }],
    ['the allowed user id from another team', { team: 'T0OTHER', id: ALICE.id, name: ALICE.name }],
  ])('refuses %s, audits it, runs nothing', async (_, who) => {
    const runs = await runCount();
    const { ack, responseId } = await command('run orders', who);
    expect(ack.status).toBe(200);
    expect(textOf(await answerOf(responseId))).toContain('You may not run *orders*');
    expect(await runCount()).toBe(runs);
    const { rows } = await o.pool.query("select actor, action, target, outcome from dfm.audit where actor = $1 order by id desc limit 1", [`slack:${who.team ?? TEAM}/${who.id}`]);
    expect(rows).toEqual([{ actor: `slack:${who.team ?? TEAM}/${who.id}`, action: 'run', target: 'orders', outcome: 'refused' }]);
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^dfm_slack_commands_total\{command="run",outcome="refused"\} [1-9]/m);
  });

  it('lets anyone read: /dfm list and a did-you-mean for an unknown pipeline', async () => {
    const list = await command('list', { id: 'U0VISITOR', name: 'visitor' });
    const listed = textOf(await answerOf(list.responseId));
    expect(listed).toMatch(/\*flaky\* manual/);
    expect(listed).toMatch(/\*nightly\* daily at 02:30 Europe\/Paris · next \d{4}-\d\d-\d\d \d\d:30 UTC/);
    const typo = await command('status ordrs', { id: 'U0VISITOR', name: 'visitor' });
    expect(textOf(await answerOf(typo.responseId))).toContain('Did you mean "orders"?');
  });
});

describe('/dfm run', () => {
  it('acknowledges within 3 s while run creation is held up, then answers through response_url', async () => {
    const lock = await o.pool.connect();
    try {
      await lock.query('begin');
      await lock.query('lock table dfm.run in exclusive mode');
      const { ack, responseId } = await command('run orders');
      expect(ack.status).toBe(200);
      expect(ack.ms).toBeLessThan(3000);
      await new Promise((r) => setTimeout(r, 3500));
      expect(slack.responses(responseId)).toEqual([]);
      await lock.query('commit');
      const answer = await answerOf(responseId);
      expect(answer['response_type']).toBe('in_channel');
      expect(textOf(answer)).toMatch(/Started <https:\/\/dfm\.example\.com\/runs\/\d+\|run #\d+> of \*orders\*/);
    } finally {
      lock.release();
    }
  });

  it("keeps x'); drop table dfm.run;-- and $(rm -rf /) as data", async () => {
    const { responseId } = await command(`run orders note="x'); drop table dfm.run;--" cmd="$(rm -rf /)"`);
    const text = textOf(await answerOf(responseId));
    expect(text).toContain('with `note`, `cmd`');
    expect(text).not.toContain('rm -rf');
    const runId = Number(/run #(\d+)/.exec(text)![1]);
    const { rows } = await o.pool.query('select params, requested_by from dfm.run where id = $1', [runId]);
    expect(rows[0]).toEqual({ params: { note: "x'); drop table dfm.run;--", cmd: '$(rm -rf /)' }, requested_by: `slack:${TEAM}/${ALICE.id}` });
    expect(await waitForRun(o.pool, runId)).toBe('success');
    const quoted = await command("status x'); drop table dfm.run;--");
    expect(textOf(await answerOf(quoted.responseId))).toContain("The quote ' opened before \"); drop table dfm.ru\" is not closed");
    const shell = await command('status $(rm -rf /)');
    expect(textOf(await answerOf(shell.responseId))).toContain('"$(rm" is neither a run number');
    expect((await o.pool.query("select to_regclass('dfm.run') is not null as present")).rows[0].present).toBe(true);
  });
});

describe('run messages', () => {
  it('posts one message for a failing run, updates it, threads the error; Retry turns the same message green', async () => {
    const { responseId } = await command('run flaky');
    const runId = Number(/run #(\d+)/.exec(textOf(await answerOf(responseId)))![1]);
    expect(await waitForRun(o.pool, runId)).toBe('failed');
    const message = await eventually(async () => {
      const m = messageOfRun(runId);
      return m && colorOf(m.current) === '#e01e5a' ? m : undefined;
    }, 15_000, 'the failed message');
    const thread = await eventually(async () => [...slack.messages.values()].find((m) => m.threadTs === message.ts), 15_000, 'the thread reply');
    expect(JSON.stringify(thread.current)).toContain('division by zero');
    expect(JSON.stringify(thread.current)).toContain('divide');
    // Running (blue) as the tasks progress, then failed (red): never running again after the end.
    expect(collapse(message.versions.map(colorOf))).toEqual(['#1d9bd1', '#e01e5a']);
    expect(JSON.stringify(message.current)).toContain('dfm_retry');

    await o.pool.query('insert into public.flaky_gate values (1)');
    const { ack, responseId: retryAnswer } = await pressButton('dfm_retry', runId, message);
    expect(ack.status).toBe(200);
    expect(textOf(await answerOf(retryAnswer))).toContain('Retrying `divide`');
    expect(await eventually(async () => ((await o.pool.query('select state from dfm.run where id = $1', [runId])).rows[0].state === 'success' ? true : undefined), 30_000, 'the retried run')).toBe(true);
    await eventually(async () => (colorOf(message.current) === '#2eb67d' ? true : undefined), 15_000, 'the green message');
    expect(topLevelMessages().filter((m) => JSON.stringify(m.current).includes(`/runs/${runId}|`))).toHaveLength(1);
    const { rows } = await o.pool.query("select action, target, outcome from dfm.audit where via = 'slack' and target = $1", [`run:${runId}`]);
    expect(rows).toEqual([{ action: 'retry', target: `run:${runId}`, outcome: 'ok' }]);
  });

  it('Cancel needs the same authorization: refused for another user, then cancels; the message turns grey', async () => {
    const { responseId } = await command('run sleepy');
    const runId = Number(/run #(\d+)/.exec(textOf(await answerOf(responseId)))![1]);
    const message = await eventually(async () => messageOfRun(runId), 15_000, 'the running message');
    expect(JSON.stringify(message.current)).toContain('dfm_cancel');

    const refused = await pressButton('dfm_cancel', runId, message, { id: 'U0MALLORY', name: ALICE.name });
    expect(refused.ack.status).toBe(200);
    expect(textOf(await answerOf(refused.responseId))).toContain('You may not cancel *sleepy*');
    expect((await o.pool.query('select state from dfm.run where id = $1', [runId])).rows[0].state).toBe('running');

    const pressed = await pressButton('dfm_cancel', runId, message);
    expect(textOf(await answerOf(pressed.responseId))).toContain(`Cancelled <https://dfm.example.com/runs/${runId}|run #${runId}>`);
    expect(await waitForRun(o.pool, runId)).toBe('cancelled');
    await eventually(async () => (colorOf(message.current) === '#9ea0a5' ? true : undefined), 15_000, 'the grey message');
    expect(JSON.stringify(message.current)).toContain('dfm_retry');
    const { rows } = await o.pool.query("select actor, action, outcome from dfm.audit where via = 'slack' and target = $1 order by id", [`run:${runId}`]);
    expect(rows).toEqual([
      { actor: `slack:${TEAM}/U0MALLORY`, action: 'cancel', outcome: 'refused' },
      { actor: `slack:${TEAM}/${ALICE.id}`, action: 'cancel', outcome: 'ok' },
    ]);
  });

  it('updates the message as tasks progress', async () => {
    const { responseId } = await command('run stepwise');
    const runId = Number(/run #(\d+)/.exec(textOf(await answerOf(responseId)))![1]);
    expect(await waitForRun(o.pool, runId)).toBe('success');
    const message = await eventually(async () => {
      const m = messageOfRun(runId);
      return m && colorOf(m.current) === '#2eb67d' ? m : undefined;
    }, 15_000, 'the finished message');
    const lines = message.versions.map((v) => (v['attachments'] as { blocks: { text?: { text: string } }[] }[])[0]!.blocks[0]!.text!.text.split('\n')[1]);
    expect(lines).toContain('✓ first  ▶ slow');
    expect(lines.at(-1)).toBe('✓ first  ✓ slow');
    expect(JSON.stringify(message.current)).toMatch(/manual by slack:T0DFM1\/U0ALICE · \d/);
  });

  it('waits out a 429 retry-after and delivers every update in order', async () => {
    slack.failNext('chat.postMessage', { status: 429, retryAfterS: 1 });
    slack.failNext('chat.update', { status: 429, retryAfterS: 1 });
    const { responseId } = await command('run announced');
    const runId = Number(/run #(\d+)/.exec(textOf(await answerOf(responseId)))![1]);
    expect(await waitForRun(o.pool, runId)).toBe('success');
    const message = await eventually(async () => {
      const m = messageOfRun(runId);
      return m && colorOf(m.current) === '#2eb67d' ? m : undefined;
    }, 20_000, 'the posted and updated message');
    expect(collapse(message.versions.map(colorOf))).toEqual(['#1d9bd1', '#2eb67d']);
    expect(message.channel).toMatch(/^C/);
    const calls = slack.calls.filter((c) => c.method.startsWith('chat.') && JSON.stringify(c.body).includes(`/runs/${runId}|`));
    expect(calls.map((c) => `${c.method} ${c.status}`).slice(0, 4)).toEqual(['chat.postMessage 429', 'chat.postMessage 200', 'chat.update 429', 'chat.update 200']);
    expect(calls.slice(4).every((c) => c.method === 'chat.update' && c.status === 200)).toBe(true);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(950);
    expect(calls[3]!.at - calls[2]!.at).toBeGreaterThanOrEqual(950);
    // The pipeline names no channel: DFM_SLACK_DEFAULT_CHANNEL.
    expect(calls[1]!.body['channel']).toBe('#dfm-runs');
  });
});

describe('DFM_SLACK_READ=allowed', () => {
  // Last in the file: the runs of the tests above exist.
  it('limits list, status and logs to the pipelines a read rule names', async () => {
    const allow = (parseSlackAllow(`${TEAM}/${ALICE.id}=read@orders;${TEAM}/*=run`) as { rules: SlackAllowRule[] }).rules;
    const context = { pool: o.pool, allow, read: 'allowed' as const, publicUrl: 'https://dfm.example.com', logger: testLogger };
    const text = async (command: string, user = ALICE.id) => (await answerSlackCommand(context, { team: TEAM, user }, command)).blocks.map((b) => b.text.text).join('\n');
    expect(await text('list')).toMatch(/^\*1 pipeline\*\n\*orders\* manual/);
    expect(await text('status orders')).toContain('*orders*');
    expect(await text('status flaky')).toContain('You may not read *flaky*');
    expect(await text('list', 'U0VISITOR')).toContain('No pipeline you may read');
    const { rows } = await o.pool.query<{ id: string }>("select id from dfm.run where pipeline_id = 'flaky' limit 1");
    expect(await text(`logs ${rows[0]!.id}`)).toContain('You may not read *flaky*');
    expect(await text('status 999999', 'U0VISITOR')).toContain('You may not read runs');
  });
});
