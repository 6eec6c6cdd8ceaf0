import { Option, type Command } from 'commander';
import { ROLE_NAMES } from '../../config/load-config.js';
import { createLogger } from '../../lib/logger.js';
import { handleShutdownSignals } from '../../lib/shutdown.js';
import { startService, type Role } from '../../service/start-service.js';
import { serviceRoles } from '../../service/service-roles.js';
import type { CliContext } from '../cli-context.js';

export function registerServeCommand(program: Command, context: CliContext): void {
  program
    .command('serve')
    .description('run dfm: scheduler, workers and the HTTP server (dashboard, /healthz, /metrics)')
    .addOption(new Option('--role <role>', 'which part to run in this process (default: DFM_ROLE or all)').choices(ROLE_NAMES))
    .action(async (options: { role?: Role }) => {
      const config = context.config();
      const logger = createLogger(config.logLevel);
      const service = await startService({ config, logger, role: options.role ?? config.role, roles: serviceRoles });
      await new Promise<void>((resolve) => {
        const release = handleShutdownSignals(async () => {
          await service.stop();
          release();
          logger.info('dfm stopped');
          resolve();
        }, logger);
      });
    });
}
