import { describe, expect, it } from 'vitest';
import { findMissingTools, planTestTools, TEST_TOOLS } from './plan-test-tools.js';

const tool = (command: string) => TEST_TOOLS.find((t) => t.command === command)!;
const root = { isRoot: true, hasAptGet: true, mayInstall: true };
const user = { isRoot: false, hasAptGet: true, mayInstall: true };

describe('planTestTools', () => {
  it('is ready when nothing is missing', () => {
    expect(planTestTools([], user)).toEqual({ action: 'ready' });
  });

  it('installs the Debian packages of the missing tools as root with apt-get', () => {
    expect(planTestTools([tool('kcat'), tool('promtool'), tool('java')], root)).toEqual({ action: 'install', packages: ['kcat', 'prometheus', 'openjdk-17-jre-headless'] });
  });

  it('stops with every missing tool and one sudo apt-get command for a user', () => {
    const plan = planTestTools([tool('kcat'), tool('promtool')], user);
    expect(plan.action).toBe('stop');
    const message = plan.action === 'stop' ? plan.message : '';
    expect(message).toContain('2 tools that are not installed (no test was run)');
    expect(message).toMatch(/^ {2}kcat {6}Kafka tests .*apt-get install kcat$/m);
    expect(message).toMatch(/^ {2}promtool {2}the alert-rule tests .*apt-get install prometheus$/m);
    expect(message).toContain('\n  sudo apt-get update && sudo apt-get install -y kcat prometheus\n');
  });

  it('names Homebrew formulas where there is no apt-get, and never installs without it', () => {
    const plan = planTestTools([tool('promtool')], { isRoot: true, hasAptGet: false, mayInstall: true });
    expect(plan.action).toBe('stop');
    const message = plan.action === 'stop' ? plan.message : '';
    expect(message).toContain('a tool that is not installed');
    expect(message).toContain('brew install prometheus');
    expect(message).not.toContain('sudo');
  });

  it('only reports, as root too, when installing is turned off', () => {
    const plan = planTestTools([tool('kcat')], { ...root, mayInstall: false });
    expect(plan.action === 'stop' && plan.message).toContain('\n  apt-get update && apt-get install -y kcat\n');
  });
});

describe('findMissingTools', () => {
  it('needs Maven only while the Kafka jars are not cached', () => {
    const nothingOnPath = () => false;
    expect(findMissingTools(TEST_TOOLS, { kafkaJarsCached: false }, nothingOnPath).map((t) => t.command)).toContain('mvn');
    expect(findMissingTools(TEST_TOOLS, { kafkaJarsCached: true }, nothingOnPath).map((t) => t.command)).not.toContain('mvn');
    expect(findMissingTools(TEST_TOOLS, { kafkaJarsCached: true }, (c) => c !== 'kcat').map((t) => t.command)).toEqual(['kcat']);
  });

  it('lists the tools of the suite, each with a Debian package', () => {
    expect(TEST_TOOLS.map((t) => t.command)).toEqual(expect.arrayContaining(['kcat', 'promtool', 'java', 'mvn', 'git']));
    for (const t of TEST_TOOLS) expect(t.debianPackage).toMatch(/^[a-z0-9][a-z0-9.+-]+$/);
  });
});
