import { describe, expect, it } from 'vitest';
import { findPrCommands, parseCommand, type ParsedCommand } from './parse-command.js';

const cases: [surface: 'pr' | 'slack', text: string, expected: ParsedCommand][] = [
  // Pull-request comments
  ['pr', 'plan', { kind: 'plan' }],
  ['pr', '/dfm plan', { kind: 'plan' }],
  ['pr', '  VALIDATE  ', { kind: 'validate' }],
  ['pr', '', { kind: 'help' }],
  ['pr', 'help', { kind: 'help' }],
  ['pr', 'help plan', { kind: 'help', topic: 'plan' }],
  ['pr', 'confirm-prune', { kind: 'confirm-prune' }],
  ['pr', 'confirm-prune 9F8E7D6C5B4A39281706F5E4D3C2B1A098765432', { kind: 'confirm-prune', sha: '9f8e7d6c5b4a39281706f5e4d3c2b1a098765432' }],
  ['pr', 'confirm-prune main', { kind: 'invalid', command: 'confirm-prune', message: '"main" is not a commit SHA (7 to 64 hexadecimal digits). Usage: /dfm confirm-prune [sha]' }],
  ['pr', 'plan now please', { kind: 'invalid', command: 'plan', message: 'Unexpected "now" "please". Usage: /dfm plan' }],
  ['pr', 'pln', { kind: 'unknown', text: 'pln', suggestion: 'plan' }],
  ['pr', 'validat', { kind: 'unknown', text: 'validat', suggestion: 'validate' }],
  ['pr', 'plna', { kind: 'unknown', text: 'plna', suggestion: 'plan' }],
  ['pr', 'deploy to prod', { kind: 'unknown', text: 'deploy to prod' }],
  ['pr', 'run orders', { kind: 'invalid', command: 'run', message: 'run works in Slack, not here. Here: help, plan, validate, confirm-prune.' }],
  // Slack
  ['slack', 'list', { kind: 'list' }],
  ['slack', 'run orders-hourly', { kind: 'run', pipeline: 'orders-hourly', params: {} }],
  ['slack', 'run orders-hourly min_amount=10 region=eu', { kind: 'run', pipeline: 'orders-hourly', params: { min_amount: '10', region: 'eu' } }],
  ['slack', 'run orders-hourly note="two words" empty=', { kind: 'run', pipeline: 'orders-hourly', params: { note: 'two words', empty: '' } }],
  ['slack', 'run orders-hourly note=“smart quotes from macOS”', { kind: 'run', pipeline: 'orders-hourly', params: { note: 'smart quotes from macOS' } }],
  ['slack', "run orders-hourly note='it''s'", { kind: 'run', pipeline: 'orders-hourly', params: { note: 'its' } }],
  ['slack', 'run orders-hourly query="a \\"quoted\\" word" op=a=b', { kind: 'run', pipeline: 'orders-hourly', params: { query: 'a "quoted" word', op: 'a=b' } }],
  ['slack', 'run orders-hourly url=<https://example.com/a?b=1&amp;c=2|example.com/a> cmp=&lt;5', { kind: 'run', pipeline: 'orders-hourly', params: { url: 'https://example.com/a?b=1&c=2', cmp: '<5' } }],
  ['slack', 'run', { kind: 'invalid', command: 'run', message: 'Missing <pipeline>. Usage: /dfm run <pipeline> [key=value …]' }],
  ['slack', 'run min_amount=10', { kind: 'invalid', command: 'run', message: 'Missing <pipeline>. Usage: /dfm run <pipeline> [key=value …]' }],
  ['slack', 'run Orders', { kind: 'invalid', command: 'run', message: '"Orders" is not a pipeline id (lowercase letters, digits, "-" and "_", starting with a letter, at most 63 characters). Did you mean "orders"? Usage: /dfm run <pipeline> [key=value …]' }],
  ['slack', 'run orders now', { kind: 'invalid', command: 'run', message: '"now" is not a param; write key=value, and quote a value with spaces: note="two words". Usage: /dfm run <pipeline> [key=value …]' }],
  ['slack', 'run orders Min-Amount=3', { kind: 'invalid', command: 'run', message: '"Min-Amount" is not a param name (lowercase letters, digits and "_", not starting with a digit). Usage: /dfm run <pipeline> [key=value …]' }],
  ['slack', 'run orders a=1 a=2', { kind: 'invalid', command: 'run', message: 'The param a is given twice; give it once. Usage: /dfm run <pipeline> [key=value …]' }],
  ['slack', 'run orders note="unfinished', { kind: 'invalid', command: 'run', message: 'The quote " opened before "unfinished" is not closed; end the value with ".' }],
  ['slack', 'status orders-hourly', { kind: 'status', target: { pipeline: 'orders-hourly' } }],
  ['slack', 'status 1042', { kind: 'status', target: { run: 1042 } }],
  ['slack', 'status #1042', { kind: 'status', target: { run: 1042 } }],
  ['slack', 'status', { kind: 'invalid', command: 'status', message: 'Missing <pipeline|run>. Usage: /dfm status <pipeline|run>' }],
  ['slack', 'status Orders!', { kind: 'invalid', command: 'status', message: '"Orders!" is neither a run number (1042) nor a pipeline id (lowercase letters, digits, "-" and "_", starting with a letter, at most 63 characters). Usage: /dfm status <pipeline|run>' }],
  ['slack', 'logs 1042', { kind: 'logs', run: 1042 }],
  ['slack', 'logs 1042 load_orders', { kind: 'logs', run: 1042, task: 'load_orders' }],
  ['slack', 'logs orders-hourly', { kind: 'invalid', command: 'logs', message: '"orders-hourly" is not a run number; runs are numbered, as in 1042 or #1042. Usage: /dfm logs <run> [task]' }],
  ['slack', 'logs 1042 load_orders extra', { kind: 'invalid', command: 'logs', message: 'Unexpected "extra". Usage: /dfm logs <run> [task]' }],
  ['slack', 'cancel #77', { kind: 'cancel', run: 77 }],
  ['slack', 'cancel 0', { kind: 'invalid', command: 'cancel', message: '"0" is not a run number; runs are numbered, as in 1042 or #1042. Usage: /dfm cancel <run>' }],
  ['slack', 'cancel 77 78', { kind: 'invalid', command: 'cancel', message: 'Unexpected "78". Usage: /dfm cancel <run>' }],
  ['slack', 'retry 77', { kind: 'retry', run: 77 }],
  ['slack', 'pause orders-hourly', { kind: 'pause', pipeline: 'orders-hourly' }],
  ['slack', 'UNPAUSE orders-hourly', { kind: 'unpause', pipeline: 'orders-hourly' }],
  ['slack', 'unpase orders-hourly', { kind: 'unknown', text: 'unpase orders-hourly', suggestion: 'unpause' }],
  ['slack', 'stauts 1042', { kind: 'unknown', text: 'stauts 1042', suggestion: 'status' }],
  ['slack', 'plan', { kind: 'invalid', command: 'plan', message: 'plan works in a pull-request comment, not here. Here: help, list, run, status, logs, cancel, retry, pause, unpause.' }],
  ['slack', '', { kind: 'help' }],
];

