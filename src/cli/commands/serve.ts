import type { Command } from 'commander';
import { createLogger } from '../../lib/logger.js';
import { handleShutdownSignals } from '../../lib/shutdown.js';
import { startService, type RunningService } from '../../service/start-service.js';
import { serviceRoles } from '../../service/service-roles.js';
import type { CliContext } from '../cli-context.js';

export function registerServeCommand(program: Command, context: CliContext): void {
  program
    .command('serve')
    .description('run dfm: scheduler, workers and the HTTP server (dashboard, /healthz, /metrics)')
    .option('--role <roles>', `which parts to run in this process, comma-separated: all, web, ${Object.keys(serviceRoles).join(', ')} (default: DFM_ROLE or all)`)
    .action(async (options: { role?: string }) => {
      const config = context.config();
      const logger = createLogger(config.logLevel, process.stderr, config.logFormat);
      const starting = startService({ config, logger, role: options.role ?? config.role, roles: serviceRoles });
      let service: RunningService | undefined;
      // Signals are handled from the start: one that comes while dfm starts stops it once started
      // (before, a SIGTERM right after "serving" could kill it with the local services left running).
      let release = () => {};
      const stopped = new Promise<void>((resolve) => {
        release = handleShutdownSignals(
          async () => {
            await (await starting.catch(() => undefined))?.stop();
            release();
            logger.info('dfm stopped');
            resolve();
          },
          logger,
          { ms: config.shutdownTimeoutMs, pending: () => service?.pendingStops() ?? ['the start of dfm'] },
        );
      });
      try {
        service = await starting;
      } catch (error) {
        release();
        throw error;
      }
      await stopped;
    });
}
