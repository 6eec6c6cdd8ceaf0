/**
 * What dfm did on GitHub, as a person would see it: check runs (with the annotations GitHub
 * appends on each update), issue comments (created and edited), commit statuses, reactions;
 * and what GitHub knows that dfm asks about (collaborator permissions, pull requests). Installs
 * stateful handlers on the strict stand-in (github-api-stand-in.ts), which keeps validating every
 * request against the OpenAPI description first.
 *
 * `failNext(operationId, count, result)` makes the next `count` requests of an operation answer
 * `result` (a 500, a 403 with retry-after …) before the state handler runs again.
 */
import type { GitHubStandIn, HandlerInput, HandlerResult } from './github-api-stand-in.js';

export interface CheckRunState {
  id: number;
  repository: string;
  name: string;
  headSha: string;
  status: string;
  conclusion: string | null;
  title: string | null;
  summary: string | null;
  text: string | null;
  detailsUrl: string | null;
  annotations: Record<string, unknown>[];
  /** Every create/update body, in order. */
  requests: Record<string, unknown>[];
}

export interface CommentState {
  id: number;
  repository: string;
  issueNumber: number;
  body: string;
  edits: number;
  user: { login: string; type: string };
}

export interface StatusState {
  repository: string;
  sha: string;
  state: string;
  context: string;
  description: string | null;
  targetUrl: string | null;
  at: number;
}

export interface PullState {
  number: number;
  headSha: string;
  headRef: string;
  headRepository: string;
  baseSha: string;
  baseRef: string;
}

export interface GitHubState {
  readonly checkRuns: CheckRunState[];
  readonly comments: CommentState[];
  readonly statuses: StatusState[];
  readonly reactions: { repository: string; commentId: number; content: string }[];
  /** login → permission (`admin`, `write`, `read`, `none`); unknown logins have `none`. */
  readonly permissions: Map<string, string>;
  readonly pulls: Map<string, PullState>;
  /** The next `count` requests of the operation (that `when` accepts) answer `result`. */
  failNext(operationId: string, count: number, result: HandlerResult, when?: (input: HandlerInput) => boolean): void;
  checkRunsFor(headSha: string): CheckRunState[];
  commentsOn(issueNumber: number): CommentState[];
}

const repoOf = (input: HandlerInput) => `${input.params['owner']}/${input.params['repo']}`;

