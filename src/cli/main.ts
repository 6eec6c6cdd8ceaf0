/** Process entry of the `dfm` command (bin/dfm.js loads this). */
import { loadConfig, type Config } from '../config/load-config.js';
import type { CliEnvironment } from './cli-context.js';
import { runCli } from './run-cli.js';

function createEnvironment(): CliEnvironment {
  let config: Config | undefined;
  return {
    env: process.env,
    config: () => (config ??= loadConfig(process.env)),
    stdout: process.stdout,
    stderr: process.stderr,
    cwd: process.cwd(),
  };
}

process.exitCode = await runCli(process.argv.slice(2), createEnvironment());