describe('parseCommand', () => {
  it.each(cases)('%s: %s', (surface, text, expected) => {
    expect(parseCommand(text, surface)).toEqual(expected);
  });
});

describe('findPrCommands', () => {
  it('finds each line that starts with /dfm', () => {
    const body = 'Thanks! The schedule looks off.\r\n\r\n/dfm plan\r\n/dfm confirm-prune 1a2b3c4\r\nand also please run /dfm validate later';
    expect(findPrCommands(body)).toEqual([{ kind: 'plan' }, { kind: 'confirm-prune', sha: '1a2b3c4' }]);
  });

  it('ignores quoted replies, code fences, indented code and HTML comments', () => {
    const body = [
      '> /dfm confirm-prune',
      '> why did this run?',
      '',
      '```',
      '/dfm plan',
      '```',
      '~~~~text',
      '/dfm validate',
      '~~~',
      '/dfm still inside the tilde fence',
      '~~~~',
      '    /dfm plan',
      '<!-- Comment `/dfm plan` to compute the plan again:',
      '/dfm plan',
      '-->',
      '<!-- dfm-plan -->',
      ' /dfm validate',
    ].join('\n');
    expect(findPrCommands(body)).toEqual([{ kind: 'validate' }]);
  });

  it('keeps a line with inline code, which opens no fence', () => {
    expect(findPrCommands('``` inline ``` text\n/dfm plan')).toEqual([{ kind: 'plan' }]);
  });

  it('reports a mistyped command with a suggestion and a word that only starts like /dfm not at all', () => {
    expect(findPrCommands('/dfm pla\n/dfmplan\n/DFM Validate')).toEqual([{ kind: 'unknown', text: 'pla', suggestion: 'plan' }, { kind: 'validate' }]);
  });
});
