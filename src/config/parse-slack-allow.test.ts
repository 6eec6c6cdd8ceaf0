import { describe, expect, it } from 'vitest';
import { isSlackActionAllowed, parseSlackAllow, type SlackAllowRule } from './parse-slack-allow.js';

const rulesOf = (text: string): SlackAllowRule[] => {
  const parsed = parseSlackAllow(text);
  if ('problems' in parsed) throw new Error(parsed.problems.join('\n'));
  return parsed.rules;
};

describe('parseSlackAllow', () => {
  it('reads team/user=actions@pipelines rules', () => {
    expect(rulesOf('T1A/U2B=run,retry@orders-*,billing ; T1A/*=retry; T9Z/U3C=*')).toEqual([
      { team: 'T1A', user: 'U2B', actions: ['run', 'retry'], pipelines: ['orders-*', 'billing'] },
      { team: 'T1A', user: '*', actions: ['retry'], pipelines: ['*'] },
      { team: 'T9Z', user: 'U3C', actions: ['run', 'cancel', 'retry', 'pause', 'unpause', 'read'], pipelines: ['*'] },
    ]);
  });

  it('reports every bad part at once', () => {
    expect(parseSlackAllow('alice=run; T1A/U2B=deploy@Orders; T1A')).toEqual({
      problems: [
        expect.stringContaining('"alice=run" is not a rule'),
        expect.stringContaining('"deploy" in "T1A/U2B=deploy@Orders" is not an action'),
        expect.stringContaining('"Orders" in "T1A/U2B=deploy@Orders" is not a pipeline id'),
        expect.stringContaining('"T1A" is not a rule'),
      ],
    });
  });
});

describe('isSlackActionAllowed', () => {
  const rules = rulesOf('T1A/U2B=run,retry@orders-*;T1A/*=cancel@billing');
  it('matches team and user ids, the action and the pipeline pattern', () => {
    expect(isSlackActionAllowed(rules, { team: 'T1A', user: 'U2B' }, 'run', 'orders-hourly')).toBe(true);
    expect(isSlackActionAllowed(rules, { team: 'T1A', user: 'U2B' }, 'run', 'billing')).toBe(false);
    expect(isSlackActionAllowed(rules, { team: 'T1A', user: 'U2B' }, 'pause', 'orders-hourly')).toBe(false);
    expect(isSlackActionAllowed(rules, { team: 'T1A', user: 'U7Q' }, 'cancel', 'billing')).toBe(true);
  });
  it('never lets the same user id from another team through', () => {
    expect(isSlackActionAllowed(rules, { team: 'T9Z', user: 'U2B' }, 'run', 'orders-hourly')).toBe(false);
  });
});
