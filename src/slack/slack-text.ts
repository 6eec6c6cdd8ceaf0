/**
 * Text for Slack's mrkdwn, escaped by construction: Slack reads `<…>` as a link or mention and `&`
 * as an entity, so its docs ask for exactly these three escapes. `redactSecrets` removes what must
 * never reach a channel even when a user's error message or log line carries it: the password of a
 * URL (`postgres://user:secret@host` → `postgres://user:***@host`).
 */
import { cutText } from '../lib/cut-text.js';

export const escapeMrkdwn = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

// Bounded repetitions: an unbounded scheme made this quadratic on a long word (28 s for an error
// of 100,000 letters), and the text is whatever a task's error said.
export const redactSecrets = (text: string): string => text.replace(/\b([a-z][a-z0-9+.-]{0,31}:\/\/[^\s:/@]{0,256}):[^\s/@]{0,256}@/gi, '$1:***@');

/** Slack's limit on a section's text. */
export const SECTION_TEXT_LIMIT = 3000;

/** A code block of user text, fitted within `limit` characters with its fences. */
export function codeBlock(text: string, limit = SECTION_TEXT_LIMIT): string {
  // A ``` inside would close the block early.
  // Cut before the work (redaction, escapes) so a huge text costs no more than a long one.
  const body = escapeMrkdwn(redactSecrets(text.length > limit * 2 ? text.slice(0, limit * 2) : text)).replace(/```/g, "'''") || ' ';
  return `\`\`\`${cutText(body, limit - 6)}\`\`\``;
}

/** `1h 2m`, `3m 4s`, `5.2s`. */
export function formatDuration(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}
