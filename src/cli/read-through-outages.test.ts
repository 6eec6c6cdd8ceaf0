import { describe, expect, it } from 'vitest';
import { readThroughOutages } from './read-through-outages.js';

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

function harness(boundMs: number) {
  let clock = 0;
  const lines: string[] = [];
  const sleeps: number[] = [];
  const read = readThroughOutages({
    boundMs,
    following: 'run 12',
    notify: (line) => lines.push(line),
    now: () => clock,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
  });
  return { read, lines, sleeps };
}

describe('readThroughOutages', () => {
  it('retries a refused connection with backoff, and says so once when lost and once when back', async () => {
    const { read, lines, sleeps } = harness(120_000);
    let calls = 0;
    const value = await read(async () => {
      calls += 1;
      if (calls <= 6) throw refused();
      return 'success';
    });
    expect(value).toBe('success');
    expect(sleeps).toEqual([250, 500, 1000, 2000, 4000, 5000]);
    expect(lines).toEqual([
      'lost the connection to PostgreSQL (connect ECONNREFUSED 127.0.0.1:5432); reconnecting for up to 120 s (DFM_RECONNECT_TIMEOUT_MS)…',
      'reconnected to PostgreSQL after 12.8 s; following run 12 again',
    ]);
  });

  it('gives up past the bound with an error that says the outcome is unknown and what to do', async () => {
    const { read, sleeps } = harness(3_000);
    const failure = read(async () => {
      throw refused();
    });
    await expect(failure).rejects.toMatchObject({ code: 'DATABASE_UNREACHABLE', message: expect.stringContaining('PostgreSQL stayed unreachable for more than 3 s (connect ECONNREFUSED 127.0.0.1:5432), so the outcome of run 12 is unknown here') });
    expect(sleeps.reduce((a, b) => a + b, 0)).toBe(3_000);
  });

  it('throws anything that is not a lost connection at once', async () => {
    const { read, lines } = harness(120_000);
    const syntax = Object.assign(new Error('syntax error'), { code: '42601' });
    await expect(read(async () => Promise.reject(syntax))).rejects.toBe(syntax);
    expect(lines).toEqual([]);
  });

  it('gives each outage its own bound', async () => {
    const { read } = harness(1_000);
    for (let outage = 0; outage < 3; outage++) {
      let calls = 0;
      await read(async () => {
        if (++calls <= 2) throw refused();
        return calls;
      });
    }
  });
});
