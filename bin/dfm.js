#!/usr/bin/env node
// Entry point of the `dfm` command. A source checkout runs src/ through tsx, so `npx dfm …` works
// in a fresh clone without a build step and never runs a stale build; an installed package or
// the Docker image (no src/) runs the compiled dist/. tsx is a devDependency: the image and an
// installed package never load it.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const source = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const built = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(source)) {
  const tsx = await import('tsx/esm/api').catch((error) => {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    process.stderr.write(
      'dfm: this source checkout runs src/ with tsx, a devDependency that is not installed ' +
        '(NODE_ENV=production or --omit=dev leaves it out). Run `npm install --include=dev`, ' +
        'or `npm run build` and run the Docker image or an installed package for production.\n',
    );
    process.exit(1);
  });
  tsx.register();
  await import(pathToFileURL(source).href);
} else {
  await import(built.href);
}
