/**
 * The external tools the test suite runs, in one table, and what to do when some are missing
 * (pure: which tools are missing and who we are in, a plan out). A later issue that adds a tool to
 * the suite (a browser, say) adds one row here; `ensureTestTools` checks and installs from it.
 */

export interface TestTool {
  /** The executable looked up on PATH. */
  readonly command: string;
  /** What in the suite needs it, for the message a user sees. */
  readonly usedBy: string;
  /** The Debian/Ubuntu package that provides it. */
  readonly debianPackage: string;
  /** The Homebrew formula, for machines without apt-get. */
  readonly brewFormula: string;
  /** Whether this run needs it (default: always). */
  readonly neededWhen?: (facts: TestToolFacts) => boolean;
}

export interface TestToolFacts {
  /** Every Kafka jar the local broker runs is in the cache already, so Maven is not asked. */
  readonly kafkaJarsCached: boolean;
}

export const TEST_TOOLS: readonly TestTool[] = [
  { command: 'kcat', usedBy: 'Kafka tests read and write records with it (an independent librdkafka client)', debianPackage: 'kcat', brewFormula: 'kcat' },
  { command: 'promtool', usedBy: 'the alert-rule tests check and unit-test deploy/prometheus/', debianPackage: 'prometheus', brewFormula: 'prometheus' },
  { command: 'prometheus', usedBy: 'the Prometheus test scrapes a running dfm with the real server and the shipped config', debianPackage: 'prometheus', brewFormula: 'prometheus' },
  // Always: the quick-start test starts the local broker even when KAFKA_BROKERS points elsewhere.
  { command: 'java', usedBy: 'the local Kafka broker (Java 17 or newer)', debianPackage: 'openjdk-17-jre-headless', brewFormula: 'openjdk@17' },
  { command: 'mvn', usedBy: 'fetches the Kafka broker jars from Maven Central once', debianPackage: 'maven', brewFormula: 'maven', neededWhen: (facts) => !facts.kafkaJarsCached },
  { command: 'git', usedBy: 'the plan and quick-start tests read real repositories', debianPackage: 'git', brewFormula: 'git' },
  { command: 'script', usedBy: 'the log-format test runs dfm in a terminal', debianPackage: 'bsdutils', brewFormula: 'util-linux' },
];

export type TestToolPlan =
  | { readonly action: 'ready' }
  /** Root with apt-get: `apt-get update` once, then install these packages. */
  | { readonly action: 'install'; readonly packages: readonly string[] }
  | { readonly action: 'stop'; readonly message: string };

/** Tools of `tools` that this run needs and `isOnPath` does not find. */
export function findMissingTools(tools: readonly TestTool[], facts: TestToolFacts, isOnPath: (command: string) => boolean): TestTool[] {
  return tools.filter((tool) => (tool.neededWhen?.(facts) ?? true) && !isOnPath(tool.command));
}

export function planTestTools(missing: readonly TestTool[], who: { readonly isRoot: boolean; readonly hasAptGet: boolean; readonly mayInstall: boolean }): TestToolPlan {
  if (missing.length === 0) return { action: 'ready' };
  const packages = [...new Set(missing.map((tool) => tool.debianPackage))];
  if (who.isRoot && who.hasAptGet && who.mayInstall) return { action: 'install', packages };
  return { action: 'stop', message: missingToolsMessage(missing, who) };
}

export function missingToolsMessage(missing: readonly TestTool[], who: { readonly isRoot: boolean; readonly hasAptGet: boolean }): string {
  const packages = [...new Set(missing.map((tool) => tool.debianPackage))].join(' ');
  const width = Math.max(...missing.map((tool) => tool.command.length));
  const lines = [
    `The test suite needs ${missing.length === 1 ? 'a tool that is' : `${missing.length} tools that are`} not installed (no test was run):`,
    ...missing.map((tool) => `  ${tool.command.padEnd(width)}  ${tool.usedBy}; install: ${who.hasAptGet ? `apt-get install ${tool.debianPackage}` : `apt-get install ${tool.debianPackage} (Debian/Ubuntu) or brew install ${tool.brewFormula} (macOS)`}`),
    who.hasAptGet
      ? `Install ${missing.length === 1 ? 'it' : 'them all'} with:\n  ${who.isRoot ? '' : 'sudo '}apt-get update && ${who.isRoot ? '' : 'sudo '}apt-get install -y ${packages}`
      : `Install ${missing.length === 1 ? 'it' : 'them'} with your package manager, for example:\n  brew install ${[...new Set(missing.map((tool) => tool.brewFormula))].join(' ')}`,
    'then run the tests again.',
  ];
  return lines.join('\n');
}
