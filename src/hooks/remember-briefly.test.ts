import { describe, expect, it } from 'vitest';
import { rememberBriefly } from './remember-briefly.js';

describe('rememberBriefly', () => {
  it('forgets after the time to live and keeps at most maxKeys', () => {
    const memo = rememberBriefly<number>(1000, 3);
    memo.set('a', 1, 0);
    expect(memo.get('a', 999)).toBe(1);
    expect(memo.get('a', 1000)).toBeUndefined();
    for (const [i, key] of ['b', 'c', 'd', 'e'].entries()) memo.set(key, i, 0);
    expect(['b', 'c', 'd', 'e'].map((k) => memo.get(k, 1))).toEqual([undefined, 1, 2, 3]);
  });
});
