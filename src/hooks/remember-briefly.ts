/**
 * A small in-memory memo with a time to live and a bounded number of keys (least recently set
 * dropped first). The webhook ingress uses it so a flood costs no database round trip per request:
 * which pipelines have a webhook trigger (re-read at most every second; the run's own transaction
 * checks the definition again) and which pipelines were just found at their queued-run ceiling.
 */
export interface BriefMemo<V> {
  get(key: string, nowMs: number): V | undefined;
  set(key: string, value: V, nowMs: number): void;
  delete(key: string): void;
}

export function rememberBriefly<V>(ttlMs: number, maxKeys = 1000): BriefMemo<V> {
  const entries = new Map<string, { value: V; until: number }>();
  return {
    get(key, nowMs) {
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      if (entry.until <= nowMs) {
        entries.delete(key);
        return undefined;
      }
      return entry.value;
    },
    set(key, value, nowMs) {
      entries.delete(key);
      entries.set(key, { value, until: nowMs + ttlMs });
      if (entries.size > maxKeys) entries.delete(entries.keys().next().value!);
    },
    delete: (key) => void entries.delete(key),
  };
}
