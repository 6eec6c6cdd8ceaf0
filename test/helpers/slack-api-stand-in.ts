/**
 * A strict local stand-in for the Slack Web API and for `response_url`, on 127.0.0.1 (SLACK_API_URL
 * = `<url>/api/`). It records `chat.postMessage`, `chat.update` and each response_url post, keeps
 * the messages of each channel (so a test reads what users see), and records a violation — which
 * `assertNoViolations()` turns into a failed test — for anything Slack would refuse: an unknown
 * method, a missing token, channel, ts or text, a message over 50 blocks, a section over 3,000
 * characters, a button over its limits, a thread reply to a message that does not exist, a sixth
 * use of a response_url. Slack's limits: https://api.slack.com/reference/block-kit/blocks.
 *
 * `failNext(method, answer)` makes the next calls of a method answer as given (a 429 with
 * `Retry-After`, a 500), to test what dfm does with them.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedSlackCall {
  readonly method: string;
  readonly body: Record<string, unknown>;
  readonly at: number;
  /** The HTTP status the stand-in answered. */
  readonly status: number;
}

export interface SlackMessageState {
  readonly channel: string;
  readonly ts: string;
  threadTs?: string;
  /** The message as last posted or updated. */
  current: Record<string, unknown>;
  /** Every version, oldest first. */
  readonly versions: Record<string, unknown>[];
}

export interface SlackStandIn {
  readonly url: string;
  readonly apiUrl: string;
  readonly token: string;
  readonly calls: RecordedSlackCall[];
  readonly violations: string[];
  /** Messages by ts, in post order (thread replies included, with threadTs). */
  readonly messages: Map<string, SlackMessageState>;
  /** A response_url for a command or action payload; its posts are recorded under its id. */
  responseUrl(): { url: string; id: string };
  responses(id: string): Record<string, unknown>[];
  failNext(method: string, ...answers: { status: number; retryAfterS?: number }[]): void;
  /** Holds the answers of the next response_url post until released (none held by default). */
  assertNoViolations(): void;
  close(): Promise<void>;
}

const KNOWN_METHODS = new Set(['chat.postMessage', 'chat.update']);
const CHANNEL_IDS: Record<string, string> = {};

