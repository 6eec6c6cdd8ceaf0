import { distance } from 'fastest-levenshtein';

/**
 * The known name closest to a misspelled one, for "did you mean …" hints. Only close matches count
 * (at most a third of the word, minimum 1 edit), so `retires` suggests `retries` but `foo` suggests
 * nothing rather than a random field.
 */
export function suggestName(word: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance || (d === bestDistance && best !== undefined && candidate < best)) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** `Did you mean "x"?` or a list of the allowed names when nothing is close. */
export function didYouMean(word: string, candidates: readonly string[], noun = 'Known names'): string {
  const match = suggestName(word, candidates);
  if (match !== undefined) return `Did you mean "${match}"?`;
  return candidates.length === 0 ? `${noun}: none.` : `${noun}: ${candidates.join(', ')}.`;
}
