/**
 * `/dfm …` in a pull-request comment (issue_comment created). The commenter's permission is read
 * from GitHub (`GET /repos/{owner}/{repo}/collaborators/{username}/permission`), never taken from
 * the payload: only write, maintain or admin may command dfm; anyone else gets one polite line. A
 * command that is taken gets 👀 on the comment. Commands (one grammar: commands/parse-command.ts):
 * - `/dfm plan`: the review again (check run and plan comment) for the PR's current head;
 * - `/dfm validate`: the check run again, the comment left as it is;
 * - `/dfm confirm-prune [sha]`: releases the prune the sync holds for this repository;
 * - `/dfm help`, or anything unknown: the help text (with "did you mean" when close).
 * Every command from a person is audited (actor `github:<user id>`), allowed or not.
 */
import type pg from 'pg';
import { recordAudit } from '../audit/record-audit.js';
import type { Config } from '../config/load-config.js';
import { withTransaction } from '../db/with-transaction.js';
import type { Logger } from '../lib/logger.js';
import { enqueueReports, type NewReport } from '../outbox/enqueue-report.js';
import { findPrCommands, type ParsedCommand } from '../commands/parse-command.js';
import { renderHelp } from '../commands/render-help.js';
import { cutText } from '../lib/cut-text.js';
import { escapeMarkdown, inlineCode } from '../pipeline/escape-markdown.js';
import { requestSync } from '../sync/request-sync.js';
import { githubSourceId, loadSyncSource } from '../sync/sync-source.js';
import type { GitHubApp } from './create-github-app.js';
import { ISSUE_COMMENT_REPORT, REACTION_REPORT, githubTarget, pullRequestLane } from './deliver-github-reports.js';
import { reviewPullRequest, type ReviewOutcome } from './review-pull-request.js';

interface IssueCommentPayload {
  action?: string;
  installation?: { id?: number };
  repository?: { full_name?: string; clone_url?: string };
  issue?: { number?: number; pull_request?: unknown };
  comment?: { id?: number; body?: string; user?: { login?: string; id?: number; type?: string } };
}

const WRITE_PERMISSIONS = new Set(['admin', 'maintain', 'write']);

export async function handlePrCommand(deps: { pool: pg.Pool; app: GitHubApp; config: Config; logger: Logger }, payload: IssueCommentPayload, seq: number): Promise<Record<string, unknown>> {
  const installationId = payload.installation?.id;
  const repository = payload.repository?.full_name;
  const prNumber = payload.issue?.number;
  const comment = payload.comment;
  if (payload.action !== 'created' || payload.issue?.pull_request === undefined || installationId === undefined || repository === undefined || prNumber === undefined || comment?.id === undefined) {
    return { commands: [], reason: 'not a new comment on a pull request' };
  }
  // dfm's own comments (help, refusals) never command it, nor do other bots'.
  if (comment.user?.type === 'Bot') return { commands: [], reason: 'a bot comment' };
  const commands = findPrCommands(comment.body ?? '');
  if (commands.length === 0) return { commands: [] };

  const login = comment.user?.login ?? 'unknown';
  const actor = `github:${comment.user?.id ?? login}`;
  const [owner, repo] = repository.split('/') as [string, string];
  const octokit = await deps.app.installationOctokit(installationId);
  const { data: permission } = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username: login });
  const allowed = WRITE_PERMISSIONS.has(permission.permission) || WRITE_PERMISSIONS.has(permission.role_name ?? '');
  const target = githubTarget(repository, pullRequestLane(prNumber));
  const reply = (body: string): NewReport => ({ target, kind: ISSUE_COMMENT_REPORT, payload: { installationId, repository, prNumber, body } });

  if (!allowed) {
    await withTransaction(deps.pool, async (client) => {
      await recordAudit(client, { actor, via: 'github', action: `pr-command:${commands[0]!.kind}`, target: `${repository}#${prNumber}`, outcome: 'refused', detail: { reason: 'no write permission', permission: permission.permission } });
      await enqueueReports(client, [reply(`Sorry @${login}, only people with write access to ${repository} can run \`/dfm\` commands.`)]);
    });
    return { commands: commands.map((c) => c.kind), refused: login };
  }

  const results: Record<string, unknown>[] = [];
  await withTransaction(deps.pool, (client) => enqueueReports(client, [{ target, kind: REACTION_REPORT, payload: { installationId, repository, commentId: comment.id!, content: 'eyes' } }]));
  for (const command of commands) {
    results.push({ command: command.kind, ...(await runCommand(deps, { installationId, repository, prNumber, cloneUrl: payload.repository?.clone_url ?? '', actor, seq, reply }, command)) });
  }
  return { commands: results };
}