export async function startSlackStandIn(options: { token: string }): Promise<SlackStandIn> {
  const calls: RecordedSlackCall[] = [];
  const violations: string[] = [];
  const messages = new Map<string, SlackMessageState>();
  const responsePosts = new Map<string, Record<string, unknown>[]>();
  const failures = new Map<string, { status: number; retryAfterS?: number }[]>();
  let tsCounter = 0;
  let responseCounter = 0;

  const server: Server = createServer((req, res) => {
    void readBody(req).then((raw) => {
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
      };
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      let body: Record<string, unknown>;
      try {
        body = raw.length === 0 ? {} : (JSON.parse(raw) as Record<string, unknown>);
      } catch {
        violations.push(`${url.pathname}: the body is not JSON`);
        send(400, { ok: false, error: 'invalid_json' });
        return;
      }
      const response = /^\/response\/([\w-]+)$/.exec(url.pathname);
      if (response) {
        const id = response[1]!;
        const posts = responsePosts.get(id) ?? [];
        posts.push(body);
        responsePosts.set(id, posts);
        calls.push({ method: `response_url:${id}`, body, at: Date.now(), status: 200 });
        if (posts.length > 5) violations.push(`response_url ${id} used ${posts.length} times (Slack allows 5)`);
        checkMessage(`response_url ${id}`, body, violations);
        send(200, { ok: true });
        return;
      }
      const api = /^\/api\/([\w.]+)$/.exec(url.pathname);
      const method = api?.[1] ?? url.pathname;
      if (!api || !KNOWN_METHODS.has(method)) {
        violations.push(`unknown method ${method}`);
        calls.push({ method, body, at: Date.now(), status: 404 });
        send(404, { ok: false, error: 'unknown_method' });
        return;
      }
      if (req.headers.authorization !== `Bearer ${options.token}`) {
        violations.push(`${method}: missing or wrong bot token`);
        send(200, { ok: false, error: 'invalid_auth' });
        return;
      }
      const failure = failures.get(method)?.shift();
      if (failure) {
        calls.push({ method, body, at: Date.now(), status: failure.status });
        send(failure.status, { ok: false, error: failure.status === 429 ? 'ratelimited' : 'internal_error' }, failure.retryAfterS === undefined ? {} : { 'retry-after': String(failure.retryAfterS) });
        return;
      }
      calls.push({ method, body, at: Date.now(), status: 200 });
      const problems = checkMessage(method, body, violations);
      if (typeof body['channel'] !== 'string' || body['channel'] === '') {
        violations.push(`${method}: channel is required`);
        send(200, { ok: false, error: 'channel_not_found' });
        return;
      }
      if (problems > 0) {
        send(200, { ok: false, error: 'invalid_blocks' });
        return;
      }
      const channelId = channelIdOf(body['channel']);
      if (method === 'chat.postMessage') {
        const threadTs = body['thread_ts'];
        if (threadTs !== undefined && !messages.has(String(threadTs))) {
          violations.push(`chat.postMessage: thread_ts ${String(threadTs)} is no message`);
          send(200, { ok: false, error: 'thread_not_found' });
          return;
        }
        const ts = `1700000000.${String(++tsCounter).padStart(6, '0')}`;
        messages.set(ts, { channel: channelId, ts, ...(threadTs === undefined ? {} : { threadTs: String(threadTs) }), current: body, versions: [body] });
        send(200, { ok: true, channel: channelId, ts, message: { ts } });
        return;
      }
      const ts = body['ts'];
      const message = typeof ts === 'string' ? messages.get(ts) : undefined;
      if (!message || message.channel !== body['channel']) {
        violations.push(`chat.update: no message ${String(ts)} in channel ${String(body['channel'])} (chat.update needs the channel id and ts chat.postMessage answered)`);
        send(200, { ok: false, error: 'message_not_found' });
        return;
      }
      message.current = body;
      message.versions.push(body);
      send(200, { ok: true, channel: channelId, ts });
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    apiUrl: `${url}/api/`,
    token: options.token,
    calls,
    violations,
    messages,
    responseUrl() {
      const id = `r${++responseCounter}`;
      return { url: `${url}/response/${id}`, id };
    },
    responses: (id) => responsePosts.get(id) ?? [],
    failNext(method, ...answers) {
      failures.set(method, [...(failures.get(method) ?? []), ...answers]);
    },
    assertNoViolations() {
      if (violations.length > 0) throw new Error(`${violations.length} request(s) to the Slack stand-in Slack would have refused:\n${violations.map((v) => `  - ${v}`).join('\n')}`);
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Channel names resolve to stable ids, as Slack answers with the id. */
function channelIdOf(channel: string): string {
  if (/^[CGD][A-Z0-9]{6,}$/.test(channel)) return channel;
  CHANNEL_IDS[channel] ??= `C${String(Object.keys(CHANNEL_IDS).length + 1).padStart(8, '0')}`;
  return CHANNEL_IDS[channel];
}

/** Slack's message limits; each problem is a violation. Returns how many were found. */
function checkMessage(where: string, body: Record<string, unknown>, violations: string[]): number {
  const before = violations.length;
  const add = (problem: string) => violations.push(`${where}: ${problem}`);
  const blocks = (body['blocks'] as unknown[] | undefined) ?? [];
  const attachments = (body['attachments'] as { blocks?: unknown[]; color?: unknown }[] | undefined) ?? [];
  if (typeof body['text'] !== 'string' || body['text'] === '') {
    if (blocks.length === 0 && attachments.length === 0) add('text (or blocks) is required');
    else add('text is required as the notification fallback when blocks are sent');
  }
  if (typeof body['text'] === 'string' && body['text'].length > 40_000) add('text over 40,000 characters');
  const allBlocks = [...blocks, ...attachments.flatMap((a) => a.blocks ?? [])];
  if (blocks.length > 50) add(`${blocks.length} blocks (Slack allows 50)`);
  if (allBlocks.length > 50) add(`${allBlocks.length} blocks with the attachments' (Slack allows 50)`);
  for (const a of attachments) if (a.color !== undefined && !/^#[0-9a-f]{6}$|^(good|warning|danger)$/i.test(String(a.color))) add(`attachment color ${String(a.color)}`);
  for (const [i, raw] of allBlocks.entries()) {
    const block = raw as Record<string, unknown>;
    if (typeof block['block_id'] === 'string' && block['block_id'].length > 255) add(`block ${i}: block_id over 255`);
    switch (block['type']) {
      case 'section': {
        const text = block['text'] as { type?: string; text?: string } | undefined;
        if (!text || typeof text.text !== 'string' || text.text.length === 0) add(`block ${i}: a section needs text`);
        else if (text.text.length > 3000) add(`block ${i}: section text of ${text.text.length} characters (Slack allows 3,000)`);
        if (text && text.type !== 'mrkdwn' && text.type !== 'plain_text') add(`block ${i}: text type ${String(text.type)}`);
        break;
      }
      case 'context': {
        const elements = (block['elements'] as { type?: string; text?: string }[] | undefined) ?? [];
        if (elements.length === 0 || elements.length > 10) add(`block ${i}: a context needs 1 to 10 elements`);
        for (const e of elements) if (typeof e.text !== 'string' || e.text.length === 0 || e.text.length > 3000) add(`block ${i}: context text empty or over 3,000`);
        break;
      }
      case 'actions': {
        const elements = (block['elements'] as Record<string, unknown>[] | undefined) ?? [];
        if (elements.length === 0 || elements.length > 25) add(`block ${i}: actions need 1 to 25 elements`);
        for (const e of elements) {
          const text = (e['text'] as { type?: string; text?: string } | undefined)?.text ?? '';
          if (e['type'] !== 'button') add(`block ${i}: element type ${String(e['type'])} not expected here`);
          if ((e['text'] as { type?: string } | undefined)?.type !== 'plain_text' || text.length === 0 || text.length > 75) add(`block ${i}: button text must be plain_text of 1 to 75 characters`);
          if (typeof e['action_id'] === 'string' && e['action_id'].length > 255) add(`block ${i}: action_id over 255`);
          if (typeof e['value'] === 'string' && e['value'].length > 2000) add(`block ${i}: value over 2,000`);
          if (typeof e['url'] === 'string' && (e['url'].length > 3000 || !URL.canParse(e['url']))) add(`block ${i}: url invalid or over 3,000`);
          if (e['style'] !== undefined && e['style'] !== 'primary' && e['style'] !== 'danger') add(`block ${i}: style ${String(e['style'])}`);
        }
        break;
      }
      case 'header':
      case 'divider':
        break;
      default:
        add(`block ${i}: unexpected block type ${String(block['type'])}`);
    }
  }
  return violations.length - before;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
