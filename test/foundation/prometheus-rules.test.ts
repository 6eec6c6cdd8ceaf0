/**
 * The alert rules that ship with dfm: valid for Prometheus (promtool check), firing as their unit
 * tests say (promtool test), and naming only metrics dfm actually exports. Prometheus itself cannot
 * run the compose file here, so promtool (Debian package `prometheus`, installed by .ci/run) does.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/create-metrics.js';

const run = promisify(execFile);

describe('deploy/alerts.yml', () => {
  it('passes promtool check rules', async () => {
    const { stdout } = await run('promtool', ['check', 'rules', 'deploy/alerts.yml']);
    expect(stdout).toMatch(/SUCCESS: 6 rules found/);
  });

  it('fires exactly as deploy/alerts.test.yml expects', async () => {
    const { stdout } = await run('promtool', ['test', 'rules', 'deploy/alerts.test.yml']);
    expect(stdout).toContain('SUCCESS');
  });

  it('uses only metrics dfm exports', async () => {
    const metrics = createMetrics();
    const exported = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
    const rules = (parse(readFileSync('deploy/alerts.yml', 'utf8')) as { groups: { rules: { expr: string }[] }[] }).groups.flatMap((g) => g.rules);
    const used = new Set(rules.flatMap((r) => r.expr.match(/\bdfm_[a-z_]+/g) ?? []));
    expect(used.size).toBeGreaterThan(0);
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
  });
});
