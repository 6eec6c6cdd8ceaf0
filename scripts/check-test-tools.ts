/**
 * `npm test`'s pretest step (so `npm install-test` runs it too): every external tool the suite
 * needs is on PATH, installed with apt-get when we are root, or it exits 1 within a second with
 * one message listing each missing tool and the command that installs it.
 *   npx tsx scripts/check-test-tools.ts              check, install as root with apt-get
 *   npx tsx scripts/check-test-tools.ts --no-install check only
 */
import { ensureTestTools, MissingTestToolsError } from '../test/setup/ensure-test-tools.js';

try {
  await ensureTestTools({ env: process.env, mayInstall: !process.argv.includes('--no-install') });
} catch (error) {
  if (!(error instanceof MissingTestToolsError)) throw error;
  process.stderr.write(`\n${error.message}\n\n`);
  process.exitCode = 1;
}
