/**
 * A plan's Markdown cut to a GitHub length limit (check-run summary 65,535 characters, issue
 * comment 65,536). Cuts fall only between whole pieces (a pipeline section, a diagnostic line), each
 * of which closes its own code fences and `<details>`, so a cut never leaves a fence open (what
 * Atlantis users asked for in its comment splitting). The last line says what was left out and how
 * to see all of it. Pure.
 *
 * Lengths are JavaScript string lengths (UTF-16 code units), never fewer than the code points
 * GitHub counts, so a text that fits here fits there.
 */
import { inlineCode } from '../pipeline/escape-markdown.js';
import { joinPlanMarkdownParts, type PlanMarkdownParts } from '../pipeline/format-plan.js';

export interface FitPlanOptions {
  /** Blocks shown first and never cut (marker, summary line, head SHA). */
  head: readonly string[];
  /** The limit in characters, the trailing newline included. */
  maxChars: number;
  /** How the cut line names the limit: `the comment limit`. */
  limitName: string;
  /** The command that prints the whole plan, e.g. `dfm plan --repo . --base main --head 1a2b3c4`. */
  fullPlanHint: string;
  /** A page that shows more (the check run, the dashboard). */
  url?: string;
}

const noun = (n: number, word: string) => `${word}${n === 1 ? '' : 's'}`;
const withThousands = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
// An autolink `<…>` ends at the first space or `>`: encode those rather than lose the link.
const autolink = (url: string) => `<${url.replace(/[\s<>]/g, (c) => encodeURIComponent(c))}>`;

function describeCut(pipelines: number, diagnostics: number, shownPipelines: number, shownDiagnostics: number, options: FitPlanOptions): string {
  const left = [
    pipelines > 0 && `${pipelines} ${shownPipelines > 0 ? 'more ' : ''}${noun(pipelines, 'pipeline')}`,
    diagnostics > 0 && `${diagnostics} ${shownDiagnostics > 0 ? 'more ' : ''}${noun(diagnostics, 'diagnostic')}`,
  ].filter(Boolean);
  const where = `run ${inlineCode(options.fullPlanHint)}${options.url === undefined ? '' : ` or open ${autolink(options.url)}`}`;
  return `… ${left.join(' and ')} not shown (${options.limitName} is ${withThousands(options.maxChars)} characters); ${where} to see the whole plan.`;
}

export function fitPlanMarkdown(parts: PlanMarkdownParts, options: FitPlanOptions): { markdown: string; cut: boolean } {
  const full = joinPlanMarkdownParts(options.head, parts);
  if (full.length <= options.maxChars) return { markdown: full, cut: false };

  // Lengths are summed rather than re-joined per step: a plan may carry thousands of diagnostics.
  const SEPARATOR = 2; // '\n\n' between blocks
  const headLength = options.head.reduce((sum, block) => sum + block.length + SEPARATOR, 0);
  const fixedLength = headLength + parts.footer.length + SEPARATOR + 1; // + cut line, + final '\n'
  const lengthWith = (pipelines: number, pipelinesLength: number, diagnostics: number, diagnosticsLength: number) => {
    const diagnosticsBlock = diagnostics === 0 || parts.diagnosticsHeading === undefined ? 0 : parts.diagnosticsHeading.length + 2 + diagnosticsLength + (diagnostics - 1) + SEPARATOR;
    const cutLine = describeCut(parts.pipelines.length - pipelines, parts.diagnostics.length - diagnostics, pipelines, diagnostics, options).length;
    return fixedLength + pipelinesLength + pipelines * SEPARATOR + diagnosticsBlock + cutLine;
  };

  // In plan order: sections until the first that does not fit, then diagnostics likewise.
  let pipelines = 0;
  let pipelinesLength = 0;
  while (pipelines < parts.pipelines.length && lengthWith(pipelines + 1, pipelinesLength + parts.pipelines[pipelines]!.length, 0, 0) <= options.maxChars) {
    pipelinesLength += parts.pipelines[pipelines]!.length;
    pipelines++;
  }
  let diagnostics = 0;
  let diagnosticsLength = 0;
  while (diagnostics < parts.diagnostics.length && lengthWith(pipelines, pipelinesLength, diagnostics + 1, diagnosticsLength + parts.diagnostics[diagnostics]!.length) <= options.maxChars) {
    diagnosticsLength += parts.diagnostics[diagnostics]!.length;
    diagnostics++;
  }

  const cutLine = describeCut(parts.pipelines.length - pipelines, parts.diagnostics.length - diagnostics, pipelines, diagnostics, options);
  const markdown = joinPlanMarkdownParts(options.head, { ...parts, pipelines: parts.pipelines.slice(0, pipelines), diagnostics: parts.diagnostics.slice(0, diagnostics) }, [cutLine]);
  // Only a limit smaller than the head and the cut line together gets here (no fence is open in
  // either); GitHub would refuse the text, so a hard cut is the lesser harm.
  if (markdown.length > options.maxChars) return { markdown: `${markdown.slice(0, Math.max(0, options.maxChars - 2))}…\n`, cut: true };
  return { markdown, cut: true };
}
