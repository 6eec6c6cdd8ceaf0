/**
 * The output of the PR check run: the plan as its summary (cut to GitHub's limit at a section
 * boundary), a one-line title, and the conclusion. Pure; the review job sends it and the
 * annotations (to-annotations.ts) to GitHub.
 */
import { cutText } from '../lib/cut-text.js';
import { describePlanCounts, toPlanMarkdownParts } from '../pipeline/format-plan.js';
import type { PipelinePlan } from '../pipeline/plan-change.js';
import { fitPlanMarkdown } from './fit-plan-markdown.js';

/** GitHub refuses a check-run `output.summary` or `output.text` longer than this. */
export const CHECK_OUTPUT_MAX_CHARS = 65_535;
/** GitHub's limit for `output.title`. */
const TITLE_MAX_CHARS = 255;

export interface CheckOutput {
  title: string;
  summary: string;
  text?: string;
  conclusion: 'success' | 'failure' | 'neutral';
}

export interface RenderCheckOutputOptions {
  /** Characters of the summary. Default 65,535 (GitHub's limit). */
  maxChars?: number;
  /** Where the whole plan can be seen (the dashboard or the PR comment), named in the cut line. */
  detailsUrl?: string;
  /** The command that prints the whole plan, named in the cut line. */
  fullPlanHint: string;
}

function conclusionOf(plan: PipelinePlan): CheckOutput['conclusion'] {
  if (plan.summary.errors > 0) return 'failure';
  // Neutral, not success: the check says nothing about a PR that touches no pipeline file.
  if (plan.pipelines.length === 0 && plan.diagnostics.length === 0) return 'neutral';
  return 'success';
}

function titleOf(plan: PipelinePlan): string {
  const { changes, health } = describePlanCounts(plan);
  return cutText(`${changes} · ${health}`, TITLE_MAX_CHARS);
}

export function renderCheckOutput(plan: PipelinePlan, options: RenderCheckOutputOptions): CheckOutput {
  const parts = toPlanMarkdownParts(plan);
  const { markdown } = fitPlanMarkdown(parts, {
    head: [parts.summary],
    maxChars: options.maxChars ?? CHECK_OUTPUT_MAX_CHARS,
    limitName: 'the check summary limit',
    fullPlanHint: options.fullPlanHint,
    ...(options.detailsUrl === undefined ? {} : { url: options.detailsUrl }),
  });
  return { title: titleOf(plan), summary: markdown, conclusion: conclusionOf(plan) };
}
