/**
 * Escaping for GitHub-flavoured Markdown. Everything a user controls (file paths, ids of invalid
 * pipelines, diagnostic messages that quote YAML, SQL, error text) goes through one of these before
 * it reaches a PR comment or a check run, so it can neither format, link, break a table or a code
 * fence, nor notify anyone.
 */

// The characters that format, link, open HTML or end a table cell anywhere on a line. Headings,
// lists and quotes (`#`, `-`, `+`, `1.`, `>`) only start at a line start, which escaped text never
// is (newlines become spaces), so they stay readable in `dfm plan`'s terminal output.
const MARKDOWN_SPECIAL = /[\\`*_[\]|~<>]/g;

/**
 * Text as literal Markdown inside a line (after other text): formatting characters escaped, HTML
 * off, and `@name` broken with a zero-width space, because GitHub notifies a mentioned user or team even from a
 * bot's comment (backslash-escaping `@` does not stop it; Renovate uses the same `@&#8203;`).
 * `#123` gets the same treatment: it would cross-reference an issue and post a back-link there.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/\r\n|\r|\n/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(MARKDOWN_SPECIAL, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : `\\${c}`))
    // One pass, so the `#` of an inserted `&#8203;` is not itself taken for an issue reference.
    .replace(/@(?=[A-Za-z0-9])|#(?=\d)/g, (c) => `${c}&#8203;`);
}

/** The shortest run of backticks longer than any run inside `text`: a fence it cannot close. */
function fenceOf(text: string, minimum: number): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  return '`'.repeat(Math.max(minimum, longest + 1));
}

/**
 * An inline code span that shows `text` exactly (CommonMark: a span is closed only by a backtick
 * run of its own length). Mentions inside code spans do not notify. `inTable` escapes `|`, which
 * GitHub reads as a cell boundary even inside a span (outside a table the backslash would show).
 */
export function inlineCode(text: string, options: { inTable?: boolean } = {}): string {
  let body = text.replace(/\r\n|\r|\n/g, ' ');
  if (options.inTable) body = body.replace(/\|/g, '\\|');
  const fence = fenceOf(body, 1);
  const pad = body.startsWith('`') || body.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${body}${pad}${fence}`;
}

/** A fenced code block whose fence is longer than any backtick run in `body` (SQL may hold ```). */
export function fencedBlock(info: string, body: string): string {
  const fence = fenceOf(body, 3);
  return `${fence}${info}\n${body}\n${fence}`;
}
