/**
 * Parses a chat command against the one grammar in command-table.ts. Pure: text in, a
 * `ParsedCommand` out; the PR-review job and the Slack handler decide what to do with it.
 * `findPrCommands` picks the `/dfm …` lines out of a pull-request comment.
 */
import { ID_PATTERN, ID_RULE, PARAM_NAME_PATTERN, PARAM_NAME_RULE } from '../pipeline/identifiers.js';
import { suggestName } from '../pipeline/suggest.js';
import { COMMANDS, COMMAND_NAMES, commandsOf, usageOf, type ArgSpec, type CommandName, type CommandSpec, type KnownCommand, type ParsedCommand, type Surface } from './command-table.js';

export type { ParsedCommand } from './command-table.js';

// Slack (on macOS and iOS) turns typed quotes into typographic ones: accept both.
const CLOSING_QUOTE: Readonly<Record<string, string>> = { '"': '"', "'": "'", '“': '”', '„': '“', '‘': '’' };

type Tokens = { tokens: string[] } | { error: string };

/** Words split on whitespace; quotes group words and are removed (`note="two words"` is one token). */
function tokenize(text: string): Tokens {
  const tokens: string[] = [];
  let current: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      if (current !== undefined) tokens.push(current);
      current = undefined;
      continue;
    }
    const closing = CLOSING_QUOTE[c];
    if (closing === undefined) {
      current = (current ?? '') + c;
      continue;
    }
    let j = i + 1;
    let quoted = '';
    for (; j < text.length && text[j] !== closing && !(closing === '”' && text[j] === '"'); j++) {
      // Inside double quotes a backslash keeps a quote or backslash literal, as in a shell.
      if (c === '"' && text[j] === '\\' && (text[j + 1] === '"' || text[j + 1] === '\\')) j++;
      quoted += text[j];
    }
    if (j >= text.length) return { error: `The quote ${c} opened before "${text.slice(i + 1, i + 21)}" is not closed; end the value with ${closing}.` };
    current = (current ?? '') + quoted;
    i = j;
  }
  if (current !== undefined) tokens.push(current);
  return { tokens };
}

/**
 * Slack escapes `&`, `<` and `>` in command text and may wrap what looks like a link or an address
 * (`url=<https://x.io|x.io>`): give the user's own text back.
 */
