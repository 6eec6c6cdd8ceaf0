/**
 * The one grammar of dfm's chat commands: every command, the surfaces it is offered on, its
 * arguments and its one-line help. `parseCommand` reads it, `renderHelp` prints it, and the
 * `ParsedCommand` type is derived from it, so a command added here is parsed, typed and documented
 * at once.
 *
 * Terms: a surface is where a command is typed (`pr`: a line `/dfm …` in a pull-request comment;
 * `slack`: the `/dfm` slash command). A run is named by its number (`1042` or `#1042`).
 */
export const SURFACES = ['pr', 'slack'] as const;
export type Surface = (typeof SURFACES)[number];

/** What an argument holds, which decides how it is checked and its type once parsed. */
export type ArgKind = 'pipeline' | 'run' | 'pipeline-or-run' | 'task' | 'sha' | 'word';

export interface ArgSpec {
  /** The field of the parsed command. */
  readonly name: string;
  readonly kind: ArgKind;
  /** As shown in usage (`<pipeline|run>`); default the name. */
  readonly label?: string;
  readonly optional?: boolean;
}

export interface CommandSpec {
  readonly surfaces: readonly Surface[];
  readonly args: readonly ArgSpec[];
  /** Takes `key=value …` after its arguments (values may be quoted: `note="two words"`). */
  readonly params?: boolean;
  readonly summary: string;
}

export const COMMANDS = {
  help: { surfaces: ['pr', 'slack'], args: [{ name: 'topic', kind: 'word', label: 'command', optional: true }], summary: 'List these commands' },
  plan: { surfaces: ['pr'], args: [], summary: 'Compute the plan of this pull request again (comment and check run)' },
  validate: { surfaces: ['pr'], args: [], summary: 'Validate the pipeline files of the head commit again' },
  'confirm-prune': {
    surfaces: ['pr'],
    args: [{ name: 'sha', kind: 'sha', optional: true }],
    summary: 'Let the held sync pause the pipelines this change removes (the held commit, or <sha>)',
  },
  list: { surfaces: ['slack'], args: [], summary: 'List the pipelines with their state and last run' },
  run: { surfaces: ['slack'], args: [{ name: 'pipeline', kind: 'pipeline' }], params: true, summary: 'Start a run now; params as key=value, quoted when they hold spaces' },
  status: { surfaces: ['slack'], args: [{ name: 'target', kind: 'pipeline-or-run', label: 'pipeline|run' }], summary: "Show a pipeline's latest runs, or a run's tasks" },
  logs: { surfaces: ['slack'], args: [{ name: 'run', kind: 'run' }, { name: 'task', kind: 'task', optional: true }], summary: "Show a run's logs, or one task's" },
  cancel: { surfaces: ['slack'], args: [{ name: 'run', kind: 'run' }], summary: 'Cancel a run (running tasks are stopped)' },
  retry: { surfaces: ['slack'], args: [{ name: 'run', kind: 'run' }], summary: 'Run the failed tasks of a run again' },
  pause: { surfaces: ['slack'], args: [{ name: 'pipeline', kind: 'pipeline' }], summary: 'Stop scheduling a pipeline (manual runs still work)' },
  unpause: { surfaces: ['slack'], args: [{ name: 'pipeline', kind: 'pipeline' }], summary: 'Schedule a paused pipeline again' },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

/** Command names in table order (the order help lists them in). */
export const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];

type ArgValue<K extends ArgKind> = K extends 'run' ? number : K extends 'pipeline-or-run' ? { pipeline: string } | { run: number } : string;
type RequiredArgs<A extends readonly ArgSpec[]> = { [X in A[number] as X extends { optional: true } ? never : X['name']]: ArgValue<X['kind']> };
type OptionalArgs<A extends readonly ArgSpec[]> = { [X in A[number] as X extends { optional: true } ? X['name'] : never]?: ArgValue<X['kind']> };
type ParamsOf<C extends CommandSpec> = C extends { params: true } ? { params: Record<string, string> } : unknown;
type Flatten<T> = { [K in keyof T]: T[K] };

/** A command as parsed: `{ kind: 'run', pipeline: 'orders', params: { note: 'two words' } }`. */
export type KnownCommand = {
  [N in CommandName]: Flatten<{ kind: N } & RequiredArgs<(typeof COMMANDS)[N]['args']> & OptionalArgs<(typeof COMMANDS)[N]['args']> & ParamsOf<(typeof COMMANDS)[N]>>;
}[CommandName];

export type ParsedCommand =
  | KnownCommand
  /** Not a command of this surface's grammar; `suggestion` is the closest command name. */
  | { kind: 'unknown'; text: string; suggestion?: string }
  /** A known command with missing, extra or malformed arguments; `message` says what is expected. */
  | { kind: 'invalid'; command: string; message: string };

/** `/dfm run <pipeline> [key=value …]`: the usage line of a command, from the table. */
export function usageOf(name: CommandName): string {
  const spec: CommandSpec = COMMANDS[name];
  const args = spec.args.map((a) => (a.optional ? ` [${a.label ?? a.name}]` : ` <${a.label ?? a.name}>`)).join('');
  return `/dfm ${name}${args}${spec.params ? ' [key=value …]' : ''}`;
}

export function commandsOf(surface: Surface): CommandName[] {
  return COMMAND_NAMES.filter((name) => (COMMANDS[name].surfaces as readonly Surface[]).includes(surface));
}
