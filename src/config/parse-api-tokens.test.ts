import { describe, expect, it } from 'vitest';
import { mayActOn, parseApiTokens } from './parse-api-tokens.js';

describe('parseApiTokens', () => {
  it('reads names, tokens and pipelines', () => {
    const { tokens, problems } = parseApiTokens('ci:0123456789abcdef0123:orders-hourly|orders-daily, ops:Zm9vYmFyYmF6cXV4eHl6=:*');
    expect(problems).toEqual([]);
    expect(tokens).toEqual([
      { name: 'ci', token: '0123456789abcdef0123', pipelines: ['orders-hourly', 'orders-daily'] },
      { name: 'ops', token: 'Zm9vYmFyYmF6cXV4eHl6=', pipelines: '*' },
    ]);
    expect(mayActOn(tokens[0]!, 'orders-daily')).toBe(true);
    expect(mayActOn(tokens[0]!, 'payroll')).toBe(false);
    expect(mayActOn(tokens[1]!, 'payroll')).toBe(true);
  });

  it('reports every problem at once and never repeats a token', () => {
    const { problems } = parseApiTokens('ci:short:*,bad entry,ci:0123456789abcdef0123:Not_An_Id,x:0123456789abcdef0123:*');
    expect(problems).toHaveLength(5);
    expect(problems.join('\n')).not.toContain('0123456789abcdef0123');
    expect(problems[0]).toContain('16–512 characters');
    expect(problems[1]).toContain('<name>:<token>:<pipelines>');
    expect(problems[2]).toContain('used twice');
  });
});
