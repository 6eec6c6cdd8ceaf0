/**
 * The arrows between src/ folders point one way. Reads every import of every file under src/
 * (tests included) and fails on a cycle between folders and on the arrows the layout forbids:
 * - pipeline/ is the pure core: it imports only lib/ (and no database or Kafka client package);
 * - lib/ imports no other folder;
 * - runs/ (the run lifecycle) is used by the scheduler, the executor, the CLI and the surfaces, and
 *   imports none of them;
 * - scheduler/ and executor/ do not import each other: what both need lives in runs/;
 * - nothing below service/ and cli/ imports them (they assemble the process).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));

const FORBIDDEN: readonly { from: string; to: readonly string[]; why: string }[] = [
  { from: 'pipeline', to: ['*'], why: 'the pure core imports only lib/' },
  { from: 'lib', to: ['*'], why: 'lib/ is the bottom layer' },
  { from: 'runs', to: ['scheduler', 'executor', 'tasks', 'service', 'web', 'cli'], why: 'the run lifecycle is used by these, never the reverse' },
  { from: 'scheduler', to: ['executor', 'service', 'cli'], why: 'scheduler and executor meet in runs/' },
  { from: 'executor', to: ['scheduler', 'service', 'cli'], why: 'scheduler and executor meet in runs/' },
  { from: 'db', to: ['runs', 'scheduler', 'executor', 'tasks', 'service', 'web', 'cli'], why: 'db/ is infrastructure' },
  { from: 'kafka', to: ['runs', 'scheduler', 'executor', 'tasks', 'service', 'web', 'cli'], why: 'kafka/ is infrastructure' },
  { from: 'tasks', to: ['runs', 'scheduler', 'executor', 'service', 'web', 'cli'], why: 'task runners know only their context' },
  { from: 'web', to: ['service', 'cli'], why: 'service/ assembles the HTTP app' },
  { from: 'audit', to: ['runs', 'scheduler', 'executor', 'tasks', 'service', 'web', 'cli'], why: 'the surfaces write the audit trail; it knows none of them' },
  { from: 'service', to: ['cli'], why: 'the CLI starts the service' },
];
/** Folders the pure core may import. */
const PURE_ALLOWED = new Set(['lib']);
/** Packages that mean I/O against dfm's substrate: not in the pure core. */
const IMPURE_PACKAGES = /^(pg|pg-copy-streams|kafkajs|express|drizzle-orm)(\/|$)/;

interface Arrow {
  readonly file: string;
  readonly from: string;
  readonly to: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*\(?\s*['"]([^'"]+)['"]/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => (m[1] ?? m[2])!);
}

function folderOf(path: string): string | undefined {
  const rel = relative(SRC, path);
  if (rel.startsWith('..')) return undefined;
  const parts = rel.split(/[\\/]/);
  return parts.length > 1 ? parts[0] : '.';
}

const files = sourceFiles(SRC);
const arrows: Arrow[] = [];
const packageImports: { file: string; from: string; pkg: string }[] = [];
for (const file of files) {
  const from = folderOf(file)!;
  for (const specifier of importsOf(file)) {
    if (specifier.startsWith('.')) {
      const to = folderOf(resolve(dirname(file), specifier));
      if (to && to !== from) arrows.push({ file: relative(SRC, file), from, to });
    } else {
      packageImports.push({ file: relative(SRC, file), from, pkg: specifier });
    }
  }
}

function findCycles(edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...edges.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

describe('src/ import rules', () => {
  it('reads the imports (a sanity check of the reader itself)', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(arrows.some((a) => a.from === 'executor' && a.to === 'runs')).toBe(true);
    expect(arrows.some((a) => a.from === 'cli' && a.to === 'service')).toBe(true);
  });

  it('has no cycle between folders', () => {
    const edges = new Map<string, Set<string>>();
    for (const a of arrows) {
      if (!edges.has(a.from)) edges.set(a.from, new Set());
      edges.get(a.from)!.add(a.to);
    }
    expect(findCycles(edges).map((c) => c.join(' → '))).toEqual([]);
  });

  it('keeps the forbidden arrows out', () => {
    const broken = arrows
      .filter((a) => FORBIDDEN.some((rule) => rule.from === a.from && (rule.to.includes(a.to) || (rule.to.includes('*') && !(a.from === 'pipeline' && PURE_ALLOWED.has(a.to))))))
      .map((a) => `${a.file} → ${a.to}/ (${FORBIDDEN.find((r) => r.from === a.from)!.why})`);
    expect(broken).toEqual([]);
  });

  it('keeps database, Kafka and HTTP packages out of the pure core', () => {
    expect(packageImports.filter((i) => i.from === 'pipeline' && IMPURE_PACKAGES.test(i.pkg)).map((i) => `${i.file}: ${i.pkg}`)).toEqual([]);
  });

  it('fails on a cycle and on a forbidden arrow (the checks themselves)', () => {
    expect(findCycles(new Map([['a', new Set(['b'])], ['b', new Set(['a'])]]))).toEqual([['a', 'b', 'a']]);
    expect(findCycles(new Map([['a', new Set(['b'])], ['b', new Set(['c'])]]))).toEqual([]);
  });
});
