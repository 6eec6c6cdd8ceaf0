/** The README is the user's contract: every variable loadConfig reads is documented there. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { variables } from '../../src/config/load-config.js';

describe('README', () => {
  const readme = readFileSync('README.md', 'utf8');
  it('documents every environment variable', () => {
    expect(Object.keys(variables).filter((name) => !readme.includes(`| \`${name}\` |`))).toEqual([]);
  });
  it('names the two quick-start commands that CI and users run', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm install-test');
    expect(readFileSync('.ci/run', 'utf8')).toContain('npm install-test');
  });
});
