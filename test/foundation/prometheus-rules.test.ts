/**
 * The Prometheus configuration and alert rules that ship with dfm (deploy/prometheus/): valid for
 * Prometheus (promtool check), firing as their unit tests say (promtool test), every alert tested
 * firing at least once and carrying a runbook line, and naming only metrics dfm actually exports.
 * promtool comes from the Debian package `prometheus` (test/setup/plan-test-tools.ts installs it).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/create-metrics.js';

const run = promisify(execFile);
const DIR = 'deploy/prometheus';

interface Rule {
  alert: string;
  expr: string;
  annotations: Record<string, string>;
}
const rules = (parse(readFileSync(`${DIR}/alerts.yml`, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const unitTests = (parse(readFileSync(`${DIR}/alerts.test.yml`, 'utf8')) as { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] }).tests.flatMap((t) => t.alert_rule_test);

describe('deploy/prometheus', () => {
  it('passes promtool check config (with the rules it loads)', async () => {
    const { stdout } = await run('promtool', ['check', 'config', `${DIR}/prometheus.yml`]);
    expect(stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('passes promtool check rules', async () => {
    const { stdout } = await run('promtool', ['check', 'rules', `${DIR}/alerts.yml`]);
    expect(stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('fires exactly as alerts.test.yml expects', async () => {
    const { stdout } = await run('promtool', ['test', 'rules', `${DIR}/alerts.test.yml`]);
    expect(stdout).toContain('SUCCESS');
  });

  it('has the alerts the issue lists, each tested firing and each with a runbook line', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual(
      ['DfmDeadLetters', 'DfmDependencyDown', 'DfmDown', 'DfmKafkaLagGrowing', 'DfmNoSchedulerLeader', 'DfmOutboxBackingUp', 'DfmReadyTasksWaiting', 'DfmRunsFailing', 'DfmSchedulerLagging', 'DfmSyncFailing', 'DfmSyncStale', 'DfmWebhookRejections', 'DfmWorkersLost'],
    );
    const firing = new Set(unitTests.filter((t) => t.exp_alerts.length > 0).map((t) => t.alertname));
    expect(rules.map((r) => r.alert).filter((name) => !firing.has(name))).toEqual([]);
    expect(rules.filter((r) => (r.annotations.runbook ?? '').length < 20).map((r) => r.alert)).toEqual([]);
  });

  it('uses only metrics dfm exports', async () => {
    const metrics = createMetrics();
    const exported = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
    const used = new Set(rules.flatMap((r) => (r.expr.match(/\bdfm_[a-z_]+/g) ?? []).map((name) => name.replace(/_(bucket|sum|count)$/, ''))));
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
  });
});
