/**
 * The outbox's GitHub deliverers: each report kind is one REST request (or two, when a check run or
 * the plan comment must first be found) made as the App's installation. Payloads are checked with
 * one zod schema per kind, the same schemas the writers of the reports use (their TypeScript types
 * come from here). A GitHub failure becomes a ReportError (to-report-error.ts) that tells the sender
 * whether to wait, retry or give up.
 *
 * Order is the outbox's job: a repository's reports go out one at a time, oldest first, so the
 * check run a review creates exists before its updates, and one plan comment is created before it is
 * edited (never two, however many pushes race).
 */
import type pg from 'pg';
import { z } from 'zod';
import type { Deliverers } from '../outbox/start-outbox-sender.js';
import type { PendingReport } from '../outbox/outbox-queue.js';
import { PLAN_COMMENT_MARKER } from '../pipeline/format-plan.js';
import { COMMIT_STATUS_REPORT } from '../runs/report-run-states.js';
import type { GitHubApp, InstallationOctokit } from './create-github-app.js';
import { describeRunStatus, statusContext } from './describe-run-status.js';
import { annotationSchema } from './to-annotations.js';
import { toReportError } from './to-report-error.js';

export const CHECK_RUN_REPORT = 'github.check-run';
export const PR_COMMENT_REPORT = 'github.pr-comment';
export const ISSUE_COMMENT_REPORT = 'github.issue-comment';
export const REACTION_REPORT = 'github.reaction';
/** The name of dfm's check run on every pull request. */
export const CHECK_RUN_NAME = 'dfm';

const repositoryReport = z.object({ installationId: z.number().int().positive(), repository: z.string().regex(/^[^/\s]+\/[^/\s]+$/) });

export const commitStatusPayloadSchema = repositoryReport.extend({
  sha: z.string().regex(/^[0-9a-f]{40}$/),
  pipelineId: z.string(),
  runId: z.number().int().positive(),
  state: z.enum(['queued', 'running', 'success', 'failed', 'cancelled']),
  durationMs: z.number().nullable(),
  failedTask: z.object({ id: z.string(), error: z.string() }).nullable(),
});


export const checkRunPayloadSchema = repositoryReport.extend({
  prNumber: z.number().int().positive(),
  headSha: z.string().regex(/^[0-9a-f]{40}$/),
  /** create: a new check run (in_progress); update: the review's check run (created if missing). */
  op: z.enum(['create', 'update']),
  status: z.enum(['queued', 'in_progress', 'completed']).optional(),
  conclusion: z.enum(['success', 'failure', 'neutral', 'cancelled', 'skipped', 'timed_out', 'action_required']).optional(),
  detailsUrl: z.string().url().optional(),
  output: z.object({ title: z.string(), summary: z.string(), text: z.string().optional(), annotations: z.array(annotationSchema).max(50).optional() }).optional(),
});

export const prCommentPayloadSchema = repositoryReport.extend({ prNumber: z.number().int().positive(), body: z.string().max(65_536) });
export const issueCommentPayloadSchema = prCommentPayloadSchema;
export const reactionPayloadSchema = repositoryReport.extend({ commentId: z.number().int().positive(), content: z.enum(['eyes', '+1', 'confused', 'rocket']) });

export type CommitStatusPayload = z.infer<typeof commitStatusPayloadSchema>;
export type CheckRunPayload = z.infer<typeof checkRunPayloadSchema>;
export type PrCommentPayload = z.infer<typeof prCommentPayloadSchema>;
export type ReactionPayload = z.infer<typeof reactionPayloadSchema>;

/**
 * The outbox target of a repository's reports: `github:<owner>/<repo>` is the rate-limit group (a
 * retry-after defers all of it), `|<lane>` the unit of order — a pull request's reports
 * (`pr:<n>`: the check run before its updates, one plan comment) or one commit status context on
 * one commit (`status:<sha>:<pipeline>`, written in SQL by runs/report-run-states.ts). Lanes go out
 * in parallel, so a slow pull request never holds up the statuses of a busy repository.
 */
export const githubTarget = (repository: string, lane: string) => `github:${repository}|${lane}`;
export const pullRequestLane = (prNumber: number) => `pr:${prNumber}`;

export interface GitHubDeliveryContext {
  readonly app: GitHubApp;
  readonly pool: pg.Pool;
  /** DFM_PUBLIC_URL (or http://localhost:PORT): the dashboard links in statuses and checks. */
  readonly publicUrl: string;
}