export function trackGitHubState(standIn: GitHubStandIn, options: { appSlug?: string } = {}): GitHubState {
  let nextId = 1000;
  const bot = { login: `${options.appSlug ?? 'dfm'}[bot]`, type: 'Bot' };
  const failures = new Map<string, { count: number; result: HandlerResult; when: ((input: HandlerInput) => boolean) | undefined }[]>();
  const state: GitHubState = {
    checkRuns: [],
    comments: [],
    statuses: [],
    reactions: [],
    permissions: new Map(),
    pulls: new Map(),
    failNext(operationId, count, result, when) {
      const queue = failures.get(operationId) ?? [];
      queue.push({ count, result, when });
      failures.set(operationId, queue);
    },
    checkRunsFor: (headSha) => state.checkRuns.filter((c) => c.headSha === headSha),
    commentsOn: (issueNumber) => state.comments.filter((c) => c.issueNumber === issueNumber),
  };
  const handle = (operationId: string, handler: (input: HandlerInput) => HandlerResult) => {
    standIn.on(operationId, (input) => {
      const queue = failures.get(operationId) ?? [];
      const failure = queue.find((f) => f.when === undefined || f.when(input));
      if (failure !== undefined) {
        failure.count -= 1;
        if (failure.count <= 0) queue.splice(queue.indexOf(failure), 1);
        return failure.result;
      }
      return handler(input);
    });
  };
  const checkRunBody = (run: CheckRunState) => ({
    id: run.id,
    head_sha: run.headSha,
    name: run.name,
    status: run.status,
    conclusion: run.conclusion,
    details_url: run.detailsUrl,
    output: { title: run.title, summary: run.summary, text: run.text, annotations_count: run.annotations.length },
  });
  const applyCheckRun = (run: CheckRunState, body: Record<string, unknown>) => {
    run.requests.push(body);
    if (typeof body['status'] === 'string') run.status = body['status'];
    if (typeof body['conclusion'] === 'string') {
      run.conclusion = body['conclusion'];
      run.status = 'completed';
    }
    if (typeof body['details_url'] === 'string') run.detailsUrl = body['details_url'];
    const output = body['output'] as { title?: string; summary?: string; text?: string; annotations?: Record<string, unknown>[] } | undefined;
    if (output !== undefined) {
      run.title = output.title ?? run.title;
      run.summary = output.summary ?? run.summary;
      run.text = output.text ?? run.text;
      run.annotations.push(...(output.annotations ?? []));
    }
  };

  handle('checks/create', (input) => {
    const body = input.body as Record<string, unknown>;
    const run: CheckRunState = { id: ++nextId, repository: repoOf(input), name: String(body['name']), headSha: String(body['head_sha']), status: 'queued', conclusion: null, title: null, summary: null, text: null, detailsUrl: null, annotations: [], requests: [] };
    applyCheckRun(run, body);
    state.checkRuns.push(run);
    return { status: 201, body: checkRunBody(run) };
  });
  handle('checks/update', (input) => {
    const run = state.checkRuns.find((c) => c.id === Number(input.params['check_run_id']));
    if (run === undefined) return { status: 404, body: { message: 'Not Found' } };
    applyCheckRun(run, input.body as Record<string, unknown>);
    return { status: 200, body: checkRunBody(run) };
  });
  const commentBody = (c: CommentState) => ({ id: c.id, body: c.body, user: c.user, html_url: `https://github.com/${c.repository}/pull/${c.issueNumber}#issuecomment-${c.id}` });
  handle('issues/create-comment', (input) => {
    const comment: CommentState = { id: ++nextId, repository: repoOf(input), issueNumber: Number(input.params['issue_number']), body: String((input.body as { body: string }).body), edits: 0, user: bot };
    state.comments.push(comment);
    return { status: 201, body: commentBody(comment) };
  });
  handle('issues/update-comment', (input) => {
    const comment = state.comments.find((c) => c.id === Number(input.params['comment_id']));
    if (comment === undefined) return { status: 404, body: { message: 'Not Found' } };
    comment.body = String((input.body as { body: string }).body);
    comment.edits += 1;
    return { status: 200, body: commentBody(comment) };
  });
  handle('issues/list-comments', (input) => {
    const all = state.comments.filter((c) => c.repository === repoOf(input) && c.issueNumber === Number(input.params['issue_number']));
    const perPage = Number(input.query['per_page'] ?? 30);
    const page = Number(input.query['page'] ?? 1);
    return { status: 200, body: all.slice((page - 1) * perPage, page * perPage).map(commentBody) };
  });
  handle('repos/create-commit-status', (input) => {
    const body = input.body as { state: string; context?: string; description?: string; target_url?: string };
    state.statuses.push({ repository: repoOf(input), sha: String(input.params['sha']), state: body.state, context: body.context ?? 'default', description: body.description ?? null, targetUrl: body.target_url ?? null, at: Date.now() });
    return { status: 201, body: { id: ++nextId, state: body.state, context: body.context ?? 'default' } };
  });
  handle('reactions/create-for-issue-comment', (input) => {
    const content = String((input.body as { content: string }).content);
    state.reactions.push({ repository: repoOf(input), commentId: Number(input.params['comment_id']), content });
    return { status: 201, body: { id: ++nextId, content } };
  });
  handle('repos/get-collaborator-permission-level', (input) => {
    const permission = state.permissions.get(String(input.params['username'])) ?? 'none';
    return { status: 200, body: { permission, role_name: permission, user: { login: input.params['username'] } } };
  });
  handle('pulls/get', (input) => {
    const pull = state.pulls.get(`${repoOf(input)}#${input.params['pull_number']}`);
    if (pull === undefined) return { status: 404, body: { message: 'Not Found' } };
    return {
      status: 200,
      body: {
        number: pull.number,
        head: { sha: pull.headSha, ref: pull.headRef, repo: { full_name: pull.headRepository } },
        base: { sha: pull.baseSha, ref: pull.baseRef, repo: { full_name: repoOf(input), clone_url: `https://github.com/${repoOf(input)}.git` } },
      },
    };
  });
  return state;
}
