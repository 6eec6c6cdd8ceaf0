/**
 * What every service bench script shares (bench/sync.ts, bench/pr-check.ts, bench/hooks.ts): a
 * progress log on stderr, stop steps run in reverse order of start (each once, also when the bench
 * fails midway or is interrupted), the figures table, and running `main` to an exit code.
 */
export const log = (message: string): void => void process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

const stops: { name: string; stop: () => Promise<unknown> }[] = [];

/** Registers a cleanup; stopAll() runs them last-registered first. */
export function onStop(name: string, stop: () => Promise<unknown>): void {
  stops.push({ name, stop });
}

export async function stopAll(): Promise<void> {
  while (stops.length > 0) {
    const step = stops.pop()!;
    await step.stop().catch((error: unknown) => log(`cleanup of ${step.name} failed: ${String(error)}`));
  }
}

/** Runs one stop step now, wherever it stands (the others stay registered). */
export async function stopOne(name: string): Promise<void> {
  const index = stops.findIndex((s) => s.name === name);
  if (index >= 0) await stops.splice(index, 1)[0]!.stop();
}

/** Runs the stop steps down to and including `name` (the later-started ones first). */
export async function stopUntil(name: string): Promise<void> {
  const index = stops.findIndex((s) => s.name === name);
  if (index < 0) return;
  const later = stops.splice(index);
  for (const step of later.reverse()) await step.stop().catch((error: unknown) => log(`stop of ${step.name} failed: ${String(error)}`));
}

/** A Markdown table whose first row is the header. */
export function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  process.stdout.write(`${line(rows[0]!)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${rows.slice(1).map(line).join('\n')}\n`);
}

/** Runs the bench, then every stop step, and exits 0, 1 (failed) or 130 (interrupted). */
export function runBench(main: () => Promise<void>): void {
  process.stdout.on('error', () => {});
  process.once('SIGINT', () => void stopAll().finally(() => process.exit(130)));
  main()
    .then(
      () => 0,
      (error: unknown) => {
        process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
        return 1;
      },
    )
    .then(async (code) => {
      await stopAll();
      process.exit(code);
    });
}
