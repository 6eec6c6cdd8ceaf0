/**
 * The review of one pull-request head (issue 15): a check run `dfm` created in progress at once,
 * then completed with every diagnostic of the head as an annotation (50 per request: the rest in
 * further updates) and the plan of base vs head as its summary; the one plan comment updated in
 * place. Everything outbound goes through the outbox, in the transactions that decide it.
 *
 * Heads race (two pushes in a second, a webhook redelivered late): `seq` (the id of the job that
 * asked, i.e. arrival order) decides which head is the PR's newest. A newer head cancels the older
 * ones' check runs (completed as `cancelled`, never left in progress), and a review that finishes
 * after its head was superseded reports nothing more, so the plan comment always shows the newest
 * head. A per-PR transaction lock serializes these decisions.
 *
 * Nothing of a pull request is ever run or synced: its files are only read and validated, with no
 * configuration (connections, secrets) involved, so nothing of that kind can reach an annotation
 * or a comment. A fork's head is fetched from the base repository (`refs/pull/<n>/head`).
 */
import type pg from 'pg';
import type { Config } from '../config/load-config.js';
import { withSessionLock } from '../db/with-session-lock.js';
import { withTransaction, type Queryable } from '../db/with-transaction.js';
import { fetchPullRequest } from '../git/fetch-pull-request.js';
import { readPipelineTree } from '../git/read-pipeline-tree.js';
import type { GitAccess } from '../git/run-git.js';
import { checkRepositoryPath } from '../git/validate-git-input.js';
import { messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { enqueueReports, type NewReport } from '../outbox/enqueue-report.js';
import { planChange } from '../pipeline/plan-change.js';
import type { PipelineFile } from '../pipeline/validate-pipeline-files.js';
import { gitCacheDir } from '../sync/run-sync.js';
import { githubSourceId, loadSyncSource } from '../sync/sync-source.js';
import type { GitHubApp } from './create-github-app.js';
import { CHECK_RUN_REPORT, PR_COMMENT_REPORT, githubTarget, pullRequestLane, type CheckRunPayload } from './deliver-github-reports.js';
import { renderCheckOutput } from './render-check-output.js';
import { renderPrComment } from './render-pr-comment.js';
import { batchAnnotations, toAnnotations } from './to-annotations.js';

export interface ReviewRequest {
  readonly installationId: number;
  readonly repository: string;
  /** The base repository's clone URL (a fork's head is fetched from here too). */
  readonly cloneUrl: string;
  readonly prNumber: number;
  readonly headSha: string;
  readonly baseSha: string;
  readonly baseRef: string;
  readonly fromFork: boolean;
  /** Arrival order of the request (the job id): the larger one is the newer head. */
  readonly seq: number;
  /** A re-run asked for (rerequested, `/dfm plan`): a new check run even when this head was reviewed. */
  readonly rerun: boolean;
  /** `/dfm validate`: the check run only, the plan comment left as it is. */
  readonly checkOnly?: boolean;
}

export interface ReviewDependencies {
  readonly pool: pg.Pool;
  readonly app: GitHubApp;
  readonly config: Config;
  readonly logger: Logger;
  readonly now?: () => Date;
}

export type ReviewOutcome = { outcome: 'completed'; conclusion: string; diagnostics: number; changed: number } | { outcome: 'superseded' | 'duplicate'; reason: string };

export async function reviewPullRequest(deps: ReviewDependencies, request: ReviewRequest): Promise<ReviewOutcome> {
  const log = deps.logger.child({ repository: request.repository, pr: request.prNumber, head: request.headSha.slice(0, 12) });
  const started = await withTransaction(deps.pool, (client) => startReview(client, deps, request));
  if (started !== 'started') return started;

  let result: { conclusion: CheckRunPayload['conclusion'] & string; reports: NewReport[]; diagnostics: number; changed: number };
  try {
    result = await reviewHead(deps, request);
  } catch (error) {
    // A review that cannot be done still ends its check run, with the reason (retryable or not,
    // the job is done: a re-run is one click or `/dfm plan` away).
    log.warn({ err: { message: messageOf(error) } }, 'pull request review failed');
    result = {
      conclusion: 'neutral',
      diagnostics: 0,
      changed: 0,
      reports: [checkRunReport(request, { op: 'update', status: 'completed', conclusion: 'neutral', output: { title: 'dfm could not review this head', summary: `dfm could not read this pull request's pipelines: ${messageOf(error).slice(0, 1000)}\n\nComment \`/dfm plan\` to try again.` } })],
    };
  }
  const finished = await withTransaction(deps.pool, (client) => finishReview(client, request, result.conclusion, result.reports));
  if (!finished) return { outcome: 'superseded', reason: 'a newer head of the pull request was reviewed meanwhile' };
  log.info({ conclusion: result.conclusion, diagnostics: result.diagnostics }, 'pull request reviewed');
  return { outcome: 'completed', conclusion: result.conclusion, diagnostics: result.diagnostics, changed: result.changed };
}

const lockPullRequest = (client: Queryable, request: ReviewRequest) => client.query('select pg_advisory_xact_lock(hashtext($1))', [`dfm.pr:${request.repository}#${request.prNumber}`]);

/** Records the head as the PR's newest, cancels older heads' check runs and creates this one's. */
async function startReview(client: Queryable, deps: ReviewDependencies, request: ReviewRequest): Promise<'started' | ReviewOutcome> {
  await lockPullRequest(client, request);
  const { rows } = await client.query<{ head_sha: string; seq: string; state: string }>('select head_sha, seq, state from dfm.pr_review where repository = $1 and pr_number = $2', [request.repository, request.prNumber]);
  const newer = rows.find((r) => Number(r.seq) > request.seq && r.head_sha !== request.headSha);
  if (newer !== undefined) return { outcome: 'superseded', reason: `head ${newer.head_sha.slice(0, 12)} arrived later` };
  const same = rows.find((r) => r.head_sha === request.headSha);
  if (same !== undefined && !request.rerun && same.state !== 'cancelled') return { outcome: 'duplicate', reason: `head ${request.headSha.slice(0, 12)} is reviewed already (${same.state})` };

  const reports: NewReport[] = [];
  for (const older of rows.filter((r) => r.head_sha !== request.headSha && (r.state === 'in_progress' || r.state === 'queued'))) {
    reports.push(checkRunReport({ ...request, headSha: older.head_sha }, {
      op: 'update',
      status: 'completed',
      conclusion: 'cancelled',
      output: { title: 'Superseded by a newer push', summary: `This head was replaced by ${request.headSha.slice(0, 12)} before its review finished; dfm reviews the newest head only.` },
    }));
  }
  await client.query(
    `update dfm.pr_review set state = 'cancelled', updated_at = now()
      where repository = $1 and pr_number = $2 and head_sha <> $3 and state in ('queued', 'in_progress')`,
    [request.repository, request.prNumber, request.headSha],
  );
  await client.query(
    `insert into dfm.pr_review (repository, pr_number, head_sha, base_sha, seq, state, from_fork) values ($1, $2, $3, $4, $5, 'in_progress', $6)
     on conflict (repository, pr_number, head_sha) do update
       set base_sha = excluded.base_sha, seq = greatest(dfm.pr_review.seq, excluded.seq), state = 'in_progress', conclusion = null,
           check_run_id = null, from_fork = excluded.from_fork, updated_at = now()`,
    [request.repository, request.prNumber, request.headSha, request.baseSha, request.seq, request.fromFork],
  );
  reports.push(checkRunReport(request, { op: 'create', status: 'in_progress', ...(detailsUrl(deps.config) === undefined ? {} : { detailsUrl: detailsUrl(deps.config)! }) }));
  await enqueueReports(client, reports);
  return 'started';
}

/** Completes the review unless a newer head took over meanwhile (then its cancel was sent already). */
async function finishReview(client: Queryable, request: ReviewRequest, conclusion: string, reports: readonly NewReport[]): Promise<boolean> {
  await lockPullRequest(client, request);
  const { rowCount } = await client.query(
    `update dfm.pr_review set state = 'completed', conclusion = $4, updated_at = now()
      where repository = $1 and pr_number = $2 and head_sha = $3 and state = 'in_progress'`,
    [request.repository, request.prNumber, request.headSha, conclusion],
  );
  if (rowCount !== 1) return false;
  await enqueueReports(client, reports);
  return true;
}

/** Reads base and head, plans, and words the check run's updates and the comment. */
async function reviewHead(deps: ReviewDependencies, request: ReviewRequest): Promise<{ conclusion: NonNullable<CheckRunPayload['conclusion']>; reports: NewReport[]; diagnostics: number; changed: number }> {
  const source = await loadSyncSource(deps.pool, githubSourceId(request.repository));
  const dir = checkRepositoryPath(source?.path ?? deps.config.gitPath);
  const access: GitAccess = { timeoutMs: deps.config.gitTimeoutMs, protocols: deps.config.gitProtocols, authorization: await deps.app.installationAuthorization(request.installationId) };
  const { base, head, files } = await withSessionLock(deps.pool, `dfm.review-mirror:${request.repository}`, async () => {
    const fetched = await fetchPullRequest({
      cacheDir: gitCacheDir(deps.config),
      repository: request.repository,
      url: source?.url ?? request.cloneUrl,
      prNumber: request.prNumber,
      baseRef: request.baseRef,
      headSha: request.headSha,
      baseSha: request.baseSha,
      access,
    });
    if (fetched.head === undefined) return { ...fetched, files: undefined };
    const [baseFiles, headFiles] = [await readPipelineTree(fetched.repo, fetched.base, dir, access), await readPipelineTree(fetched.repo, fetched.head, dir, access)];
    return { ...fetched, files: { baseFiles, headFiles } };
  });
  if (head === undefined || files === undefined) {
    return {
      conclusion: 'skipped',
      diagnostics: 0,
      changed: 0,
      reports: [checkRunReport(request, { op: 'update', status: 'completed', conclusion: 'skipped', output: { title: 'Head no longer in the pull request', summary: 'A newer push replaced this commit before dfm could read it.' } })],
    };
  }
  const plan = planChange(files.baseFiles, files.headFiles, { now: (deps.now ?? (() => new Date()))() });
  const fullPlanHint = `dfm plan --repo . --base ${base.slice(0, 12)} --head ${head.slice(0, 12)}`;
  const output = renderCheckOutput(plan, { fullPlanHint, ...(detailsUrl(deps.config) === undefined ? {} : { detailsUrl: detailsUrl(deps.config)! }) });
  const conclusion = sameFiles(files.baseFiles, files.headFiles) ? 'neutral' : output.conclusion;
  const title = conclusion === 'neutral' && output.conclusion !== 'neutral' ? `No pipeline file changed · ${output.title}`.slice(0, 255) : output.title;
  const batches = batchAnnotations(toAnnotations(plan.diagnostics));
  const checkOutput = { title, summary: output.summary, ...(output.text === undefined ? {} : { text: output.text }) };
  const reports: NewReport[] = [];
  // GitHub appends the annotations of each update; the last update completes the run, so a reader
  // never sees a completed check with half of its annotations.
  const updates = batches.length === 0 ? [[]] : batches;
  updates.forEach((annotations, index) => {
    const last = index === updates.length - 1;
    reports.push(checkRunReport(request, {
      op: 'update',
      ...(last ? { status: 'completed' as const, conclusion } : {}),
      output: { ...checkOutput, ...(annotations.length > 0 ? { annotations } : {}) },
    }));
  });
  if (request.checkOnly !== true) {
    reports.push({
      target: githubTarget(request.repository, pullRequestLane(request.prNumber)),
      kind: PR_COMMENT_REPORT,
      key: `comment:${request.prNumber}`,
      payload: { installationId: request.installationId, repository: request.repository, prNumber: request.prNumber, body: renderPrComment(plan, { headSha: head, fullPlanHint }) },
    });
  }
  return { conclusion, reports, diagnostics: plan.diagnostics.length, changed: plan.pipelines.length };
}

function checkRunReport(request: ReviewRequest, fields: Omit<CheckRunPayload, 'installationId' | 'repository' | 'prNumber' | 'headSha'>): NewReport {
  const payload: CheckRunPayload = { installationId: request.installationId, repository: request.repository, prNumber: request.prNumber, headSha: request.headSha, ...fields };
  return { target: githubTarget(request.repository, pullRequestLane(request.prNumber)), kind: CHECK_RUN_REPORT, payload };
}

function sameFiles(a: readonly PipelineFile[], b: readonly PipelineFile[]): boolean {
  if (a.length !== b.length) return false;
  const byName = new Map(a.map((f) => [f.file, f.text]));
  return b.every((f) => byName.get(f.file) === f.text);
}

/** The check run's "Details" link: dfm's dashboard when DFM_PUBLIC_URL says where users reach it. */
function detailsUrl(config: Config): string | undefined {
  return config.publicUrl === undefined ? undefined : `${config.publicUrl}/`;
}