interface CommandContext {
  readonly installationId: number;
  readonly repository: string;
  readonly prNumber: number;
  readonly cloneUrl: string;
  readonly actor: string;
  readonly seq: number;
  reply(body: string): NewReport;
}

async function runCommand(deps: { pool: pg.Pool; app: GitHubApp; config: Config; logger: Logger }, context: CommandContext, command: ParsedCommand): Promise<Record<string, unknown>> {
  const audit = (outcome: 'ok' | 'refused' | 'failed', detail: Record<string, unknown>, extra: NewReport[] = []) =>
    withTransaction(deps.pool, async (client) => {
      await recordAudit(client, { actor: context.actor, via: 'github', action: `pr-command:${command.kind}`, target: `${context.repository}#${context.prNumber}`, outcome, detail });
      await enqueueReports(client, extra);
    });
  switch (command.kind) {
    case 'plan':
    case 'validate': {
      const [owner, repo] = context.repository.split('/') as [string, string];
      const octokit = await deps.app.installationOctokit(context.installationId);
      const { data: pr } = await octokit.rest.pulls.get({ owner, repo, pull_number: context.prNumber });
      const outcome: ReviewOutcome = await reviewPullRequest(deps, {
        installationId: context.installationId,
        repository: context.repository,
        cloneUrl: context.cloneUrl || pr.base.repo.clone_url,
        prNumber: context.prNumber,
        headSha: pr.head.sha,
        baseSha: pr.base.sha,
        baseRef: pr.base.ref,
        fromFork: pr.head.repo !== null && pr.head.repo.full_name !== context.repository,
        seq: context.seq,
        rerun: true,
        checkOnly: command.kind === 'validate',
      });
      await audit('ok', { head: pr.head.sha, ...outcome });
      return { ...outcome };
    }
    case 'confirm-prune': {
      const source = await loadSyncSource(deps.pool, githubSourceId(context.repository));
      const held = source?.heldPrune ?? null;
      if (source === undefined || held === null) {
        await audit('refused', { reason: 'no prune is held' }, [context.reply(`There is no held prune to confirm for ${context.repository}: the last sync paused nothing unexpected.`)]);
        return { confirmed: false, reason: 'no prune is held' };
      }
      if (command.sha !== undefined && !held.sha.startsWith(command.sha.toLowerCase())) {
        await audit('refused', { reason: 'sha does not match the held prune', held: held.sha, given: command.sha }, [context.reply(`The held prune is for ${held.sha.slice(0, 12)}, not ${command.sha}; comment \`/dfm confirm-prune ${held.sha.slice(0, 12)}\` to release it.`)]);
        return { confirmed: false, reason: 'sha mismatch' };
      }
      await withTransaction(deps.pool, async (client) => {
        await requestSync(client, { sourceId: source.id, trigger: 'github-comment', confirm: held.sha });
        await recordAudit(client, { actor: context.actor, via: 'github', action: 'confirm-prune', target: held.sha, outcome: 'ok', detail: { source: source.id, pause: held.pause } });
        await enqueueReports(client, [context.reply(`Confirmed: ${held.sha.slice(0, 12)} will be applied, pausing ${held.pause.length} pipeline${held.pause.length === 1 ? '' : 's'} (${held.pause.join(', ').slice(0, 1000)}).`)]);
      });
      return { confirmed: true, sha: held.sha };
    }
    case 'unknown':
    case 'invalid':
    case 'help':
    default: {
      const lead = command.kind === 'unknown'
        ? `Unknown command ${inlineCode(cutText(command.text, 100))}${command.suggestion ? ` — did you mean \`/dfm ${command.suggestion}\`?` : '.'}\n\n`
        : command.kind === 'invalid' ? `${escapeMarkdown(command.message)}\n\n` : '';
      await audit('ok', {}, [context.reply(`${lead}${renderHelp('pr')}`)]);
      return { help: true };
    }
  }
}
