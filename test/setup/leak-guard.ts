/**
 * Fails a test file that leaves a pool, producer, consumer, socket, child process or timer open:
 * the live handles of the process after the file must be no more than before it. Leaks show up
 * here as a named resource type instead of as a hang or a flaky neighbour.
 */
import { afterAll, beforeAll } from 'vitest';

const WATCHED = new Set(['TCPSocketWrap', 'TCPServerWrap', 'Timeout', 'ProcessWrap', 'PipeWrap', 'FSEventWrap']);
let baseline = new Map<string, number>();

function countResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) {
    if (WATCHED.has(type)) counts.set(type, (counts.get(type) ?? 0) + 1);
  }
  return counts;
}

function leaked(): string[] {
  const now = countResources();
  return [...now].filter(([type, n]) => n > (baseline.get(type) ?? 0)).map(([type, n]) => `${type} ×${n - (baseline.get(type) ?? 0)}`);
}

beforeAll(() => {
  baseline = countResources();
});

afterAll(async () => {
  // Sockets close asynchronously after end()/disconnect(): give them a moment before judging.
  const deadline = Date.now() + 3000;
  while (leaked().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50).unref());
  const left = leaked();
  if (left.length > 0) {
    throw new Error(`Resource leak: this test file left open ${left.join(', ')}. Close every pool, client, producer, consumer, server, child process and timer it opened.`);
  }
});
