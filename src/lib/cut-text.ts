/**
 * Text cut to a vendor's length limit with `…` at the end (GitHub's 140-character status
 * description, 255-character annotation title; Slack's 3,000-character section).
 *
 * Vendors count characters; UTF-16 code units (JavaScript's `length`) are never fewer, so counting
 * them is the safe side. Only whole code points are kept, so a cut never splits an emoji's
 * surrogate pair into text the API rejects.
 */
export function cutText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  let kept = '';
  for (const char of text) {
    if (kept.length + char.length > maxChars - 1) break;
    kept += char;
  }
  return `${kept.trimEnd()}…`;
}