export function githubDeliverers(context: GitHubDeliveryContext): Deliverers {
  const asInstallation = async <T>(report: PendingReport, schema: z.ZodType<T & { installationId: number; repository: string }>, send: (octokit: InstallationOctokit, payload: T & { installationId: number; repository: string }, repo: { owner: string; repo: string }) => Promise<unknown>) => {
    const payload = schema.parse(report.payload);
    const [owner, repo] = payload.repository.split('/') as [string, string];
    try {
      const octokit = await context.app.installationOctokit(payload.installationId);
      return await send(octokit, payload, { owner, repo });
    } catch (error) {
      throw toReportError(error);
    }
  };

  return {
    [COMMIT_STATUS_REPORT]: (report) =>
      asInstallation(report, commitStatusPayloadSchema, async (octokit, p, repo) => {
        const { state, description } = describeRunStatus({
          state: p.state === 'queued' ? 'running' : p.state === 'failed' ? 'failed' : p.state,
          durationMs: p.durationMs,
          failedTask: p.failedTask,
        });
        const { data } = await octokit.rest.repos.createCommitStatus({ ...repo, sha: p.sha, state, context: statusContext(p.pipelineId), description, target_url: `${context.publicUrl}/runs/${p.runId}` });
        return { id: data.id, state };
      }),

    [CHECK_RUN_REPORT]: (report) =>
      asInstallation(report, checkRunPayloadSchema, async (octokit, p, repo) => {
        const fields = {
          ...(p.status === undefined ? {} : { status: p.status }),
          ...(p.conclusion === undefined ? {} : { conclusion: p.conclusion, completed_at: new Date().toISOString() }),
          ...(p.output === undefined ? {} : { output: p.output }),
          ...(p.detailsUrl === undefined ? {} : { details_url: p.detailsUrl }),
        };
        const known = p.op === 'update' ? await checkRunIdOf(context.pool, p) : undefined;
        if (known !== undefined) {
          await octokit.rest.checks.update({ ...repo, check_run_id: known, ...fields });
          return { checkRunId: known };
        }
        const { data } = await octokit.rest.checks.create({ ...repo, name: CHECK_RUN_NAME, head_sha: p.headSha, started_at: new Date().toISOString(), ...fields });
        await context.pool.query('update dfm.pr_review set check_run_id = $4, updated_at = now() where repository = $1 and pr_number = $2 and head_sha = $3', [p.repository, p.prNumber, p.headSha, data.id]);
        return { checkRunId: data.id };
      }),

    [PR_COMMENT_REPORT]: (report) =>
      asInstallation(report, prCommentPayloadSchema, async (octokit, p, repo) => {
        const known = await context.pool.query<{ comment_id: string }>('select comment_id from dfm.pr_comment where repository = $1 and pr_number = $2', [p.repository, p.prNumber]);
        let commentId = known.rows[0] === undefined ? undefined : Number(known.rows[0].comment_id);
        if (commentId !== undefined) {
          try {
            await octokit.rest.issues.updateComment({ ...repo, comment_id: commentId, body: p.body });
            return { commentId, edited: true };
          } catch (error) {
            // Someone deleted the comment: find another with the marker, or post it again.
            if ((error as { status?: number }).status !== 404) throw error;
          }
        }
        commentId = await findPlanComment(octokit, repo, p.prNumber);
        if (commentId !== undefined) await octokit.rest.issues.updateComment({ ...repo, comment_id: commentId, body: p.body });
        else commentId = (await octokit.rest.issues.createComment({ ...repo, issue_number: p.prNumber, body: p.body })).data.id;
        await context.pool.query(
          `insert into dfm.pr_comment (repository, pr_number, comment_id) values ($1, $2, $3)
           on conflict (repository, pr_number) do update set comment_id = excluded.comment_id, updated_at = now()`,
          [p.repository, p.prNumber, commentId],
        );
        return { commentId, edited: known.rows[0] !== undefined };
      }),

    [ISSUE_COMMENT_REPORT]: (report) =>
      asInstallation(report, issueCommentPayloadSchema, async (octokit, p, repo) => {
        const { data } = await octokit.rest.issues.createComment({ ...repo, issue_number: p.prNumber, body: p.body });
        return { commentId: data.id };
      }),

    [REACTION_REPORT]: (report) =>
      asInstallation(report, reactionPayloadSchema, async (octokit, p, repo) => {
        const { data } = await octokit.rest.reactions.createForIssueComment({ ...repo, comment_id: p.commentId, content: p.content });
        return { reactionId: data.id };
      }),
  };
}

async function checkRunIdOf(pool: pg.Pool, p: CheckRunPayload): Promise<number | undefined> {
  const { rows } = await pool.query<{ check_run_id: string | null }>('select check_run_id from dfm.pr_review where repository = $1 and pr_number = $2 and head_sha = $3', [p.repository, p.prNumber, p.headSha]);
  const id = rows[0]?.check_run_id;
  return id === null || id === undefined ? undefined : Number(id);
}

/** dfm's plan comment on the pull request, by its hidden marker (the first page of 100 holds it in practice; all pages are read). */
async function findPlanComment(octokit: InstallationOctokit, repo: { owner: string; repo: string }, prNumber: number): Promise<number | undefined> {
  const comments = await octokit.paginate(octokit.rest.issues.listComments, { ...repo, issue_number: prNumber, per_page: 100 });
  return comments.find((c) => (c.body ?? '').startsWith(PLAN_COMMENT_MARKER))?.id;
}
