/**
 * The one plan comment on a pull request, edited in place on every push: the hidden marker it is
 * found by, the head commit it reflects, then the plan, cut to GitHub's comment limit at a section
 * boundary. Pure.
 */
import { inlineCode } from '../pipeline/escape-markdown.js';
import { PLAN_COMMENT_MARKER, toPlanMarkdownParts } from '../pipeline/format-plan.js';
import type { PipelinePlan } from '../pipeline/plan-change.js';
import { fitPlanMarkdown } from './fit-plan-markdown.js';

/** GitHub refuses an issue comment longer than this. */
export const COMMENT_MAX_CHARS = 65_536;

export interface RenderPrCommentOptions {
  /** The head commit the plan was computed for; shown short, so a reader sees when it is stale. */
  headSha: string;
  /** Characters of the comment. Default 65,536 (GitHub's limit). */
  maxChars?: number;
  /** The command that prints the whole plan, named in the cut line. */
  fullPlanHint: string;
  /** The check run of the same head, linked from the comment. */
  checkRunUrl?: string;
}

// A bare hex SHA is linked to the commit by GitHub; anything else is shown as code, unlinked.
const shortSha = (sha: string) => (/^[0-9a-f]{7,40}$/i.test(sha) ? sha.slice(0, 7).toLowerCase() : inlineCode(sha.slice(0, 40)));
// In `[text](url)` a space or parenthesis ends the URL: encode them.
const linkTarget = (url: string) => url.replace(/[\s()<>]/g, (c) => encodeURIComponent(c).replace('(', '%28').replace(')', '%29'));

export function renderPrComment(plan: PipelinePlan, options: RenderPrCommentOptions): string {
  const parts = toPlanMarkdownParts(plan);
  const reflects = `<sub>For head commit ${shortSha(options.headSha)}${options.checkRunUrl === undefined ? '' : ` · [check run](${linkTarget(options.checkRunUrl)})`}</sub>`;
  return fitPlanMarkdown(parts, {
    head: [PLAN_COMMENT_MARKER, parts.summary, reflects],
    maxChars: options.maxChars ?? COMMENT_MAX_CHARS,
    limitName: 'the comment limit',
    fullPlanHint: options.fullPlanHint,
    ...(options.checkRunUrl === undefined ? {} : { url: options.checkRunUrl }),
  }).markdown;
}