function unwrapSlackText(text: string): string {
  return text
    .replace(/<((?:https?|mailto):[^|>]*)(?:\|[^>]*)?>/g, (_, target: string) => target.replace(/^mailto:/, ''))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

const RUN_ID = /^#?(\d{1,15})$/;
const SHA = /^[0-9a-f]{7,64}$/i;

type ArgResult = { value: unknown } | { error: string };

function pipelineArg(token: string): ArgResult {
  if (ID_PATTERN.test(token)) return { value: token };
  const lower = token.toLowerCase();
  return { error: `"${token}" is not a pipeline id (${ID_RULE}).${ID_PATTERN.test(lower) ? ` Did you mean "${lower}"?` : ''}` };
}

function runArg(token: string): ArgResult {
  const match = RUN_ID.exec(token);
  const id = match ? Number(match[1]) : 0;
  return id > 0 ? { value: id } : { error: `"${token}" is not a run number; runs are numbered, as in 1042 or #1042.` };
}

function parseArg(spec: ArgSpec, token: string): ArgResult {
  switch (spec.kind) {
    case 'pipeline':
      return pipelineArg(token);
    case 'run':
      return runArg(token);
    case 'pipeline-or-run': {
      // Pipeline ids start with a letter, so a number (or #number) can only be a run.
      if (RUN_ID.test(token)) return { value: { run: (runArg(token) as { value: number }).value } };
      const pipeline = pipelineArg(token);
      return 'error' in pipeline ? { error: `"${token}" is neither a run number (1042) nor a pipeline id (${ID_RULE}).` } : { value: { pipeline: pipeline.value } };
    }
    case 'task':
      return ID_PATTERN.test(token) ? { value: token } : { error: `"${token}" is not a task id (${ID_RULE}).` };
    case 'sha':
      return SHA.test(token) ? { value: token.toLowerCase() } : { error: `"${token}" is not a commit SHA (7 to 64 hexadecimal digits).` };
    case 'word':
      return { value: token.toLowerCase() };
  }
}

function parseParams(tokens: readonly string[]): { value: Record<string, string> } | { error: string } {
  const params: Record<string, string> = {};
  for (const token of tokens) {
    const equals = token.indexOf('=');
    if (equals <= 0) return { error: `"${token}" is not a param; write key=value, and quote a value with spaces: note="two words".` };
    const key = token.slice(0, equals);
    if (!PARAM_NAME_PATTERN.test(key)) return { error: `"${key}" is not a param name (${PARAM_NAME_RULE}).` };
    if (Object.hasOwn(params, key)) return { error: `The param ${key} is given twice; give it once.` };
    params[key] = token.slice(equals + 1);
  }
  return { value: params };
}

function parseKnown(name: CommandName, args: readonly string[]): ParsedCommand {
  const spec: CommandSpec = COMMANDS[name];
  const usage = `Usage: ${usageOf(name)}`;
  const invalid = (message: string): ParsedCommand => ({ kind: 'invalid', command: name, message: `${message} ${usage}` });
  const fields: Record<string, unknown> = { kind: name };
  let index = 0;
  for (const arg of spec.args) {
    const token = args[index];
    // A key=value where an argument belongs is a param given too early (`run a=1 orders`).
    if (token === undefined || (spec.params && token.includes('='))) {
      if (arg.optional) continue;
      return invalid(`Missing <${arg.label ?? arg.name}>.`);
    }
    const parsed = parseArg(arg, token);
    if ('error' in parsed) return invalid(parsed.error);
    fields[arg.name] = parsed.value;
    index++;
  }
  const rest = args.slice(index);
  if (spec.params) {
    const params = parseParams(rest);
    if ('error' in params) return invalid(params.error);
    fields.params = params.value;
  } else if (rest.length > 0) {
    return invalid(`Unexpected ${rest.map((t) => `"${t}"`).join(' ')}.`);
  }
  // The fields were filled from this command's row of the table, the source of KnownCommand's shape.
  return fields as KnownCommand;
}

/**
 * One command from its text, with or without the leading `/dfm` (`run orders note="two words"`).
 * Empty text is `help`, what a bare `/dfm` usually means.
 */
export function parseCommand(text: string, surface: Surface): ParsedCommand {
  const source = (surface === 'slack' ? unwrapSlackText(text) : text).trim().replace(/^\/dfm(?=\s|$)/i, '').trim();
  const tokenized = tokenize(source);
  const word = source.split(/\s+/)[0]!.toLowerCase();
  if ('error' in tokenized) {
    const command = (COMMAND_NAMES as string[]).includes(word) ? word : 'unknown';
    return { kind: 'invalid', command, message: tokenized.error };
  }
  const [first, ...args] = tokenized.tokens;
  if (first === undefined) return { kind: 'help' };
  const name = first.toLowerCase();
  const offered = commandsOf(surface);
  if ((offered as string[]).includes(name)) return parseKnown(name as CommandName, args);
  if ((COMMAND_NAMES as string[]).includes(name)) {
    const where = surface === 'pr' ? 'Slack' : 'a pull-request comment';
    return { kind: 'invalid', command: name, message: `${name} works in ${where}, not here. Here: ${offered.join(', ')}.` };
  }
  // Two swapped letters (`plna`) are the commonest typo of a short word, and two edits for
  // Levenshtein: past suggestName's one-edit limit for a four-letter command.
  const suggestion = suggestName(name, offered) ?? offered.find((command) => isOneSwapAway(name, command));
  return { kind: 'unknown', text: source, ...(suggestion === undefined ? {} : { suggestion }) };
}

/** `a` is `b` with two neighbouring letters swapped. */
function isOneSwapAway(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  const differ = [...a].flatMap((char, i) => (char === b[i] ? [] : [i]));
  return differ.length === 2 && differ[1] === differ[0]! + 1 && a[differ[0]!] === b[differ[1]!] && a[differ[1]!] === b[differ[0]!];
}

/**
 * The commands of a pull-request comment: each line that starts with `/dfm`, in order. Not
 * commands: `> /dfm …` (a quote of someone else's comment), lines inside code fences, indented
 * code and HTML comments (PR templates explain commands there), and `/dfm` in mid-sentence.
 */
export function findPrCommands(commentBody: string): ParsedCommand[] {
  const commands: ParsedCommand[] = [];
  let fence: string | undefined;
  let inHtmlComment = false;
  for (const line of commentBody.split(/\r\n|\r|\n/)) {
    const fenceMatch = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    if (fence !== undefined) {
      // CommonMark: closed by a bare fence of the same character, at least as long.
      if (fenceMatch && fenceMatch[1]![0] === fence[0] && fenceMatch[1]!.length >= fence.length && fenceMatch[2]!.trim() === '') fence = undefined;
      continue;
    }
    if (inHtmlComment) {
      if (line.includes('-->')) inHtmlComment = false;
      continue;
    }
    // A backtick fence's info string cannot hold a backtick (that line is inline code instead).
    if (fenceMatch && !(fenceMatch[1]![0] === '`' && fenceMatch[2]!.includes('`'))) {
      fence = fenceMatch[1];
      continue;
    }
    if (line.lastIndexOf('<!--') > line.lastIndexOf('-->')) {
      inHtmlComment = true;
      continue;
    }
    const command = /^ {0,3}\/dfm(?=\s|$)(.*)$/i.exec(line);
    if (command) commands.push(parseCommand(command[1]!, 'pr'));
  }
  return commands;
}
