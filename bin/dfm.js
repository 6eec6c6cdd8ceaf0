#!/usr/bin/env node
// Entry point of the `dfm` command. A source checkout runs src/ through tsx, so `npx dfm …` works
// in a fresh clone without a build step and never runs a stale build; an installed package or
// the Docker image (no src/) runs the compiled dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const source = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(source).href);
} else {
  await import(new URL('../dist/cli/main.js', import.meta.url).href);
}
